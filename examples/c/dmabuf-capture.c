/*
 * Captures from sim-adc (iio:device0) the way libiio 1.x's local DMABUF backend does: dma-heap blocks,
 * ATTACH, ENQUEUE, poll on the dma-buf together with a cancel eventfd, SYNC around CPU access. Checks every
 * sample against the ramp. Usage: dmabuf-capture [SAMPLES] [BLOCK_SCANS] [BLOCKS] [nosync]  (defaults 1000000 4096 4;
 * `nosync` skips DMA_BUF_IOCTL_SYNC around CPU access: stale data on a platform without coherent DMA).
 * Runs on the simulator with `iio-sim exec -- ./dmabuf-capture`, or on a kernel with the same devices.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "iio-common.h"

struct block {
  int fd;
  int16_t *data;
};

static void sync_block(int fd, uint64_t flags) {
  struct dma_buf_sync s = { flags };
  if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0) die("DMA_BUF_IOCTL_SYNC");
}

static int use_sync = 1;

static void enqueue(int buffd, struct block *b, size_t size) {
  if (use_sync) sync_block(b->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  struct iio_dmabuf req = { .fd = (uint32_t)b->fd, .flags = 0, .bytes_used = size };
  while (ioctl(buffd, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, &req) < 0)
    if (errno != EINTR) die("IIO_BUFFER_DMABUF_ENQUEUE_IOCTL");
}

int main(int argc, char **argv) {
  unsigned long samples = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
  unsigned long block_scans = argc > 2 ? strtoul(argv[2], NULL, 0) : 4096;
  int nblocks = argc > 3 ? atoi(argv[3]) : 4;
  use_sync = !(argc > 4 && strcmp(argv[4], "nosync") == 0);
  if (nblocks < 1 || nblocks > 64 || block_scans == 0) {
    fprintf(stderr, "usage: dmabuf-capture [SAMPLES] [BLOCK_SCANS] [BLOCKS<=64] [nosync]\n");
    return 2;
  }
  size_t size = block_scans * CHANNELS * sizeof(int16_t);
  unsigned long scans = (samples + CHANNELS - 1) / CHANNELS;

  int cancel = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cancel < 0) die("eventfd");
  int devfd = open("/dev/iio:device0", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (devfd < 0) die("/dev/iio:device0");
  int buffd = 0;
  if (ioctl(devfd, IIO_BUFFER_GET_FD_IOCTL, &buffd) < 0) die("IIO_BUFFER_GET_FD_IOCTL");
  close(devfd);
  int bits = realbits();
  enable_channels();

  struct block blocks[64];
  for (int i = 0; i < nblocks; i++) {
    int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (heap < 0) die("/dev/dma_heap/system");
    struct dma_heap_allocation_data alloc = { .len = size, .fd_flags = O_CLOEXEC | O_RDWR };
    if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &alloc) < 0) die("DMA_HEAP_IOCTL_ALLOC");
    blocks[i].fd = (int)alloc.fd;
    blocks[i].data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, blocks[i].fd, 0);
    if (blocks[i].data == MAP_FAILED) die("mmap");
    sync_block(blocks[i].fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    if (ioctl(buffd, IIO_BUFFER_DMABUF_ATTACH_IOCTL, &blocks[i].fd) < 0) die("IIO_BUFFER_DMABUF_ATTACH_IOCTL");
    close(heap);
  }

  char v[32];
  snprintf(v, sizeof v, "%lu", block_scans);
  write_attr(DEV_DIR "/buffer0/length", v);
  write_attr_try(DEV_DIR "/buffer0/watermark", v);
  for (int i = 0; i < nblocks; i++) enqueue(buffd, &blocks[i], size);
  write_attr(DEV_DIR "/buffer0/enable", "1");

  unsigned long got = 0, bad = 0;
  for (int i = 0; got < scans; i = (i + 1) % nblocks) {
    struct pollfd p[2] = { { .fd = blocks[i].fd, .events = POLLOUT }, { .fd = cancel, .events = POLLIN } };
    int r = poll(p, 2, 5000);
    if (r < 0) die("poll");
    if (r == 0) {
      fprintf(stderr, "poll: timed out after %lu scans\n", got);
      return 1;
    }
    if (p[1].revents) {
      fprintf(stderr, "cancelled\n");
      return 1;
    }
    if (p[0].revents != POLLOUT) {
      fprintf(stderr, "poll: revents 0x%x\n", p[0].revents);
      return 1;
    }
    if (use_sync) sync_block(blocks[i].fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    unsigned long n = scans - got < block_scans ? scans - got : block_scans;
    bad += check_ramp(blocks[i].data, got, n, bits);
    got += n;
    if (got < scans) enqueue(buffd, &blocks[i], size);
  }

  write_attr(DEV_DIR "/buffer0/enable", "0");
  for (int i = 0; i < nblocks; i++) {
    if (ioctl(buffd, IIO_BUFFER_DMABUF_DETACH_IOCTL, &blocks[i].fd) < 0) die("IIO_BUFFER_DMABUF_DETACH_IOCTL");
    munmap(blocks[i].data, size);
    close(blocks[i].fd);
  }
  close(buffd);
  close(cancel);
  printf("dmabuf-capture: %lu samples (%lu scans of %d channels) in %d blocks of %lu scans: %lu mismatches\n",
         got * CHANNELS, got, CHANNELS, nblocks, block_scans, bad);
  return bad == 0 ? 0 : 1;
}
