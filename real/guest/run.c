/*
 * PUT and RUN: the supervisor requests that run an unmodified host program in the guest (PROTOCOL.md, "Host
 * programs"). PUT stores a file (a program, a shared library, the dynamic loader); RUN starts a program with
 * the given arguments, environment and stdin, waits for it (up to a deadline) and answers with its wait
 * status, its stdout and stderr, and the files it was asked to fetch back (such as an strace log).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "proto.h"

/* Where a program runs and its stdio goes: /tmp/iio-sim-run in the VM (PID 1), else one per supervisor. */
static char run_dir[64];

static const char *run_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", run_dir, name);
  return buf;
}

/* mkdir -p of the directory part of path. */
static void make_parents(const char *path) {
  char tmp[4096];
  size_t n = strlen(path);
  if (n >= sizeof tmp) return;
  memcpy(tmp, path, n + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(tmp, 0755);
    *p = '/';
  }
}

static int write_file(const char *path, const uint8_t *data, size_t n, mode_t mode) {
  make_parents(path);
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return -errno;
  int r = write_all(fd, data, n);
  if (fchmod(fd, mode) < 0 && r == 0) r = -errno;
  close(fd);
  return r;
}

int32_t host_put(const uint8_t *p, size_t n) {
  /* u32 mode, path\0, bytes */
  if (n < 6) return -EINVAL;
  uint32_t mode = get32(p);
  const char *path = (const char *)p + 4;
  size_t pl = strnlen(path, n - 4);
  if (pl == 0 || pl == n - 4 || path[0] != '/') return -EINVAL;
  const uint8_t *data = p + 4 + pl + 1;
  return write_file(path, data, n - 4 - pl - 1, (mode_t)(mode & 07777));
}

/* Appends u32 length and the file's bytes, or i32 -errno when it cannot be read. */
static void put_file(struct buf *out, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    buf_put32(out, (uint32_t)-errno);
    if (fd >= 0) close(fd);
    return;
  }
  size_t at = out->len;
  buf_put32(out, 0);
  size_t got = 0;
  for (;;) {
    uint8_t *w = buf_reserve(out, 65536);
    ssize_t r = read(fd, w, 65536);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out->len += (size_t)r;
    got += (size_t)r;
  }
  close(fd);
  put32(out->p + at, (uint32_t)got);
}

/* Splits n bytes of NUL-terminated strings into a NULL-terminated array of count entries; NULL if short. */
static char **strings(const uint8_t **p, const uint8_t *end, uint32_t count) {
  char **v = calloc((size_t)count + 1, sizeof *v);
  if (!v) die("out of memory (RUN)");
  for (uint32_t i = 0; i < count; i++) {
    size_t l = strnlen((const char *)*p, (size_t)(end - *p));
    if (*p + l >= end) {
      free(v);
      return NULL;
    }
    v[i] = (char *)*p;
    *p += l + 1;
  }
  return v;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Waits for pid up to timeout_ms (0: no limit); kills its process group at the deadline. */
static int wait_child(pid_t pid, uint32_t timeout_ms, int *timed_out) {
  long waited = 0;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    if (r < 0 && errno != EINTR) return 0;
    if (timeout_ms && waited >= (long)timeout_ms && !*timed_out) {
      *timed_out = 1;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    sleep_ms(waited < 200 ? 2 : 10);
    waited += waited < 200 ? 2 : 10;
  }
}

static _Noreturn void run_child(char **argv, char **envp, int err_pipe, uint32_t in_len) {
  char pin[96], pout[96], perr[96];
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  /* No input: /dev/null, as a program started with nothing on its stdin usually has (not a tmpfs file). */
  int in = open(in_len ? run_path(pin, sizeof pin, "stdin") : "/dev/null", O_RDONLY);
  int out = open(run_path(pout, sizeof pout, "stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open(run_path(perr, sizeof perr, "stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
  for (int fd = 3; fd < 64; fd++)
    if (fd != err_pipe) close(fd);
  if (chdir(run_dir) < 0) _exit(127);
  execve(argv[0], argv, envp);
  int e = errno;
  if (write(err_pipe, &e, sizeof e) < 0) _exit(127);
  _exit(127);
}

void host_run(struct buf *out, const uint8_t *p, size_t n) {
  /* u32 timeout ms, u32 argc, u32 envc, u32 nfetch, u32 stdin length, argv\0..., envp\0..., fetch\0..., stdin */
  const uint8_t *end = p + n;
  frame_begin(out);
  if (n < 20) {
    buf_put32(out, (uint32_t)-EINVAL);
    return;
  }
  uint32_t timeout_ms = get32(p), argc = get32(p + 4), envc = get32(p + 8), nfetch = get32(p + 12);
  uint32_t inlen = get32(p + 16);
  const uint8_t *q = p + 20;
  char **argv = argc && argc < 4096 ? strings(&q, end, argc) : NULL;
  char **envp = argv && envc < 4096 ? strings(&q, end, envc) : NULL;
  char **fetch = envp && nfetch < 256 ? strings(&q, end, nfetch) : NULL;
  if (!fetch || (size_t)(end - q) != inlen) {
    free(argv);
    free(envp);
    free(fetch);
    buf_put32(out, (uint32_t)-EINVAL);
    return;
  }
  char path[96];
  if (getpid() == 1)
    snprintf(run_dir, sizeof run_dir, "/tmp/iio-sim-run");
  else
    snprintf(run_dir, sizeof run_dir, "/tmp/iio-sim-run.%d", (int)getpid());
  mkdir("/tmp", 01777);
  mkdir(run_dir, 0755);
  int r = write_file(run_path(path, sizeof path, "stdin"), q, inlen, 0644);
  int ep[2];
  if (r == 0 && pipe2(ep, O_CLOEXEC) < 0) r = -errno;
  pid_t pid = r == 0 ? fork() : -1;
  if (pid == 0) run_child(argv, envp, ep[1], inlen);
  if (r == 0 && pid < 0) r = -errno;
  int timed_out = 0;
  int status = 0;
  if (r == 0) {
    close(ep[1]);
    int e = 0;
    ssize_t got;
    while ((got = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(ep[0]);
    status = wait_child(pid, timeout_ms, &timed_out);
    if (got == (ssize_t)sizeof e) r = -e;
  }
  buf_put32(out, (uint32_t)r);
  buf_put32(out, (uint32_t)status);
  buf_put32(out, (uint32_t)timed_out);
  if (r == 0) {
    put_file(out, run_path(path, sizeof path, "stdout"));
    put_file(out, run_path(path, sizeof path, "stderr"));
    for (uint32_t i = 0; i < nfetch; i++) put_file(out, fetch[i]);
  }
  static const char *const mine[] = {"stdin", "stdout", "stderr"};
  for (size_t i = 0; i < 3; i++) unlink(run_path(path, sizeof path, mine[i]));
  rmdir(run_dir);
  free(argv);
  free(envp);
  free(fetch);
}
