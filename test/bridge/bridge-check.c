/*
 * Exercises the calls of the preload bridge that the capture programs do not: the stat family, access,
 * realpath, readlink, dup2, fcntl, select, lseek, stdio, memfd + udmabuf (CREATE and CREATE_LIST) + mmap with
 * the pages both mappings share, ioctl arguments the kernel cannot read or write back (EFAULT), a refused call
 * and a forked child (its open served by a simulated process of its own). Prints one line per check (`bridge-check block` instead blocks for good in a poll); test/bridge/exec.test.ts compares the output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <linux/ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

struct udmabuf_create {
  uint32_t memfd;
  uint32_t flags;
  uint64_t offset;
  uint64_t size;
};
#define UDMABUF_CREATE _IOW('u', 0x42, struct udmabuf_create)
struct udmabuf_create_list2 {
  uint32_t flags;
  uint32_t count;
  struct { uint32_t memfd; uint32_t pad; uint64_t offset; uint64_t size; } list[2];
};
#define UDMABUF_CREATE_LIST _IOW('u', 0x43, uint64_t)
struct dma_heap_allocation_data {
  uint64_t len;
  uint32_t fd;
  uint32_t fd_flags;
  uint64_t heap_flags;
};
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct dma_heap_allocation_data)

#define NAME "/sys/bus/iio/devices/iio:device0/name"

static void show(const char *what, long r) {
  if (r < 0) printf("%s = -1 %s\n", what, strerrorname_np(errno));
  else printf("%s = %ld\n", what, r);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "block") == 0) {
    /* Waits for an event of sim-dummy that nothing will raise: blocked for good. */
    int dev = open("/dev/iio:device2", O_RDONLY);
    int efd = -1;
    if (ioctl(dev, _IOR('i', 0x90, int), &efd) < 0) return 3;
    struct pollfd p = { .fd = efd, .events = POLLIN };
    return poll(&p, 1, -1);
  }
  struct stat st;
  show("stat(devices) dir", stat("/sys/bus/iio/devices", &st) == 0 ? S_ISDIR(st.st_mode) : -1);
  show("stat(iio:device0) chr", stat("/dev/iio:device0", &st) == 0 ? S_ISCHR(st.st_mode) : -1);
  show("stat(nope)", stat("/sys/bus/iio/devices/nope", &st));
  show("access(name, R_OK)", access(NAME, R_OK));
  show("access(name, W_OK)", access(NAME, W_OK));
  show("access(enable, W_OK)", access("/sys/bus/iio/devices/iio:device0/buffer0/enable", W_OK));
  char rp[PATH_MAX];
  printf("realpath = %s\n", realpath("/sys/bus/iio/devices/iio:device0/../iio:device1/./name", rp));
  char link[64];
  show("readlink(iio:device0)", readlink("/sys/bus/iio/devices/iio:device0", link, sizeof link));

  int fd = open(NAME, O_RDONLY);
  show("dup2(fd, 10)", dup2(fd, 10));
  char buf[64] = { 0 };
  show("read(10)", read(10, buf, sizeof buf - 1));
  printf("read(10) text = %s", buf);
  show("fcntl(10, F_GETFD)", fcntl(10, F_GETFD));
  show("close(10)", close(10));
  struct flock fl = { .l_type = F_RDLCK };
  show("fcntl(fd, F_SETLK)", fcntl(fd, F_SETLK, &fl));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  struct timeval tv = { 0, 0 };
  show("select(readable)", select(fd + 1, &rd, NULL, NULL, &tv));
  show("fstat(fd) size", fstat(fd, &st) == 0 ? st.st_size : -1);
  show("lseek(fd, 0, SEEK_END)", lseek(fd, 0, SEEK_END));
  close(fd);

  FILE *f = fopen("/sys/bus/iio/devices/iio:device0/sampling_frequency", "r");
  long hz = 0;
  show("fscanf(sampling_frequency)", f && fscanf(f, "%ld", &hz) == 1 ? hz : -1);
  if (f) fclose(f);

  int mfd = memfd_create("block", MFD_ALLOW_SEALING);
  show("ftruncate(memfd)", ftruncate(mfd, 8192));
  show("write(memfd)", write(mfd, "hello", 5));
  show("F_ADD_SEALS", fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
  /* "files": the calls on files only (the i386 builds' check, which may run under qemu-i386: no page sharing). */
  if (argc > 1 && strcmp(argv[1], "files") == 0) return 0;
  int u = open("/dev/udmabuf", O_RDWR);
  struct udmabuf_create c = { .memfd = (uint32_t)mfd, .flags = 0, .offset = 0, .size = 8192 };
  int dbuf = ioctl(u, UDMABUF_CREATE, &c);
  show("UDMABUF_CREATE >= 0", dbuf >= 0 ? 1 : dbuf);
  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, dbuf, 0);
  printf("udmabuf mapping = %.5s\n", p == MAP_FAILED ? "(failed)" : p);
  /* The memfd's mapping and the udmabuf's show the same pages: a store through one is seen through the other
   * with no call in between. */
  char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
  m[0] = 'X';
  m[4097] = 'Y';
  printf("shared pages = %c%c\n", p[0], p[4097]);
  struct udmabuf_create_list2 l = { .flags = 0, .count = 2 };
  l.list[0].memfd = l.list[1].memfd = (uint32_t)mfd;
  l.list[0].offset = 4096, l.list[0].size = 4096;
  l.list[1].offset = 0, l.list[1].size = 4096;
  int lbuf = ioctl(u, UDMABUF_CREATE_LIST, &l);
  show("UDMABUF_CREATE_LIST >= 0", lbuf >= 0 ? 1 : lbuf);
  char *q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, lbuf, 0);
  q[4096 + 1] = 'Z';
  printf("list pages swapped = %c%c, memfd sees %c\n", q[1], q[4096], m[1]);
  show("munmap", munmap(p, 8192));
  munmap(q, 8192);
  munmap(m, 8192);
  close(lbuf);

  /* An ioctl argument the kernel cannot write back (a read-only page): EFAULT, and no fd left behind. */
  int heap = open("/dev/dma_heap/system", O_RDWR);
  struct dma_heap_allocation_data *req = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  req->len = 4096;
  req->fd_flags = O_RDWR | O_CLOEXEC;
  mprotect(req, 4096, PROT_READ);
  show("DMA_HEAP_IOCTL_ALLOC(read-only arg)", ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req));
  mprotect(req, 4096, PROT_NONE);
  show("DMA_HEAP_IOCTL_ALLOC(unreadable arg)", ioctl(heap, DMA_HEAP_IOCTL_ALLOC, req));
  munmap(req, 4096);
  int next = dup(0);
  show("next fd = heap + 1", next == heap + 1);
  close(next);
  close(heap);

  fflush(stdout);
  pid_t child = fork();
  if (child == 0) _exit(open("/dev/iio:device0", O_RDONLY) >= 0 ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  show("child's open served", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return 0;
}
