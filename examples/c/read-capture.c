/*
 * Captures from sim-adc (iio:device0) with read() on the buffer fd, as iio_readdev and tools/iio do, and checks
 * every sample against the ramp. Usage: read-capture [SAMPLES] [BUFFER_SCANS]  (defaults 1000000 4096).
 */
#include <sys/ioctl.h>

#include "iio-common.h"

int main(int argc, char **argv) {
  unsigned long samples = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
  unsigned long length = argc > 2 ? strtoul(argv[2], NULL, 0) : 4096;
  unsigned long scans = (samples + CHANNELS - 1) / CHANNELS;
  int devfd = open("/dev/iio:device0", O_RDWR | O_CLOEXEC);
  if (devfd < 0) die("/dev/iio:device0");
  int buffd = 0;
  if (ioctl(devfd, IIO_BUFFER_GET_FD_IOCTL, &buffd) < 0) die("IIO_BUFFER_GET_FD_IOCTL");
  close(devfd);
  int bits = realbits();
  enable_channels();
  char v[32];
  snprintf(v, sizeof v, "%lu", length);
  write_attr(DEV_DIR "/buffer0/length", v);
  snprintf(v, sizeof v, "%lu", length / 2);
  write_attr_try(DEV_DIR "/buffer0/watermark", v);
  write_attr(DEV_DIR "/buffer0/enable", "1");

  size_t scan_bytes = CHANNELS * sizeof(int16_t);
  int16_t *buf = malloc(length * scan_bytes);
  if (!buf) die("malloc");
  unsigned long got = 0, bad = 0;
  size_t partial = 0;
  while (got < scans) {
    size_t want = (scans - got) * scan_bytes - partial;
    if (want > length * scan_bytes - partial) want = length * scan_bytes - partial;
    ssize_t n = read(buffd, (char *)buf + partial, want);
    if (n < 0) die("read");
    if (n == 0) {
      fprintf(stderr, "read: end of file after %lu scans\n", got);
      return 1;
    }
    partial += (size_t)n;
    unsigned long whole = partial / scan_bytes;
    bad += check_ramp(buf, got, whole, bits);
    got += whole;
    partial -= whole * scan_bytes;
    memmove(buf, (char *)buf + whole * scan_bytes, partial);
  }
  write_attr(DEV_DIR "/buffer0/enable", "0");
  close(buffd);
  printf("read-capture: %lu samples (%lu scans of %d channels): %lu mismatches\n", got * CHANNELS, got, CHANNELS,
         bad);
  return bad == 0 ? 0 : 1;
}
