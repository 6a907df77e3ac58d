/*
 * The supervisor: owns the port to the host, starts one executor process per simulated process, relays
 * frames between the port and the processes, reports their exits, and reloads the test module on request.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "proto.h"

/* Bytes received on one fd that do not make a whole frame yet. */
struct rbuf {
  uint8_t *p;
  size_t len;
  size_t cap;
};

struct child {
  uint32_t id;
  pid_t pid;
  int fd;
  struct rbuf in;
};

static const struct sup_opts *opts;
static int port = -1;
static int port_is_dev;
static struct rbuf port_in;
static struct child *kids;
static size_t nkids;
static size_t capkids;
static struct buf out;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static void send_out(uint16_t type, uint32_t proc, uint32_t seq) {
  frame_end(&out, type, 0, proc, seq);
  if (write_all(port, out.p, out.len) < 0 && opts->verbose) fprintf(stderr, "executor: port write failed\n");
}

static void logmsg(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (opts->verbose) fprintf(stderr, "executor: %s\n", msg);
  frame_begin(&out);
  buf_put(&out, msg, strlen(msg));
  send_out(T_LOG, 0, 0);
}

static void reply_i32(uint16_t type, uint32_t proc, uint32_t seq, int32_t v) {
  frame_begin(&out);
  buf_put32(&out, (uint32_t)v);
  send_out(type | T_REPLY, proc, seq);
}

/* Appends what read() returns; 0 at EOF, -errno on error, else the byte count. */
static ssize_t rbuf_fill(struct rbuf *b, int fd) {
  if (b->cap - b->len < 65536) {
    size_t cap = b->cap ? b->cap * 2 : 262144;
    while (cap - b->len < 65536) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) die("out of memory (%zu bytes)", cap);
    b->p = p;
    b->cap = cap;
  }
  ssize_t r = read(fd, b->p + b->len, b->cap - b->len);
  if (r < 0) return errno == EINTR || errno == EAGAIN ? 1 : -errno;
  b->len += (size_t)r;
  return r;
}

/* Length of the first whole frame in b, 0 if incomplete; -1 on a corrupt length. */
static long rbuf_frame(const struct rbuf *b) {
  if (b->len < HDR_SIZE) return 0;
  uint32_t n = get32(b->p);
  if (n < HDR_SIZE || n > FRAME_MAX) return -1;
  return b->len >= n ? (long)n : 0;
}

static void rbuf_consume(struct rbuf *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static struct child *find(uint32_t id) {
  for (size_t i = 0; i < nkids; i++)
    if (kids[i].id == id) return &kids[i];
  return NULL;
}

/* Forgets child i (already reaped or about to be). */
static void drop(size_t i) {
  close(kids[i].fd);
  free(kids[i].in.p);
  kids[i] = kids[--nkids];
}

static void report_exit(uint32_t id, pid_t pid, int status) {
  frame_begin(&out);
  buf_put32(&out, (uint32_t)status);
  buf_put32(&out, (uint32_t)pid);
  send_out(T_EXITED, id, 0);
}

static void kill_all(void) {
  for (size_t i = 0; i < nkids; i++) kill(kids[i].pid, SIGKILL);
  while (nkids > 0) {
    int st;
    while (waitpid(kids[0].pid, &st, 0) < 0 && errno == EINTR) {
    }
    drop(0);
  }
}

/* SPAWN: fork + exec an executor for one process; the reply is its real pid or -errno. */
static void spawn(uint32_t id, uint32_t seq, const uint8_t *p, size_t n) {
  if (n < 8 || find(id)) {
    reply_i32(T_SPAWN, id, seq, -EINVAL);
    return;
  }
  uint32_t flags = get32(p);
  uint32_t nofile = get32(p + 4);
  char name[64];
  size_t nl = n - 8 < sizeof name - 1 ? n - 8 : sizeof name - 1;
  memcpy(name, p + 8, nl);
  name[nl] = 0;
  const char *exe = (flags & SPAWN_COMPAT) ? opts->exe32 : opts->exe64;
  int sv[2];
  int ep[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    reply_i32(T_SPAWN, id, seq, -errno);
    return;
  }
  if (pipe2(ep, O_CLOEXEC) < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    reply_i32(T_SPAWN, id, seq, -e);
    return;
  }
  char sid[16], sflags[16], snofile[16], sparent[16];
  snprintf(sid, sizeof sid, "%u", id);
  snprintf(sflags, sizeof sflags, "%u", flags);
  snprintf(snofile, sizeof snofile, "%u", nofile);
  snprintf(sparent, sizeof sparent, "%d", (int)getpid());
  char *argv[] = {(char *)exe, "--child", "3",      "--proc",  sid,     "--flags", sflags, "--nofile",
                  snofile,     "--name",  name,     "--parent", sparent, NULL};
  char *envp[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", NULL};
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (sv[1] == 3)
      fcntl(3, F_SETFD, 0);
    else if (dup2(sv[1], 3) < 0)
      _exit(127);
    execve(exe, argv, envp);
    int e = errno;
    if (write(ep[1], &e, sizeof e) < 0) _exit(127);
    _exit(127);
  }
  int e = errno;
  close(sv[1]);
  close(ep[1]);
  if (pid < 0) {
    close(sv[0]);
    close(ep[0]);
    reply_i32(T_SPAWN, id, seq, -e);
    return;
  }
  int err = 0;
  ssize_t r;
  while ((r = read(ep[0], &err, sizeof err)) < 0 && errno == EINTR) {
  }
  close(ep[0]);
  if (r == (ssize_t)sizeof err) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close(sv[0]);
    reply_i32(T_SPAWN, id, seq, -err);
    return;
  }
  if (nkids == capkids) {
    capkids = capkids ? capkids * 2 : 16;
    kids = realloc(kids, capkids * sizeof *kids);
    if (!kids) die("out of memory (children)");
  }
  kids[nkids++] = (struct child){id, pid, sv[0], {NULL, 0, 0}};
  reply_i32(T_SPAWN, id, seq, pid);
}

static void insmod(uint32_t seq, const uint8_t *p, size_t n) {
  /* path\0params\0 */
  const char *path = (const char *)p;
  size_t pl = strnlen(path, n);
  if (pl + 1 >= n) {
    reply_i32(T_INSMOD, 0, seq, -EINVAL);
    return;
  }
  const char *params = path + pl + 1;
  if (strnlen(params, n - pl - 1) == n - pl - 1) {
    reply_i32(T_INSMOD, 0, seq, -EINVAL);
    return;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    reply_i32(T_INSMOD, 0, seq, -errno);
    return;
  }
  long r = syscall(SYS_finit_module, (long)fd, (long)params, 0L);
  int e = errno;
  close(fd);
  reply_i32(T_INSMOD, 0, seq, r < 0 ? -e : 0);
}

/* Writes 0 to the enable file of every buffer of every IIO device in sysfs: an enabled triggered buffer holds a
 * reference on its driver module. */
static void disable_iio_buffers(void) {
  const char *root = "/sys/bus/iio/devices";
  DIR *d = opendir(root);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "iio:device", 10) != 0) continue;
    char dev[300];
    snprintf(dev, sizeof dev, "%s/%s", root, e->d_name);
    DIR *b = opendir(dev);
    if (!b) continue;
    struct dirent *f;
    while ((f = readdir(b))) {
      if (strncmp(f->d_name, "buffer", 6) != 0) continue;
      char path[700];
      snprintf(path, sizeof path, "%s/%s/enable", dev, f->d_name);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0) continue;
      if (write(fd, "0", 1) < 0 && opts->verbose) fprintf(stderr, "executor: %s: %s\n", path, strerror(errno));
      close(fd);
    }
    closedir(b);
  }
  closedir(d);
}

static void rmmod(uint32_t seq, const uint8_t *p, size_t n) {
  /* u32 flags, u32 wait_ms, name\0 */
  if (n < 9 || p[n - 1] != 0) {
    reply_i32(T_RMMOD, 0, seq, -EINVAL);
    return;
  }
  uint32_t flags = get32(p);
  uint32_t wait_ms = get32(p + 4);
  const char *name = (const char *)p + 8;
  int quiesce = (flags & RMMOD_DISABLE_IIO_BUFFERS) != 0;
  flags &= ~RMMOD_DISABLE_IIO_BUFFERS;
  long waited = 0;
  int ret;
  for (;;) {
    long r = syscall(SYS_delete_module, (long)name, (long)flags);
    ret = r < 0 ? -errno : 0;
    if ((ret == -EBUSY || ret == -EAGAIN) && quiesce) {
      disable_iio_buffers();
      quiesce = 0;
      continue;
    }
    if ((ret != -EBUSY && ret != -EAGAIN && ret != -EWOULDBLOCK) || waited >= (long)wait_ms) break;
    sleep_ms(20);
    waited += 20;
  }
  reply_i32(T_RMMOD, 0, seq, ret);
}

static void dmesg(uint32_t seq) {
  long size = syscall(SYS_syslog, 10L, 0L, 0L);
  if (size <= 0) size = 1 << 17;
  frame_begin(&out);
  char *p = (char *)buf_reserve(&out, (size_t)size);
  long r = syscall(SYS_syslog, 3L, (long)p, size);
  if (r > 0) out.len += (size_t)r;
  send_out(T_DMESG | T_REPLY, 0, seq);
}

static void hello(uint32_t seq) {
  struct utsname u;
  uname(&u);
  frame_begin(&out);
  buf_put32(&out, PROTO_VERSION);
  buf_put32(&out, (access(opts->exe32, X_OK) == 0 ? FEAT_EXECUTOR32 : 0) | FEAT_RUN);
  buf_put32(&out, (uint32_t)getpid());
  buf_put(&out, u.release, strlen(u.release) + 1);
  buf_put(&out, u.machine, strlen(u.machine) + 1);
  send_out(T_HELLO | T_REPLY, 0, seq);
}

static void port_frame(const uint8_t *f, size_t len) {
  uint16_t type = get16(f + 4);
  uint32_t proc = get32(f + 8);
  uint32_t seq = get32(f + 12);
  const uint8_t *p = f + HDR_SIZE;
  size_t n = len - HDR_SIZE;
  switch (type) {
  case T_HELLO:
    hello(seq);
    return;
  case T_PING:
    frame_begin(&out);
    buf_put(&out, p, n);
    send_out(T_PING | T_REPLY, proc, seq);
    return;
  case T_RESET: {
    uint32_t count = (uint32_t)nkids;
    kill_all();
    reply_i32(T_RESET, 0, seq, (int32_t)count);
    return;
  }
  case T_INSMOD:
    insmod(seq, p, n);
    return;
  case T_RMMOD:
    rmmod(seq, p, n);
    return;
  case T_SPAWN:
    spawn(proc, seq, p, n);
    return;
  case T_KILL: {
    struct child *c = find(proc);
    int sig = n >= 4 ? (int)get32(p) : SIGKILL;
    reply_i32(T_KILL, proc, seq, !c ? -ESRCH : kill(c->pid, sig) < 0 ? -errno : 0);
    return;
  }
  case T_DMESG:
    dmesg(seq);
    return;
  case T_PUT:
    reply_i32(T_PUT, 0, seq, host_put(p, n));
    return;
  case T_RUN:
    host_run(&out, p, n);
    send_out(T_RUN | T_REPLY, 0, seq);
    return;
  case T_CALL:
  case T_EXIT: {
    struct child *c = find(proc);
    /* A process that is gone: its EXITED frame tells the host. */
    if (c && write_all(c->fd, f, len) < 0 && opts->verbose) fprintf(stderr, "executor: write to %u failed\n", proc);
    return;
  }
  default:
    logmsg("unknown frame type 0x%x from the host", type);
  }
}

/* Reads what a child sent; forwards its whole frames; reaps it at EOF. Returns 0 if it is gone. */
static int child_input(size_t i) {
  struct child *c = &kids[i];
  ssize_t r = rbuf_fill(&c->in, c->fd);
  long n;
  while ((n = rbuf_frame(&c->in)) > 0) {
    if (write_all(port, c->in.p, (size_t)n) < 0 && opts->verbose) fprintf(stderr, "executor: port write failed\n");
    rbuf_consume(&c->in, (size_t)n);
  }
  if (n < 0) {
    logmsg("process %u sent a corrupt frame; killing it", c->id);
    kill(c->pid, SIGKILL);
    r = 0;
  }
  if (r > 0) return 1;
  int st = 0;
  while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {
  }
  report_exit(c->id, c->pid, st);
  drop(i);
  return 0;
}

/* Returns 0 when the host went away. */
static int port_input(void) {
  ssize_t r = rbuf_fill(&port_in, port);
  long n;
  while ((n = rbuf_frame(&port_in)) > 0) {
    port_frame(port_in.p, (size_t)n);
    rbuf_consume(&port_in, (size_t)n);
  }
  if (n < 0) {
    logmsg("corrupt frame from the host (length %u); dropping the input", get32(port_in.p));
    port_in.len = 0;
  }
  return r != 0;
}

static int open_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    close(fd);
    return -1;
  }
  strcpy(sa.sun_path, path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* /dev/vportXpY of the virtio-serial port called name. */
static int find_port(const char *name, char *dev, size_t devlen) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  struct dirent *e;
  int found = -1;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[512];
    char got[256] = {0};
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(got, sizeof got, f)) got[strcspn(got, "\n")] = 0;
    fclose(f);
    if (strcmp(got, name) == 0) {
      snprintf(dev, devlen, "/dev/%s", e->d_name);
      found = 0;
      break;
    }
  }
  closedir(d);
  return found;
}

static void open_port(void) {
  if (opts->fd >= 0) {
    port = opts->fd;
    fcntl(port, F_SETFD, FD_CLOEXEC);
    struct stat st;
    port_is_dev = fstat(port, &st) == 0 && S_ISCHR(st.st_mode);
    return;
  }
  char dev[300];
  const char *path = opts->port;
  if (!path) {
    for (int i = 0; find_port(opts->port_name, dev, sizeof dev) < 0; i++) {
      if (i == 500) die("no virtio port named %s", opts->port_name);
      sleep_ms(10);
    }
    path = dev;
  }
  struct stat st;
  if (stat(path, &st) < 0) die("port %s: %s", path, strerror(errno));
  if (S_ISSOCK(st.st_mode)) {
    port = open_unix(path);
  } else {
    port = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    port_is_dev = 1;
  }
  if (port < 0) die("port %s: %s", path, strerror(errno));
}

int supervisor_main(const struct sup_opts *o) {
  opts = o;
  signal(SIGPIPE, SIG_IGN);
  open_port();
  struct pollfd *pfd = NULL;
  size_t cappfd = 0;
  for (;;) {
    if (cappfd < nkids + 1) {
      cappfd = nkids + 16;
      pfd = realloc(pfd, cappfd * sizeof *pfd);
      if (!pfd) die("out of memory (pollfds)");
    }
    pfd[0] = (struct pollfd){port, POLLIN, 0};
    for (size_t i = 0; i < nkids; i++) pfd[i + 1] = (struct pollfd){kids[i].fd, POLLIN, 0};
    size_t np = nkids + 1;
    if (poll(pfd, np, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    /* Children first: their frames were sent before anything the host says next about them. */
    for (size_t i = np - 1; i >= 1; i--) {
      if (!pfd[i].revents) continue;
      size_t k = i - 1;
      if (k < nkids && kids[k].fd == pfd[i].fd) child_input(k);
    }
    if (pfd[0].revents & POLLIN) {
      if (!port_input()) {
        if (!port_is_dev) {
          kill_all();
          return 0;
        }
        /* virtio port without a host connection: the session is over; wait for the next one. */
        kill_all();
        port_in.len = 0;
        sleep_ms(20);
      }
    } else if (pfd[0].revents & (POLLHUP | POLLERR)) {
      if (!port_is_dev) {
        kill_all();
        return 0;
      }
      if (nkids) kill_all();
      port_in.len = 0;
      sleep_ms(20);
    }
  }
}
