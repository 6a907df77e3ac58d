/*
 * Plays one period of a waveform on sim-dac (iio:device1) with a cyclic DMABUF and reads it back through a
 * loopback ADC (iio:device0) with read(): every scan must follow the period, whatever the phase. Needs the
 * board of scenarios/04-cyclic-dac.yaml:
 *   iio-sim exec --scenario scenarios/04-cyclic-dac.yaml -- ./cyclic-dac [SCANS]   (default 65536)
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "iio-common.h"

#define IIO_BUFFER_DMABUF_CYCLIC (1u << 0)
#define ADC "/sys/bus/iio/devices/iio:device0/buffer0"
#define DAC "/sys/bus/iio/devices/iio:device1/buffer0"
#define PERIOD 8

static const int16_t wave[2][PERIOD] = {
  { 0, 1000, 2000, 3000, 4000, 3000, 2000, 1000 },
  { 0, -1000, -2000, -3000, -4000, -3000, -2000, -1000 },
};

static int buffer_fd(const char *dev) {
  int devfd = open(dev, O_RDWR | O_CLOEXEC);
  if (devfd < 0) die(dev);
  int fd = 0;
  if (ioctl(devfd, IIO_BUFFER_GET_FD_IOCTL, &fd) < 0) die("IIO_BUFFER_GET_FD_IOCTL");
  close(devfd);
  return fd;
}

int main(int argc, char **argv) {
  unsigned long scans = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;

  int out = buffer_fd("/dev/iio:device1");
  write_attr(DAC "/out_voltage0_en", "1");
  write_attr(DAC "/out_voltage1_en", "1");
  int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
  if (heap < 0) die("/dev/dma_heap/system");
  struct dma_heap_allocation_data alloc = { .len = 4096, .fd_flags = O_CLOEXEC | O_RDWR };
  if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc) < 0) die("DMA_HEAP_IOCTL_ALLOC");
  close(heap);
  int block = (int)alloc.fd;
  int16_t *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, block, 0);
  if (map == MAP_FAILED) die("mmap");
  struct dma_buf_sync s = { DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE };
  if (ioctl(block, DMA_BUF_IOCTL_SYNC, &s) < 0) die("SYNC START");
  for (int i = 0; i < PERIOD; i++) {
    map[2 * i] = wave[0][i];
    map[2 * i + 1] = wave[1][i];
  }
  s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
  if (ioctl(block, DMA_BUF_IOCTL_SYNC, &s) < 0) die("SYNC END");
  if (ioctl(out, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &block) < 0) die("ATTACH");
  write_attr(DAC "/enable", "1");
  struct iio_dmabuf req = { .fd = (uint32_t)block, .flags = IIO_BUFFER_DMABUF_CYCLIC, .bytes_used = PERIOD * 4 };
  if (ioctl(out, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) < 0) die("ENQUEUE");

  int in = buffer_fd("/dev/iio:device0");
  write_attr(ADC "/in_voltage0_en", "1");
  write_attr(ADC "/in_voltage1_en", "1");
  write_attr(ADC "/enable", "1");
  int16_t *buf = malloc(scans * 4);
  if (!buf) die("malloc");
  for (size_t got = 0; got < scans * 4;) {
    ssize_t n = read(in, (char *)buf + got, scans * 4 - got);
    if (n <= 0) die("read");
    got += (size_t)n;
  }
  write_attr(ADC "/enable", "0");
  write_attr(DAC "/enable", "0");

  int phase = -1;
  for (int p = 0; p < PERIOD; p++)
    if (buf[0] == wave[0][p] && buf[1] == wave[1][p] && buf[2] == wave[0][(p + 1) % PERIOD]) phase = p;
  unsigned long bad = 0;
  for (unsigned long i = 0; i < scans; i++)
    for (int c = 0; c < 2; c++)
      if (phase < 0 || buf[2 * i + (unsigned)c] != wave[c][(i + (unsigned)phase) % PERIOD]) bad++;
  if (ioctl(out, IIO_BUFFER_DMABUF_DETACH_IOCTL, &block) < 0) die("DETACH");
  munmap(map, 4096);
  close(block);
  close(out);
  close(in);
  printf("cyclic-dac: %lu scans read back through the loopback, period %d: %lu mismatches\n", scans, PERIOD, bad);
  return bad == 0 ? 0 : 1;
}
