/* Frame buffers and blocking I/O helpers shared by the supervisor and the process executor. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "proto.h"

uint8_t *buf_reserve(struct buf *b, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) die("out of memory (%zu bytes)", cap);
    b->p = p;
    b->cap = cap;
  }
  return b->p + b->len;
}

void buf_put(struct buf *b, const void *data, size_t n) {
  memcpy(buf_reserve(b, n), data, n);
  b->len += n;
}

void buf_put32(struct buf *b, uint32_t v) {
  put32(buf_reserve(b, 4), v);
  b->len += 4;
}

void buf_put64(struct buf *b, uint64_t v) {
  put64(buf_reserve(b, 8), v);
  b->len += 8;
}

void frame_begin(struct buf *b) {
  b->len = 0;
  buf_reserve(b, HDR_SIZE);
  memset(b->p, 0, HDR_SIZE);
  b->len = HDR_SIZE;
}

void frame_end(struct buf *b, uint16_t type, uint16_t flags, uint32_t proc, uint32_t seq) {
  put32(b->p, (uint32_t)b->len);
  put16(b->p + 4, type);
  put16(b->p + 6, flags);
  put32(b->p + 8, proc);
  put32(b->p + 12, seq);
}

int write_all(int fd, const void *data, size_t n) {
  const uint8_t *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int read_full(int fd, void *data, size_t n) {
  uint8_t *p = data;
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, p + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) return done == 0 ? 1 : -EPIPE;
    done += (size_t)r;
  }
  return 0;
}

_Noreturn void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "executor[%d]: ", (int)getpid());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  if (getpid() == 1) {
    sync();
    reboot(RB_POWER_OFF);
  }
  _exit(111);
}
