#!/usr/bin/env bash
# Fetches the kernel's own clients that `iio-sim exec` runs unmodified from Debian's newest linux-source
# package (unstable or experimental: 7.3 at the time of writing) into a cache folder and prints that folder:
# the selftests (dma-buf heaps, udmabuf) with the kselftest headers and the uapi headers they include, and
# tools/iio (lsiio, iio_generic_buffer, iio_event_monitor) with the IIO uapi headers. Nothing of them is kept
# in this repository.
# Usage: bridge/selftests/fetch-selftests.sh [DEST]
#   (default: ${XDG_CACHE_HOME:-$HOME/.cache}/iio-dmabuf-sim/selftests; IIO_SIM_MIRROR overrides the mirror)
# Layout of DEST: tools/testing/selftests/... and tools/iio/... as in the kernel tree, include/uapi/linux/iio,
# inc/{linux,drm}/*.h (uapi headers for -I), and .complete holding the package's name. Takes a few minutes the first time (a ~150 MB download).
set -euo pipefail
dest=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/iio-dmabuf-sim/selftests}
if [ -f "$dest/.complete" ] && [ -f "$dest/tools/iio/lsiio.c" ]; then echo "$dest"; exit 0; fi
for tool in apt-get apt-cache dpkg-deb tar; do
  command -v "$tool" >/dev/null || { echo "fetch-selftests: needs $tool (a Debian system)" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
uri=${IIO_SIM_MIRROR:-}
[ -n "$uri" ] || uri=$(grep -hs -E '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1)
[ -n "$uri" ] || uri=$(grep -hs -E '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1)
[ -n "$uri" ] || { echo "fetch-selftests: no apt mirror configured; set IIO_SIM_MIRROR" >&2; exit 1; }
mkdir -p "$work/lists/partial" "$work/archives/partial"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$uri" sid "$uri" experimental >"$work/sources.list"
opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/archives" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update >&2
pkg=$(apt-cache "${opts[@]}" search --names-only '^linux-source-[0-9.]+$' | awk '{print $1}' | sort -V | tail -1)
[ -n "$pkg" ] || { echo "fetch-selftests: no linux-source package found on $uri" >&2; exit 1; }
(cd "$work" && apt-get "${opts[@]}" -qq download "$pkg" >&2)
mkdir -p "$work/x" && dpkg-deb -x "$(ls "$work"/*.deb)" "$work/x"
tarball=$(ls "$work"/x/usr/src/linux-source-*.tar.* | head -1)
top=$(basename "$tarball" | sed -E 's/\.tar\..*$//')
st=tools/testing/selftests
mkdir -p "$work/src"
tar -xf "$tarball" -C "$work/src" --strip-components=1 \
  "$top/$st/kselftest.h" "$top/$st/kselftest_harness.h" \
  "$top/$st/dmabuf-heaps/dmabuf-heap.c" "$top/$st/drivers/dma-buf/udmabuf.c" \
  "$top/include/uapi/linux/dma-buf.h" "$top/include/uapi/linux/dma-heap.h" "$top/include/uapi/linux/udmabuf.h" \
  "$top/include/uapi/linux/memfd.h" "$top/include/uapi/linux/bits.h" "$top/include/uapi/drm/drm.h" "$top/include/uapi/drm/drm_mode.h"
tar -xf "$tarball" -C "$work/src" --strip-components=1 --wildcards "$top/tools/iio/*" "$top/include/uapi/linux/iio/*"
rm -rf "$dest" && mkdir -p "$dest/inc"
cp -r "$work/src/tools" "$dest/"
mkdir -p "$dest/include/uapi/linux" && cp -r "$work/src/include/uapi/linux/iio" "$dest/include/uapi/linux/"
cp -r "$work/src/include/uapi/linux" "$work/src/include/uapi/drm" "$dest/inc/"
echo "$pkg" >"$dest/.complete"
echo "$dest"
