/*
 * Helpers shared by the example capture programs: the uapi numbers (spelled here so the examples build
 * against any kernel headers), sysfs attribute access and the ramp check of sim-adc.
 */
#ifndef IIO_COMMON_H
#define IIO_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct iio_dmabuf {
  uint32_t fd;
  uint32_t flags;
  uint64_t bytes_used;
};
struct dma_heap_allocation_data {
  uint64_t len;
  uint32_t fd;
  uint32_t fd_flags;
  uint64_t heap_flags;
};
struct dma_buf_sync {
  uint64_t flags;
};

#define IIO_BUFFER_GET_FD_IOCTL _IOWR('i', 0x91, int)
#define IIO_BUFFER_DMABUF_ATTACH_IOCTL _IOW('i', 0x92, int)
#define IIO_BUFFER_DMABUF_DETACH_IOCTL _IOW('i', 0x93, int)
#define IIO_BUFFER_DMABUF_ENQUEUE_IOCTL _IOW('i', 0x94, struct iio_dmabuf)
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct dma_heap_allocation_data)
#define DMA_BUF_IOCTL_SYNC _IOW('b', 0, struct dma_buf_sync)
#define DMA_BUF_SYNC_READ (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END (1 << 2)

#define DEV_DIR "/sys/bus/iio/devices/iio:device0"
#define CHANNELS 4

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}

/* Writes a sysfs attribute with stdio, as libiio does. */
static inline void write_attr(const char *path, const char *value) {
  FILE *f = fopen(path, "we");
  if (!f) die(path);
  if (fputs(value, f) < 0 || fflush(f) != 0) die(path);
  if (fclose(f) != 0) die(path);
}

/* Writes an attribute that may be read-only (a DMA buffer's watermark is fixed): errors are ignored. */
static inline void write_attr_try(const char *path, const char *value) {
  FILE *f = fopen(path, "we");
  if (!f) return;
  fputs(value, f);
  fclose(f);
}

/* Reads a sysfs attribute with stdio, without its newline. */
static inline void read_attr(const char *path, char *out, size_t len) {
  FILE *f = fopen(path, "re");
  if (!f) die(path);
  if (!fgets(out, (int)len, f)) die(path);
  fclose(f);
  out[strcspn(out, "\n")] = 0;
}

/* Enables the four channels of sim-adc in buffer0, and reads back what took. */
static inline void enable_channels(void) {
  char path[256], v[32];
  write_attr(DEV_DIR "/buffer0/enable", "0");
  for (int c = 0; c < CHANNELS; c++) {
    snprintf(path, sizeof path, DEV_DIR "/buffer0/in_voltage%d_en", c);
    write_attr(path, "1");
    read_attr(path, v, sizeof v);
    if (strcmp(v, "1") != 0) {
      fprintf(stderr, "%s reads back '%s'\n", path, v);
      exit(1);
    }
  }
}

/*
 * The ramp of sim-adc's channel c at scan n, as its realbits low bits: (n + 1024 c) - 2^(bits-1), modulo
 * 2^bits. Returns the number of mismatches among `scans` scans starting at scan `first`.
 */
static inline unsigned long check_ramp(const int16_t *s, unsigned long first, unsigned long scans, int bits) {
  unsigned long bad = 0;
  uint32_t mask = (1u << bits) - 1;
  for (unsigned long i = 0; i < scans; i++)
    for (int c = 0; c < CHANNELS; c++) {
      uint32_t want = (uint32_t)((first + i) + 1024u * (uint32_t)c - (1u << (bits - 1))) & mask;
      uint32_t got = (uint32_t)(uint16_t)s[i * CHANNELS + (unsigned)c] & mask;
      if (got != want && bad++ < 5)
        fprintf(stderr, "scan %lu channel %d: %u, expected %u\n", first + i, c, got, want);
    }
  return bad;
}

/* realbits of in_voltage0, from its scan type (le:s12/16>>0). */
static inline int realbits(void) {
  char t[64];
  read_attr(DEV_DIR "/buffer0/in_voltage0_type", t, sizeof t);
  int bits = 0, storage = 0;
  char sign = 0;
  if (sscanf(t, "le:%c%d/%d", &sign, &bits, &storage) != 3 || storage != 16) {
    fprintf(stderr, "unexpected scan type %s\n", t);
    exit(1);
  }
  return bits;
}

#endif
