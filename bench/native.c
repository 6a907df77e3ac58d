/*
 * Native reference of `npm run bench`: the wall time of the real syscalls the simulated paths stand for, on
 * this machine, in one C loop each. No IIO device is needed:
 *   read512 / read16k  read(2) of 512 B / 16 KiB from /dev/zero (the read() paths)
 *   dmabufLoop         per syscall of: poll(2) on a ready eventfd, then three ioctl(FIONREAD) on a pipe (the
 *                      DMABUF loop's poll, SYNC start, SYNC end, ENQUEUE: an ioctl that copies a word)
 * Prints one JSON object: nanoseconds per syscall, median of 5 rounds. `native serve` instead reads lines
 * "NAME N" from stdin and answers each with {"NAME": ns} for that one loop: `npm run bench` times a path's
 * reference again in each of its rounds without forking a process each time (a simulated capture right
 * after a fork measured 15-18% slower: copy-on-write faults on the parent's pages).
 * Build: cc -O2 -o native bench/native.c
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static char buf[16384];
static int zero_fd, pipe_fd[2], event_fd;

static double read_loop(int n, size_t len) {
  double t0 = now_ns();
  for (int i = 0; i < n; i++)
    if (read(zero_fd, buf, len) != (ssize_t)len) exit(2);
  return (now_ns() - t0) / n;
}

static double dmabuf_loop(int n) {
  struct pollfd pfd = {event_fd, POLLIN, 0};
  int avail;
  double t0 = now_ns();
  for (int i = 0; i < n; i++) {
    if (poll(&pfd, 1, -1) != 1) exit(3);
    if (ioctl(pipe_fd[0], FIONREAD, &avail) || ioctl(pipe_fd[0], FIONREAD, &avail) ||
        ioctl(pipe_fd[0], FIONREAD, &avail))
      exit(4);
  }
  return (now_ns() - t0) / (4.0 * n);
}

static double median(double (*fn)(int, size_t), int n, size_t len) {
  double r[5];
  for (int i = 0; i < 5; i++) r[i] = fn(n, len);
  qsort(r, 5, sizeof r[0], cmp);
  return r[2];
}

static double dmabuf_adapter(int n, size_t len) {
  (void)len;
  return dmabuf_loop(n);
}

/* One loop of `which` (a JSON key), n iterations, median of 5; negative for an unknown name. */
static double one(const char *which, int n) {
  if (!strcmp(which, "read512"))
    return median(read_loop, n, 512);
  if (!strcmp(which, "read16k"))
    return median(read_loop, n / 4, 16384);
  if (!strcmp(which, "dmabufLoop"))
    return median(dmabuf_adapter, n / 4, 0);
  return -1;
}

static int serve(void) {
  char line[128], which[64];
  int n;
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "%63s %d", which, &n) != 2 || n < 40)
      return 1;
    double ns = one(which, n);
    if (ns < 0)
      return 1;
    printf("{\"%s\":%.1f}\n", which, ns);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  int serving = argc > 1 && !strcmp(argv[1], "serve");
  int n = argc > 1 && !serving ? atoi(argv[1]) : 100000;
  zero_fd = open("/dev/zero", O_RDONLY);
  event_fd = eventfd(1, 0);
  if (n < 40 || zero_fd < 0 || event_fd < 0 || pipe(pipe_fd))
    return 1;
  read_loop(n / 10, 512); /* warm-up */
  if (serving)
    return serve();
  double r512 = one("read512", n), r16k = one("read16k", n), loop = one("dmabufLoop", n);
  printf("{\"read512\":%.1f,\"read16k\":%.1f,\"dmabufLoop\":%.1f}\n", r512, r16k, loop);
  return 0;
}
