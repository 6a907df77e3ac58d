#!/usr/bin/env bash
# Prepares everything the real-kernel oracle needs to boot Debian's Linux 7.3 in QEMU (TCG) and run the
# project's test programs in it. Idempotent: every step writes a stamp file holding the key of its inputs and
# is skipped on the next run while that key is unchanged, so a warm run takes seconds.
#
# Usage: real/setup/setup.sh
# Environment:
#   IIO_SIM_CACHE           cache folder (default: $HOME/.cache/iio-dmabuf-sim)
#   IIO_SIM_MIRROR          Debian mirror URI (default: the machine's own apt mirror)
#   IIO_SIM_KERNEL_VERSION  Debian version of the kernel packages (default: 7.3~rc7-1~exp1)
#   IIO_SIM_MODULE_SRC      kernel module sources (default: real/module of this repository)
#   IIO_SIM_GUEST_SRC       guest program sources (default: real/guest of this repository)
#   IIO_SIM_INIT            the initramfs /init script (default: real/initramfs/init of this repository)
#
# Output protocol (read by src/real/setup.ts): a line `==> step NAME: what` starts each step, `--> ...` lines
# report progress inside it, `!!! step NAME failed (exit N): ...` is printed on failure, and
# `==> setup complete in Ns` ends a successful run.
set -Eeuo pipefail

readonly KREL=7.3-amd64
readonly KSERIES=7.3
readonly KVERSION=${IIO_SIM_KERNEL_VERSION:-7.3~rc7-1~exp1}
readonly REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly CACHE=${IIO_SIM_CACHE:-$HOME/.cache/iio-dmabuf-sim}
readonly MODULE_SRC=${IIO_SIM_MODULE_SRC:-$REPO/real/module}
readonly GUEST_SRC=${IIO_SIM_GUEST_SRC:-$REPO/real/guest}
readonly INIT_SRC=${IIO_SIM_INIT:-$REPO/real/initramfs/init}
readonly STAMPS=$CACHE/stamps
readonly DEBS=$CACHE/debs
readonly KDIR=$CACHE/kernel
readonly CHROOT=$CACHE/chroot
readonly BUILD=$CACHE/build
readonly NEED_MB=1500
# The kernel packages: the image, its modules, and what building an out-of-tree module against it needs.
readonly KPKGS=("linux-binary-$KREL" "linux-modules-$KREL" "linux-headers-$KREL" "linux-headers-$KSERIES-common"
  "linux-kbuild-$KSERIES")
# IIO modules the guest loads at boot; their dependencies are added from each module's `depends=` field.
readonly WANTED_MODULES=(industrialio industrialio-buffer-dma industrialio-buffer-dmaengine kfifo_buf
  industrialio-triggered-buffer industrialio-sw-trigger iio-trig-hrtimer)

STEP=start
START_TIME=$SECONDS

say() { printf '%s\n' "$*"; }
note() { printf -- '--> %s\n' "$*"; }
die() {
  printf '!!! step %s failed: %s\n' "$STEP" "$*" >&2
  exit 1
}
on_error() {
  local code=$?
  printf '!!! step %s failed (exit %s) at line %s: %s\n' "$STEP" "$code" "${BASH_LINENO[0]}" "$BASH_COMMAND" >&2
  exit "$code"
}
trap on_error ERR

step() {
  STEP=$1
  say "==> step $1: $2 [at $((SECONDS - START_TIME))s]"
}

# A step is done when its stamp holds exactly the expected key.
stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" >"$STAMPS/$1.tmp" && mv "$STAMPS/$1.tmp" "$STAMPS/$1"; }

# Hash of a folder's files (names and contents), stable across runs; `-` when the folder is missing.
hash_tree() {
  local dir=$1
  [ -d "$dir" ] || {
    echo -
    return
  }
  (cd "$dir" && find . -type f ! -name '*.o' ! -name '*.ko' ! -name '*.cmd' ! -name '*.mod*' \
    ! -name 'Module.symvers' ! -name 'modules.order' ! -path './out/*' ! -path './build/*' \
    ! -path ./executor ! -path ./executor32 -print0 |
    LC_ALL=C sort -z | xargs -0r sha256sum | sha256sum | cut -d' ' -f1)
}

hash_files() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Unmounts everything mounted under the chroot (deepest first); fails if anything stays mounted.
chroot_umount_all() {
  local m
  [ -d "$CHROOT" ] || return 0
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m"
  done < <(awk -v root="$CHROOT" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v root="$CHROOT" '$2 == root || index($2, root "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
  then
    die "something is still mounted under $CHROOT; unmount it by hand"
  fi
}

chroot_run() {
  [ "$(id -u)" = 0 ] || die "building in the sid chroot needs root (debootstrap, chroot, mount): run the setup as root"
  mountpoint -q "$CHROOT/proc" || mount -t proc proc "$CHROOT/proc"
  chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# apt inside the chroot, without the pseudo-terminal that dpkg's log wants (no devpts is mounted there).
chroot_apt() { chroot_run apt-get -o Dpkg::Use-Pty=0 "$@"; }

cleanup() { chroot_umount_all 2>/dev/null || true; }
trap cleanup EXIT

mirror_uri() {
  local uri=${IIO_SIM_MIRROR:-}
  if [ -z "$uri" ]; then
    uri=$(grep -hs -E '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' |
      grep -E '/debian/?$' | head -1 || true)
  fi
  if [ -z "$uri" ]; then
    uri=$(grep -hs -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' |
      grep -E '/debian/?$' | head -1 || true)
  fi
  [ -n "$uri" ] || die "no Debian mirror in this machine's apt sources; set IIO_SIM_MIRROR (e.g. http://deb.debian.org/debian)"
  printf '%s\n' "$uri"
}

mkdir -p "$CACHE" "$STAMPS" "$DEBS" "$KDIR" "$BUILD"
# One setup at a time per cache folder (parallel test workers may all ask for it).
exec 9>"$CACHE/setup.lock"
if ! flock -n 9; then
  note "another setup is running on $CACHE; waiting for it"
  flock -w 3600 9 || die "gave up waiting for the other setup on $CACHE"
fi

# ---------------------------------------------------------------------------------------------------------
step host "host packages (qemu-system-x86, debootstrap, busybox-static, cpio, xz-utils) and disk space"
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v debootstrap >/dev/null || missing+=(debootstrap)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
command -v xz >/dev/null || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ]; then
  note "installing ${missing[*]}"
  [ "$(id -u)" = 0 ] || die "missing host packages: run \`sudo apt-get install ${missing[*]}\` and run setup again"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    die "could not install ${missing[*]} (no apt mirror reachable?); install them by hand: apt-get install ${missing[*]}"
  fi
fi
if [ ! -f "$STAMPS/chroot" ]; then
  free_mb=$(df -Pm "$CACHE" | awk 'NR == 2 { print $4 }')
  if [ "${free_mb:-0}" -lt "$NEED_MB" ]; then
    die "only ${free_mb} MB free under $CACHE; the kernel packages and the build chroot need about $NEED_MB MB"
  fi
fi

# ---------------------------------------------------------------------------------------------------------
step download "kernel packages $KVERSION (${KPKGS[*]})"
key_debs="$KVERSION ${KPKGS[*]}"
debs_present() {
  local p
  for p in "${KPKGS[@]}"; do
    compgen -G "$DEBS/${p}_*.deb" >/dev/null || return 1
  done
}
if stamp_ok download "$key_debs" && debs_present; then
  note "cached in $DEBS"
else
  apt_dir=$CACHE/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  uri=$(mirror_uri)
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$uri" sid "$uri" experimental >"$apt_dir/sources.list"
  apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
    -o Dir::Cache="$apt_dir" -o APT::Sandbox::User=root -o Acquire::Check-Valid-Until=false)
  note "apt-get update (sid + experimental from $uri)"
  apt-get "${apt_opts[@]}" -qq update || die "apt-get update failed for $uri (sid, experimental): is the mirror reachable?"
  rm -f "$DEBS"/*.deb
  for p in "${KPKGS[@]}"; do
    want="$p=$KVERSION"
    if ! apt-cache "${apt_opts[@]}" show "$want" >/dev/null 2>&1; then
      newest=$(apt-cache "${apt_opts[@]}" madison "$p" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -V | tail -1)
      [ -n "$newest" ] || die "$p is not in sid or experimental on $uri"
      note "WARNING: $p $KVERSION is not on the mirror; using $newest (set IIO_SIM_KERNEL_VERSION to choose)"
      want="$p=$newest"
    fi
    note "downloading $want"
    (cd "$DEBS" && apt-get "${apt_opts[@]}" -qq download "$want")
  done
  debs_present || die "a kernel package is missing from $DEBS after the download"
  stamp_set download "$key_debs"
fi
deb_of() { compgen -G "$DEBS/${1}_*.deb" | head -1; }
key_kernel=$(cd "$DEBS" && ls -1 ./*.deb | sort | tr '\n' ' ')

# ---------------------------------------------------------------------------------------------------------
step kernel "vmlinuz and the IIO modules (decompressed to plain .ko)"
if stamp_ok kernel "$key_kernel-v1" && [ -f "$KDIR/vmlinuz" ] && [ -f "$KDIR/modules/load-order" ]; then
  note "cached in $KDIR"
else
  tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
  rm -rf "$KDIR" && mkdir -p "$KDIR/modules"
  dpkg-deb -x "$(deb_of "linux-binary-$KREL")" "$tmp/binary"
  vmlinuz=$(find "$tmp/binary" -name 'vmlinuz*' -type f | head -1)
  [ -n "$vmlinuz" ] || die "no vmlinuz in linux-binary-$KREL"
  cp "$vmlinuz" "$KDIR/vmlinuz"
  note "extracting modules"
  dpkg-deb -x "$(deb_of "linux-modules-$KREL")" "$tmp/modules"
  # Index every module by its name with '-' and '_' unified, as the kernel compares them.
  declare -A mod_path=()
  while IFS= read -r f; do
    n=${f##*/}
    n=${n%.ko*}
    mod_path[${n//-/_}]=$f
  done < <(find "$tmp/modules" -name '*.ko*' -type f)
  declare -A mod_deps=()
  queue=()
  for m in "${WANTED_MODULES[@]}"; do queue+=("${m//-/_}"); done
  while [ ${#queue[@]} -gt 0 ]; do
    m=${queue[0]}
    queue=("${queue[@]:1}")
    [ -n "${mod_deps[$m]+x}" ] && continue
    src=${mod_path[$m]:-}
    [ -n "$src" ] || die "module $m is not in linux-modules-$KREL"
    base=$(basename "$src")
    base=${base%.xz}
    base=${base%.zst}
    base=${base%.gz}
    case $src in
    *.xz) xz -dc "$src" >"$KDIR/modules/$base" ;;
    *.zst) zstd -qdc "$src" >"$KDIR/modules/$base" ;;
    *.gz) gzip -dc "$src" >"$KDIR/modules/$base" ;;
    *) cp "$src" "$KDIR/modules/$base" ;;
    esac
    deps=$(tr '\0' '\n' <"$KDIR/modules/$base" | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
    deps=${deps//-/_}
    mod_deps[$m]="$deps "
    for d in $deps; do queue+=("$d"); done
  done
  # Dependency order: repeatedly take the modules whose dependencies are all placed.
  order=()
  declare -A placed=()
  while [ ${#order[@]} -lt ${#mod_deps[@]} ]; do
    progress=0
    for m in $(printf '%s\n' "${!mod_deps[@]}" | sort); do
      [ -n "${placed[$m]+x}" ] && continue
      ready=1
      for d in ${mod_deps[$m]}; do [ -n "${placed[$d]+x}" ] || ready=0; done
      if [ $ready = 1 ]; then
        placed[$m]=1
        order+=("$m")
        progress=1
      fi
    done
    [ $progress = 1 ] || die "circular module dependencies among: ${!mod_deps[*]}"
  done
  : >"$KDIR/modules/load-order"
  for m in "${order[@]}"; do
    base=$(basename "${mod_path[$m]}")
    base=${base%.ko*}
    printf '%s\n' "$base" >>"$KDIR/modules/load-order"
  done
  note "load order: $(tr '\n' ' ' <"$KDIR/modules/load-order")"
  rm -rf "$tmp"
  stamp_set kernel "$key_kernel-v1"
fi

# ---------------------------------------------------------------------------------------------------------
step chroot "Debian sid build chroot with gcc-16 (debootstrap, about 2 minutes and 600 MB the first time)"
key_chroot="$(printf '%s\n' "${KPKGS[@]}" | sha256sum | cut -d' ' -f1)-v2"
if stamp_ok chroot "$key_chroot" && [ -x "$CHROOT/usr/bin/gcc-16" ]; then
  note "cached in $CHROOT"
else
  uri=$(mirror_uri)
  chroot_umount_all
  # A finished debootstrap leaves a marker, so a later failure does not cost the base system again.
  if [ ! -f "$CHROOT/.iio-sim-base" ]; then
    if [ -d "$CHROOT" ]; then
      note "removing an unfinished chroot"
      rm -rf --one-file-system "$CHROOT"
    fi
    [ "$(id -u)" = 0 ] || die "creating the sid chroot needs root (debootstrap): run the setup as root"
    note "debootstrap sid from $uri"
    debootstrap --variant=minbase --include=make,gcc-16,libc6-dev,xz-utils,kmod sid "$CHROOT" "$uri" \
      >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE/debootstrap.log"
    chroot_umount_all
    touch "$CHROOT/.iio-sim-base"
  fi
  cp /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true
  # Mirrors that serve a snapshot of sid carry a Release file past its Valid-Until date.
  printf 'Acquire::Check-Valid-Until "false";\n' >"$CHROOT/etc/apt/apt.conf.d/99iio-sim-snapshot"
  note "apt-get install libelf1t64 libssl3t64 dwarves (objtool, modpost, pahole for module BTF)"
  chroot_apt update -qq
  chroot_apt install -y -qq --no-install-recommends libelf1t64 libssl3t64 dwarves >/dev/null
  note "32-bit toolchain"
  if chroot_apt install -y -qq --no-install-recommends gcc-16-multilib >/dev/null 2>&1 ||
    chroot_apt install -y -qq --no-install-recommends lib32gcc-16-dev libc6-dev-i386 >/dev/null 2>&1; then
    echo chroot >"$CHROOT/.multilib"
  else
    note "no 32-bit gcc-16 in sid: executor32 will be built on the host with gcc-multilib"
    echo host >"$CHROOT/.multilib"
  fi
  chroot_apt clean
  note "unpacking linux-kbuild, linux-headers"
  for p in "linux-kbuild-$KSERIES" "linux-headers-$KSERIES-common" "linux-headers-$KREL"; do
    dpkg-deb -x "$(deb_of "$p")" "$CHROOT"
  done
  [ -f "$CHROOT/usr/src/linux-headers-$KREL/Makefile" ] || die "linux-headers-$KREL did not unpack"
  chroot_umount_all
  stamp_set chroot "$key_chroot"
fi
# The headers follow the downloaded packages even when the chroot itself is cached.
if ! stamp_ok headers "$key_kernel"; then
  for p in "linux-kbuild-$KSERIES" "linux-headers-$KSERIES-common" "linux-headers-$KREL"; do
    dpkg-deb -x "$(deb_of "$p")" "$CHROOT"
  done
  stamp_set headers "$key_kernel"
fi

# ---------------------------------------------------------------------------------------------------------
step module "sim_iio.ko from $MODULE_SRC"
if [ ! -f "$MODULE_SRC/Kbuild" ] && [ ! -f "$MODULE_SRC/Makefile" ]; then
  note "WARNING: no Kbuild or Makefile in $MODULE_SRC: the initramfs gets no sim_iio.ko"
  rm -rf "$BUILD/modules"
  rm -f "$STAMPS/module"
else
  key_module="$(hash_tree "$MODULE_SRC") $key_kernel v1"
  if stamp_ok module "$key_module" && compgen -G "$BUILD/modules/*.ko" >/dev/null; then
    note "unchanged sources: cached in $BUILD/modules"
  else
    rm -rf "$CHROOT/build/module" && mkdir -p "$CHROOT/build/module"
    cp -a "$MODULE_SRC/." "$CHROOT/build/module/"
    note "make -C /usr/src/linux-headers-$KREL M=/build/module modules"
    chroot_run make -C "/usr/src/linux-headers-$KREL" M=/build/module modules 2>&1 | sed 's/^/    /' ||
      die "the module build failed"
    rm -rf "$BUILD/modules" && mkdir -p "$BUILD/modules"
    find "$CHROOT/build/module" -name '*.ko' -exec cp {} "$BUILD/modules/" \;
    compgen -G "$BUILD/modules/*.ko" >/dev/null || die "the module build produced no .ko"
    note "built: $(cd "$BUILD/modules" && ls -1 ./*.ko | sed 's|^\./||' | tr '\n' ' ')"
    stamp_set module "$key_module"
  fi
fi

# ---------------------------------------------------------------------------------------------------------
step guest "executor (static, 64-bit) and executor32 (static, -m32) from $GUEST_SRC"
if [ ! -f "$GUEST_SRC/Makefile" ]; then
  note "WARNING: no Makefile in $GUEST_SRC: the initramfs gets no executor"
  rm -rf "$BUILD/guest"
  rm -f "$STAMPS/guest"
else
  multilib=$(cat "$CHROOT/.multilib" 2>/dev/null || echo chroot)
  key_guest="$(hash_tree "$GUEST_SRC") $multilib v1"
  if stamp_ok guest "$key_guest" && [ -x "$BUILD/guest/executor" ] && [ -x "$BUILD/guest/executor32" ]; then
    note "unchanged sources: cached in $BUILD/guest"
  else
    rm -rf "$CHROOT/build/guest" "$CHROOT/build/guest-out" && mkdir -p "$CHROOT/build/guest" "$CHROOT/build/guest-out"
    cp -a "$GUEST_SRC/." "$CHROOT/build/guest/"
    cc32='gcc-16 -m32 -static'
    [ "$multilib" = chroot ] || cc32=false
    note "make CC='gcc-16 -static' CC32='$cc32' in the chroot"
    chroot_run make -C /build/guest CC='gcc-16 -static' CC32="$cc32" OUT=/build/guest-out 2>&1 | sed 's/^/    /' ||
      [ "$multilib" = host ] || die "the guest build failed"
    rm -rf "$BUILD/guest" && mkdir -p "$BUILD/guest"
    cp "$CHROOT/build/guest-out/executor" "$BUILD/guest/executor" || die "the guest build made no executor"
    if [ "$multilib" = host ]; then
      if ! command -v i686-linux-gnu-gcc >/dev/null && ! dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -q 'ok installed'; then
        note "installing gcc-multilib on the host"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-multilib make >/dev/null ||
          die "no 32-bit compiler: install gcc-multilib on the host"
      fi
      hosttmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
      cp -a "$GUEST_SRC/." "$hosttmp/src/" 2>/dev/null || { mkdir -p "$hosttmp/src" && cp -a "$GUEST_SRC/." "$hosttmp/src/"; }
      make -C "$hosttmp/src" CC='gcc -static' CC32='gcc -m32 -static' OUT="$hosttmp/out" 2>&1 | sed 's/^/    /' || true
      cp "$hosttmp/out/executor32" "$BUILD/guest/executor32" || die "the host build made no executor32"
      rm -rf "$hosttmp"
    else
      cp "$CHROOT/build/guest-out/executor32" "$BUILD/guest/executor32" || die "the guest build made no executor32"
    fi
    stamp_set guest "$key_guest"
  fi
fi

# ---------------------------------------------------------------------------------------------------------
step initramfs "gzip cpio with busybox, /init, the IIO modules and the guest programs"
busybox=/bin/busybox
[ -x "$busybox" ] || die "no $busybox (package busybox-static)"
[ -f "$INIT_SRC" ] || die "no init script at $INIT_SRC"
inputs=("$busybox" "$INIT_SRC" "$KDIR/modules/"*.ko "$KDIR/modules/load-order")
compgen -G "$BUILD/modules/*.ko" >/dev/null && inputs+=("$BUILD/modules/"*.ko)
[ -f "$BUILD/guest/executor" ] && inputs+=("$BUILD/guest/executor")
[ -f "$BUILD/guest/executor32" ] && inputs+=("$BUILD/guest/executor32")
key_initramfs="$(printf '%s\n' "${inputs[@]}" | sha256sum | cut -d' ' -f1) $(hash_files "${inputs[@]}") v1"
if stamp_ok initramfs "$key_initramfs" && [ -f "$CACHE/initramfs.cpio.gz" ]; then
  note "unchanged inputs: $CACHE/initramfs.cpio.gz"
else
  root=$CACHE/initramfs-root
  rm -rf "$root"
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,lib/modules/extra}
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  install -m 0755 "$INIT_SRC" "$root/init"
  cp "$KDIR/modules/"*.ko "$KDIR/modules/load-order" "$root/lib/modules/"
  compgen -G "$BUILD/modules/*.ko" >/dev/null && cp "$BUILD/modules/"*.ko "$root/lib/modules/extra/"
  [ -f "$BUILD/guest/executor" ] && install -m 0755 "$BUILD/guest/executor" "$root/bin/executor"
  [ -f "$BUILD/guest/executor32" ] && install -m 0755 "$BUILD/guest/executor32" "$root/bin/executor32"
  mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true
  mknod -m 0666 "$root/dev/null" c 1 3 2>/dev/null || true
  (cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) | gzip -n -6 >"$CACHE/initramfs.cpio.gz.tmp"
  mv "$CACHE/initramfs.cpio.gz.tmp" "$CACHE/initramfs.cpio.gz"
  note "$CACHE/initramfs.cpio.gz ($(du -k "$CACHE/initramfs.cpio.gz" | cut -f1) KB)"
  stamp_set initramfs "$key_initramfs"
fi

STEP=done
say "==> setup complete in $((SECONDS - START_TIME))s: $CACHE"
