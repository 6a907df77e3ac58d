/*
 * A bridged program's children: forks a child that reads from an inherited sysfs fd and from an inherited
 * mapping of a dma-buf, writes to the mapping and closes its copy of the fd; the parent waits and checks that
 * the child's read moved the shared offset, that its fd is still open and that the child's stores show in its
 * mapping. Then a child execs `cat` on an inherited fd (fd 0), which the exec keeps. Prints one line per check;
 * test/bridge/exec.test.ts compares the output and the trace (two simulated processes and more).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct heap_alloc {
  uint64_t len;
  uint32_t fd;
  uint32_t fd_flags;
  uint64_t heap_flags;
};
#define HEAP_ALLOC _IOWR('H', 0x0, struct heap_alloc)

int main(void) {
  int fd = open("/sys/bus/iio/devices/iio:device0/name", O_RDONLY);
  int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
  struct heap_alloc a = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC };
  if (fd < 0 || heap < 0 || ioctl(heap, HEAP_ALLOC, &a) < 0) {
    perror("fork-check: setup");
    return 1;
  }
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)a.fd, 0);
  if (p == MAP_FAILED) {
    perror("fork-check: mmap");
    return 1;
  }
  strcpy(p, "parent");
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    char b[4] = { 0 };
    int ok = read(fd, b, 3) == 3 && memcmp(b, "sim", 3) == 0 && strcmp(p, "parent") == 0;
    strcpy(p, "child");
    _exit(ok && close(fd) == 0 ? 3 : 1);
  }
  int status = 0;
  printf("waitpid = child: %d\n", waitpid(child, &status, 0) == child);
  printf("child exit status: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  char rest[16] = { 0 };
  printf("parent reads on: %zd %s", read(fd, rest, sizeof rest - 1), rest);
  printf("mapping after the child: %s\n", p);
  munmap(p, 4096);
  close((int)a.fd);
  close(heap);

  /* A child that execs: fd 0 becomes a simulated fd, kept over the exec; the close-on-exec one is not. */
  lseek(fd, 0, SEEK_SET);
  int ex = open("/sys/bus/iio/devices/iio:device1/name", O_RDONLY | O_CLOEXEC);
  fflush(stdout);
  child = fork();
  if (child == 0) {
    dup2(fd, 0);
    execlp("cat", "cat", "-", (char *)NULL);
    _exit(127);
  }
  printf("exec'd child: %d\n", waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  char b[16] = { 0 };
  printf("parent's close-on-exec fd still reads: %zd %s", read(ex, b, sizeof b - 1), b);
  return 0;
}
