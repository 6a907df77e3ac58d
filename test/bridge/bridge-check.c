/*
 * Exercises the calls of the preload bridge that the capture programs do not: the stat family, access,
 * realpath, readlink, dup2, fcntl, select, lseek, stdio, memfd + udmabuf + mmap, a refused call and a forked
 * child. Prints one line per check (`bridge-check block` instead blocks for good in a poll); test/bridge/exec.test.ts compares the output.
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
  int u = open("/dev/udmabuf", O_RDWR);
  struct udmabuf_create c = { .memfd = (uint32_t)mfd, .flags = 0, .offset = 0, .size = 8192 };
  int dbuf = ioctl(u, UDMABUF_CREATE, &c);
  show("UDMABUF_CREATE >= 0", dbuf >= 0 ? 1 : dbuf);
  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, dbuf, 0);
  printf("udmabuf mapping = %.5s\n", p == MAP_FAILED ? "(failed)" : p);
  show("munmap", munmap(p, 8192));

  fflush(stdout);
  pid_t child = fork();
  if (child == 0) _exit(open("/dev/iio:device0", O_RDONLY) < 0 && errno == ENOSYS ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  show("child's open refused", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return 0;
}
