/*
 * The program side of bench/exec-cost.ts: N calls of lseek(fd, 0, SEEK_SET) and of a 2-byte pread on the
 * sysfs attribute sim-adc's name (bridged under `iio-sim exec`), timed with the real monotonic clock.
 * Prints "lseek NS pread NS": wall ns per call.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  int fd = open("/sys/bus/iio/devices/iio:device0/name", O_RDONLY);
  if (fd < 0) return 1;
  char b[2];
  /* Warm-up: the Node side's code is compiled on its first calls. */
  for (long i = 0; i < n; i++)
    if (lseek(fd, 0, SEEK_SET) != 0 || pread(fd, b, 2, 0) != 2) return 1;
  double t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (lseek(fd, 0, SEEK_SET) != 0) return 1;
  double t1 = now_ns();
  for (long i = 0; i < n; i++)
    if (pread(fd, b, 2, 0) != 2) return 1;
  double t2 = now_ns();
  printf("lseek %.0f pread %.0f\n", (t1 - t0) / n, (t2 - t1) / n);
  return 0;
}
