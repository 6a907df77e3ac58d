/*
 * iio-sim exec: the LD_PRELOAD side of the bridge between a real Linux program and the simulator.
 *
 * Calls that touch the simulated world (/dev/iio:deviceN, /dev/dma_heap, /dev/udmabuf, /sys/bus/iio and
 * every fd the simulator handed out) travel over a stream socket (its fd in IIO_SIM_BRIDGE_FD) to the Node
 * side, which runs them as syscalls of a simulated process. Everything else goes to the real kernel.
 *
 * A simulated fd is backed by a real placeholder fd (/dev/null) so numbers stay unique among real fds; the
 * Node side maps placeholder numbers to simulated fds. mmap of a simulated fd maps a real memfd the Node side
 * opens through /proc/PID/fd and copies to and from at the coherence points (docs/exec.md).
 *
 * Wire format (little-endian, host order): request {u32 len, u32 op, i64 a[6]} + data; answer
 * {u32 len, u32 kind, i64 ret, i64 aux} + data, where len counts the bytes after itself.
 *
 * C11 + glibc (fopencookie, dlsym RTLD_NEXT). Built by `iio-sim exec` on first use, for LP64 and, with
 * `cc -m32`, for i386 (ILP32): there calls with a 64-bit offset (pread64, lseek64, mmap64, ftruncate64) and the
 * stat and dirent families come in a 32-bit and an LFS flavour, and the kernel's syscalls differ (mmap2,
 * _llseek, fstatat64, fcntl64, offsets split in two registers). The wire format is the same for both.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
  OP_OPEN = 1, OP_CLOSE, OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_LSEEK, OP_IOCTL, OP_MMAP, OP_MUNMAP,
  OP_POLL, OP_FCNTL, OP_DUP, OP_DUP3, OP_STAT, OP_ACCESS, OP_GETDENTS, OP_MEMFD_CREATE, OP_FTRUNCATE,
  OP_RESERVED, OP_UNSUPPORTED, OP_FORK, OP_HELLO, OP_FORKED, OP_EXEC_PREPARE, OP_EXEC, OP_WAIT,
};
enum { KIND_RET = 0, KIND_RESERVE = 1, KIND_UNSUPPORTED = 2 };

struct req { uint32_t len; uint32_t op; int64_t a[6]; };
struct rep { uint32_t len; uint32_t kind; int64_t ret; int64_t aux; };
/* i386 aligns int64_t to 4 in a struct: the layouts still match the Node side's because no field needs padding. */
_Static_assert(sizeof(struct req) == 56 && sizeof(struct rep) == 24, "the wire format is fixed");

#if UINTPTR_MAX == 0xffffffffu
#define BRIDGE_ILP32 1
#else
#define BRIDGE_ILP32 0
#endif
/* fcntl64 takes the 32-bit and the LFS lock commands alike; ILP32's plain fcntl refuses the LFS ones. */
#ifdef SYS_fcntl64
#define SYS_FCNTL SYS_fcntl64
#else
#define SYS_FCNTL SYS_fcntl
#endif

#define MAX_FD 65536
#define MAX_MAPS 256
#define MAX_DIRS 64

static int bridge_fd = -1;
/* 1: connected; 0: not started under iio-sim exec; -1: started, but this process cannot reach it (a child not
 * made by fork() below: posix_spawn, system, popen, a raw clone). */
static int bridge_state;
static unsigned char sim_fd[MAX_FD];
static pthread_mutex_t bridge_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uintptr_t addr; size_t len; } maps[MAX_MAPS];

static long raw_close(int fd) { return syscall(SYS_close, fd); }

static int is_sim(int fd) { return fd >= 0 && fd < MAX_FD && sim_fd[fd]; }

static void fail_msg(const char *what) {
  char line[512];
  int n = snprintf(line, sizeof line, "iio-sim bridge: %s\n", what);
  if (n > 0) syscall(SYS_write, 2, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
}

static int full_write(const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    long w = syscall(SYS_write, bridge_fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int full_read(void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    long r = syscall(SYS_read, bridge_fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static void lost_bridge(void) {
  fail_msg("the simulator went away; exiting");
  _exit(125);
}

/*
 * One call: sends the request, serves the Node side's sub-requests (placeholder fds), and returns the
 * answer's ret (>= 0 or -errno). `out` receives up to `outcap` bytes of the answer's data.
 */
static int64_t bridge_call(uint32_t op, const int64_t a[6], const void *data, size_t dlen, void *out,
                           size_t outcap, int64_t *aux) {
  struct req rq = { .len = (uint32_t)(sizeof rq - 4 + dlen), .op = op };
  memcpy(rq.a, a, sizeof rq.a);
  if (full_write(&rq, sizeof rq) || (dlen && full_write(data, dlen))) lost_bridge();
  for (;;) {
    struct rep rp;
    if (full_read(&rp, sizeof rp)) lost_bridge();
    size_t n = rp.len - (sizeof rp - 4);
    if (rp.kind == KIND_RESERVE) {
      int ph = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
      if (ph >= 0 && ph < MAX_FD) sim_fd[ph] = 1;
      struct req ans = { .len = sizeof ans - 4, .op = OP_RESERVED, .a = { ph < 0 ? -errno : ph } };
      if (full_write(&ans, sizeof ans)) lost_bridge();
      continue;
    }
    char *buf = NULL;
    if (n) {
      buf = malloc(n + 1);
      if (!buf || full_read(buf, n)) lost_bridge();
      buf[n] = 0;
    }
    if (rp.kind == KIND_UNSUPPORTED) {
      fail_msg(buf ? buf : "unsupported call");
      free(buf);
      return -ENOSYS;
    }
    if (out && buf) memcpy(out, buf, n < outcap ? n : outcap);
    if (aux) *aux = rp.aux;
    free(buf);
    return rp.ret;
  }
}

static int64_t call_locked(uint32_t op, const int64_t a[6], const void *data, size_t dlen, void *out,
                           size_t outcap, int64_t *aux) {
  if (bridge_state != 1) {
    fail_msg("a call on a simulated fd in a process not connected to the simulator (a child started by "
             "posix_spawn, system, popen or a raw clone is not bridged)");
    return -ENOSYS;
  }
  pthread_mutex_lock(&bridge_lock);
  int64_t r = bridge_call(op, a, data, dlen, out, outcap, aux);
  pthread_mutex_unlock(&bridge_lock);
  return r;
}

/* Converts a raw result into the libc convention. */
static long ret_errno(int64_t r) {
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  return (long)r;
}

/* A call on the simulated world that this process cannot make (no bridge): a message, then ENOSYS. */
static long unbridged(const char *call, const char *what) {
  char m[400];
  snprintf(m, sizeof m, "%s(%s): this process is not connected to the simulator (a child started by "
           "posix_spawn, system, popen or a raw clone is not bridged)", call, what);
  fail_msg(m);
  errno = ENOSYS;
  return -1;
}

/* Where a forked child connects (IIO_SIM_BRIDGE_PATH, '@' for the abstract namespace) and our LD_PRELOAD. */
static char bridge_path[108];
static char *preload_env;
/* Children this process forked while connected: its wait calls go through the simulator first. */
static int bridged_children;

static void exec_reconnected(void);

__attribute__((constructor)) static void bridge_init(void) {
  const char *e = getenv("IIO_SIM_BRIDGE_FD");
  if (!e) return;
  const char *path = getenv("IIO_SIM_BRIDGE_PATH");
  if (path) snprintf(bridge_path, sizeof bridge_path, "%s", path);
  const char *pre = getenv("LD_PRELOAD");
  if (pre) preload_env = strdup(pre);
  int fd = atoi(e);
  if (strcmp(e, "none") == 0 || fd <= 2 || syscall(SYS_fcntl, fd, F_GETFD) < 0) {
    bridge_state = -1;
    return;
  }
  /* Out of the program's way: it gets the fd numbers it would get without the bridge. */
  long hi = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 1000);
  if (hi >= 0) {
    raw_close(fd);
    fd = (int)hi;
  }
  bridge_fd = fd;
  bridge_state = 1;
  setenv("IIO_SIM_BRIDGE_FD", "none", 1);
  if (getenv("IIO_SIM_BRIDGE_EXEC")) {
    unsetenv("IIO_SIM_BRIDGE_EXEC");
    exec_reconnected();
  }
}

/* Paths of the simulated world. */
static int sim_path(const char *p) {
  if (!p || p[0] != '/' || bridge_state == 0) return 0;
  static const char *const prefixes[] = { "/sys/bus/iio", "/dev/dma_heap", "/dev/udmabuf" };
  if (strncmp(p, "/dev/iio:", 9) == 0) return 1;
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
    size_t n = strlen(prefixes[i]);
    if (strncmp(p, prefixes[i], n) == 0 && (p[n] == 0 || p[n] == '/')) return 1;
  }
  return 0;
}

static void *next_fn(const char *name) { return dlsym(RTLD_NEXT, name); }
#define REAL(ret, name, ...) \
  static ret (*real_fn)(__VA_ARGS__); \
  if (!real_fn) real_fn = (ret(*)(__VA_ARGS__))next_fn(name)

/* ---------------------------------------------------------------------------------------------- open */

static int sim_open(const char *path, int flags, mode_t mode) {
  if (bridge_state < 0) return (int)unbridged("open", path);
  int64_t a[6] = { flags, mode };
  return (int)ret_errno(call_locked(OP_OPEN, a, path, strlen(path), NULL, 0, NULL));
}

static int mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_arg(flags, ap);
  va_end(ap);
  if (sim_path(path)) return sim_open(path, flags, (mode_t)mode);
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_arg(flags, ap);
  va_end(ap);
  return open(path, flags | O_LARGEFILE, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_arg(flags, ap);
  va_end(ap);
  if (sim_path(path)) return sim_open(path, flags, (mode_t)mode);
  if (is_sim(dirfd)) {
    errno = ENOTSUP;
    fail_msg("openat() relative to a simulated directory fd is not bridged");
    return -1;
  }
  return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_arg(flags, ap);
  va_end(ap);
  return openat(dirfd, path, flags | O_LARGEFILE, mode);
}
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open(path, flags | O_LARGEFILE); }
int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags | O_LARGEFILE); }
int creat(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode); }

int close(int fd) {
  if (is_sim(fd)) {
    int64_t a[6] = { fd };
    int64_t r = call_locked(OP_CLOSE, a, NULL, 0, NULL, 0, NULL);
    sim_fd[fd] = 0;
    raw_close(fd);
    return (int)ret_errno(r);
  }
  return (int)syscall(SYS_close, fd);
}

/* ------------------------------------------------------------------------------------------ read/write */

/* Largest single transfer; read() and write() may return less, as the kernel's may. */
#define MAX_IO (4u << 20)

static ssize_t sim_rw(uint32_t op, int fd, void *buf, size_t n, int64_t off) {
  if (n > MAX_IO) n = MAX_IO;
  int64_t a[6] = { fd, (int64_t)n, off };
  if (op == OP_READ || op == OP_PREAD) return ret_errno(call_locked(op, a, NULL, 0, buf, n, NULL));
  return ret_errno(call_locked(op, a, buf, n, NULL, 0, NULL));
}

ssize_t read(int fd, void *buf, size_t n) {
  if (is_sim(fd)) return sim_rw(OP_READ, fd, buf, n, 0);
  return syscall(SYS_read, fd, buf, n);
}
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (n > buflen) abort();
  return read(fd, buf, n);
}
ssize_t write(int fd, const void *buf, size_t n) {
  if (is_sim(fd)) return sim_rw(OP_WRITE, fd, (void *)buf, n, 0);
  return syscall(SYS_write, fd, buf, n);
}
/* ILP32 passes a 64-bit offset in two registers, low half first (i386's pread64, pwrite64, ftruncate64). */
#if BRIDGE_ILP32
#define OFF64_ARG(off) (unsigned long)(uint32_t)(off), (unsigned long)((uint64_t)(off) >> 32)
#else
#define OFF64_ARG(off) (off)
#endif

ssize_t pread64(int fd, void *buf, size_t n, off64_t off) {
  if (is_sim(fd)) return sim_rw(OP_PREAD, fd, buf, n, off);
  return syscall(SYS_pread64, fd, buf, n, OFF64_ARG(off));
}
ssize_t pread(int fd, void *buf, size_t n, off_t off) { return pread64(fd, buf, n, off); }
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen) {
  if (n > buflen) abort();
  return pread64(fd, buf, n, off);
}
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen) {
  return __pread64_chk(fd, buf, n, off, buflen);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
  if (is_sim(fd)) return sim_rw(OP_PWRITE, fd, (void *)buf, n, off);
  return syscall(SYS_pwrite64, fd, buf, n, OFF64_ARG(off));
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return pwrite64(fd, buf, n, off); }

off64_t lseek64(int fd, off64_t off, int whence) {
  if (is_sim(fd)) {
    int64_t a[6] = { fd, off, whence };
    return (off64_t)ret_errno(call_locked(OP_LSEEK, a, NULL, 0, NULL, 0, NULL));
  }
#ifdef SYS__llseek
  int64_t res;
  if (syscall(SYS__llseek, fd, (unsigned long)((uint64_t)off >> 32), (unsigned long)(uint32_t)off, &res, whence) < 0)
    return -1;
  return res;
#else
  return (off64_t)syscall(SYS_lseek, fd, off, whence);
#endif
}
/* An ILP32 lseek whose result does not fit off_t fails with EOVERFLOW, as glibc's does. */
off_t lseek(int fd, off_t off, int whence) {
  off64_t r = lseek64(fd, off, whence);
  if (r != (off_t)r) {
    errno = EOVERFLOW;
    return -1;
  }
  return (off_t)r;
}

/* ----------------------------------------------------------------------------------------------- ioctl */

enum { ARG_UNREADABLE = 1, ARG_UNWRITABLE = 2 };
/* UDMABUF_CREATE_LIST: _IOW('u', 0x43, struct udmabuf_create_list), an 8-byte header. */
#define UDMABUF_CREATE_LIST_REQ _IOW('u', 0x43, uint64_t)

/*
 * Copies an ioctl's argument in through the kernel (process_vm_readv on ourselves) and checks that the kernel
 * could write it back, so that an argument in a page the program made read-only (or never mapped) gives
 * EFAULT in the simulated kernel, as copy_to_user() and copy_from_user() do, instead of a crash here.
 * Returns ARG_* bits; without process_vm_readv (seccomp, an old kernel) it falls back to memcpy.
 */
static int probe_arg(void *arg, unsigned char *buf, size_t size, unsigned dir) {
  struct iovec local = { buf, size }, remote = { arg, size };
  pid_t self = getpid();
  long n = syscall(SYS_process_vm_readv, self, &local, 1, &remote, 1, 0);
  if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
    if (dir & _IOC_WRITE) memcpy(buf, arg, size);
    return 0;
  }
  if (n != (long)size) {
    memset(buf, 0, size);
    return ARG_UNREADABLE | ARG_UNWRITABLE;
  }
  int access = 0;
  /* Writing the bytes just read back changes nothing (the program is inside this call). */
  if (dir & _IOC_READ) {
    n = syscall(SYS_process_vm_writev, self, &local, 1, &remote, 1, 0);
    if (n != (long)size && !(n < 0 && (errno == ENOSYS || errno == EPERM))) access = ARG_UNWRITABLE;
  }
  if (!(dir & _IOC_WRITE)) memset(buf, 0, size);
  return access;
}

int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (!is_sim(fd)) return (int)syscall(SYS_ioctl, fd, req, arg);
  size_t size = _IOC_SIZE(req);
  unsigned dir = _IOC_DIR(req);
  /* The generic requests predate the _IOC encoding. */
  if (req == FIONBIO || req == FIOASYNC) size = sizeof(int), dir = _IOC_WRITE;
  else if (req == FIONREAD) size = sizeof(int), dir = _IOC_READ;
  else if (req == FIOQSIZE) size = sizeof(loff_t), dir = _IOC_READ;
  else if (req == FIOCLEX || req == FIONCLEX) size = 0, dir = _IOC_NONE;
  if (dir == _IOC_NONE) size = 0;
  unsigned char stackbuf[256];
  if (req == UDMABUF_CREATE_LIST_REQ) {
    /* struct udmabuf_create_list {u32 flags; u32 count; items[count] of 24 bytes}: the items follow the
     * 8 bytes _IOC_SIZE counts. Beyond the kernel's list_limit only the header goes (it refuses it). */
    uint32_t head[2];
    if (probe_arg(arg, (unsigned char *)head, sizeof head, _IOC_WRITE) == 0 && head[1] <= 1024)
      size = sizeof head + (size_t)head[1] * 24;
  }
  unsigned char *buf = size <= sizeof stackbuf ? stackbuf : malloc(size);
  if (!buf) {
    errno = ENOMEM;
    return -1;
  }
  int access = size ? probe_arg(arg, buf, size, dir) : 0;
  int64_t a[6] = { fd, (int64_t)req, (int64_t)(intptr_t)arg, (int64_t)size, dir, access };
  int64_t r = call_locked(OP_IOCTL, a, buf, size, buf, size, NULL);
  if (size && (dir & _IOC_READ) && !(access & ARG_UNWRITABLE) && r != -ENOSYS) memcpy(arg, buf, size);
  if (buf != stackbuf) free(buf);
  return (int)ret_errno(r);
}

/* ------------------------------------------------------------------------------------------------ mmap */

/* The kernel's mmap; ILP32 has mmap2, whose offset counts 4096-byte units. */
static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
#ifdef SYS_mmap2
  if (off & 4095) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  return (void *)syscall(SYS_mmap2, addr, len, prot, flags, fd, (unsigned long)((uint64_t)off >> 12));
#else
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
#endif
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
  if ((flags & MAP_ANONYMOUS) || !is_sim(fd)) return raw_mmap(addr, len, prot, flags, fd, off);
  int mfd = (int)syscall(SYS_memfd_create, "iio-sim-mapping", MFD_CLOEXEC);
  if (mfd < 0) return MAP_FAILED;
  if (syscall(SYS_ftruncate, mfd, (off_t)len) < 0) {
    raw_close(mfd);
    return MAP_FAILED;
  }
  /* Shared even for MAP_PRIVATE: the Node side must see the program's stores through the memfd. */
  int rflags = (flags & ~0x0f) | MAP_SHARED;
  void *p = raw_mmap(addr, len, prot | PROT_READ, rflags, mfd, 0);
  if (p == MAP_FAILED) {
    raw_close(mfd);
    return MAP_FAILED;
  }
  char path[64];
  int pn = snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getpid(), mfd);
  int64_t a[6] = { (int64_t)len, prot, flags, fd, off, (int64_t)(uintptr_t)p };
  enum { MAX_ALIASES = 512 };
  uint64_t *alias = malloc(MAX_ALIASES * 3 * sizeof *alias);
  int64_t naliases = 0;
  int64_t r = alias ? call_locked(OP_MMAP, a, path, (size_t)pn, alias, MAX_ALIASES * 3 * sizeof *alias, &naliases)
                    : -ENOMEM;
  raw_close(mfd);
  if (r < 0) {
    free(alias);
    syscall(SYS_munmap, p, len);
    errno = (int)-r;
    return MAP_FAILED;
  }
  /* Pages an older mapping shows too (a udmabuf and its memfd): second mappings of the same real pages. */
  if (naliases > MAX_ALIASES) fail_msg("mmap: too many pieces shared with older mappings; some are copies");
  for (int64_t i = 0; i < naliases && i < MAX_ALIASES; i++) {
    void *src = (void *)(uintptr_t)alias[i * 3], *dst = (char *)p + alias[i * 3 + 2];
    if ((void *)syscall(SYS_mremap, src, 0, (size_t)alias[i * 3 + 1], MREMAP_MAYMOVE | MREMAP_FIXED, dst) != dst)
      fail_msg("mmap: cannot share pages with an older mapping (mremap); they are copies");
  }
  free(alias);
  pthread_mutex_lock(&bridge_lock);
  for (int i = 0; i < MAX_MAPS; i++)
    if (!maps[i].addr) {
      maps[i].addr = (uintptr_t)p;
      maps[i].len = len;
      break;
    }
  pthread_mutex_unlock(&bridge_lock);
  return p;
}
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap64(addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len) {
  int found = -1;
  pthread_mutex_lock(&bridge_lock);
  for (int i = 0; i < MAX_MAPS; i++)
    if (maps[i].addr && (uintptr_t)addr < maps[i].addr + maps[i].len && maps[i].addr < (uintptr_t)addr + len)
      found = i;
  if (found >= 0) {
    int64_t a[6] = { (int64_t)(uintptr_t)addr, (int64_t)len };
    int64_t r = bridge_call(OP_MUNMAP, a, NULL, 0, NULL, 0, NULL);
    if (r < 0) {
      pthread_mutex_unlock(&bridge_lock);
      return (int)ret_errno(r);
    }
    maps[found].addr = 0;
  }
  pthread_mutex_unlock(&bridge_lock);
  return (int)syscall(SYS_munmap, addr, len);
}

/* ------------------------------------------------------------------------------------------------ poll */

static int real_poll(struct pollfd *fds, nfds_t n, int timeout) {
  struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000L };
  return (int)syscall(SYS_ppoll, fds, n, timeout < 0 ? NULL : &ts, NULL, (size_t)8);
}

/*
 * Simulated entries go to the simulator, real ones to the kernel. A mix is polled without blocking on the
 * real side first; if nothing is ready there, the simulator sleeps (in simulated time) for the whole timeout,
 * then the real side is checked again: a real fd that becomes ready only while the simulator sleeps is seen
 * when it wakes (lockstep: real time does not run the simulation).
 */
int poll(struct pollfd *fds, nfds_t n, int timeout) {
  nfds_t nsim = 0;
  for (nfds_t i = 0; i < n; i++) nsim += is_sim(fds[i].fd);
  if (nsim == 0) return real_poll(fds, n, timeout);
  struct pollfd *sim = calloc(nsim, sizeof *sim), *real = calloc(n - nsim + 1, sizeof *real);
  if (!sim || !real) {
    free(sim);
    free(real);
    errno = ENOMEM;
    return -1;
  }
  nfds_t s = 0, r = 0;
  for (nfds_t i = 0; i < n; i++) {
    if (is_sim(fds[i].fd)) sim[s++] = fds[i];
    else real[r++] = fds[i];
  }
  int rready = 0;
  if (r) {
    rready = real_poll(real, r, 0);
    if (rready < 0) goto fail;
  }
  int64_t a[6] = { (int64_t)s, rready > 0 ? 0 : timeout };
  int64_t sret = call_locked(OP_POLL, a, sim, s * sizeof *sim, sim, s * sizeof *sim, NULL);
  if (sret < 0) {
    errno = (int)-sret;
    goto fail;
  }
  if (r && rready == 0 && timeout != 0) {
    rready = real_poll(real, r, 0);
    if (rready < 0) goto fail;
  }
  s = r = 0;
  for (nfds_t i = 0; i < n; i++) fds[i].revents = is_sim(fds[i].fd) ? sim[s++].revents : real[r++].revents;
  free(sim);
  free(real);
  return (int)sret + rready;
fail:
  free(sim);
  free(real);
  return -1;
}
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
  if (fdslen / sizeof *fds < n) abort();
  return poll(fds, n, timeout);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
  nfds_t nsim = 0;
  for (nfds_t i = 0; i < n; i++) nsim += is_sim(fds[i].fd);
  if (nsim == 0) return (int)syscall(SYS_ppoll, fds, n, ts, mask, (size_t)8);
  int timeout = ts ? (int)(ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000) : -1;
  return poll(fds, n, timeout);
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv) {
  int any = 0;
  for (int fd = 0; fd < nfds && !any; fd++)
    any = is_sim(fd) && ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex)));
  if (!any) {
    REAL(int, "select", int, fd_set *, fd_set *, fd_set *, struct timeval *);
    return real_fn(nfds, rd, wr, ex, tv);
  }
  struct pollfd *p = calloc((size_t)nfds, sizeof *p);
  if (!p) {
    errno = ENOMEM;
    return -1;
  }
  nfds_t n = 0;
  for (int fd = 0; fd < nfds; fd++) {
    short ev = (short)(((rd && FD_ISSET(fd, rd)) ? POLLIN : 0) | ((wr && FD_ISSET(fd, wr)) ? POLLOUT : 0) |
                       ((ex && FD_ISSET(fd, ex)) ? POLLPRI : 0));
    if (ev) p[n++] = (struct pollfd){ .fd = fd, .events = ev };
  }
  int timeout = tv ? (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000) : -1;
  int ret = poll(p, n, timeout);
  if (ret < 0) {
    free(p);
    return -1;
  }
  if (rd) FD_ZERO(rd);
  if (wr) FD_ZERO(wr);
  if (ex) FD_ZERO(ex);
  int count = 0;
  for (nfds_t i = 0; i < n; i++) {
    short re = p[i].revents;
    if (rd && (re & (POLLIN | POLLHUP | POLLERR))) FD_SET(p[i].fd, rd), count++;
    if (wr && (re & (POLLOUT | POLLERR))) FD_SET(p[i].fd, wr), count++;
    if (ex && (re & POLLPRI)) FD_SET(p[i].fd, ex), count++;
  }
  free(p);
  return count;
}

/* ------------------------------------------------------------------------------------- fcntl and dup */

static int sim_newfd(uint32_t op, int64_t a0, int64_t a1, int64_t a2) {
  int64_t a[6] = { a0, a1, a2 };
  return (int)ret_errno(call_locked(op, a, NULL, 0, NULL, 0, NULL));
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  if (!is_sim(fd)) return (int)syscall(SYS_FCNTL, fd, cmd, arg);
  switch (cmd) {
  case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL:
  case F_ADD_SEALS: case F_GET_SEALS:
    return sim_newfd(OP_FCNTL, fd, cmd, arg);
  default: {
    char m[128];
    snprintf(m, sizeof m, "fcntl(%d, %d): this command is not bridged for simulated fds", fd, cmd);
    fail_msg(m);
    errno = ENOSYS;
    return -1;
  }
  }
}
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

int dup(int fd) {
  if (is_sim(fd)) return sim_newfd(OP_DUP, fd, 0, 0);
  return (int)syscall(SYS_dup, fd);
}

int dup3(int old, int new, int flags) {
  if (old == new) {
    errno = EINVAL;
    return -1;
  }
  if (is_sim(new) && !is_sim(old)) close(new);
  if (!is_sim(old)) return (int)syscall(SYS_dup3, old, new, flags);
  if (new < 0 || new >= MAX_FD) {
    errno = EBADF;
    return -1;
  }
  int r = sim_newfd(OP_DUP3, old, new, flags);
  if (r < 0) return r;
  if (syscall(SYS_dup3, old, new, flags) < 0) return -1;
  sim_fd[new] = 1;
  return new;
}

int dup2(int old, int new) {
  if (old == new) return syscall(SYS_FCNTL, old, F_GETFD) < 0 ? -1 : new;
  return dup3(old, new, 0);
}

/* ----------------------------------------------------------------------------------------- stat family */

/* The LFS flavour does the work: struct stat64 is struct stat on LP64, and ILP32's struct stat is derived from it. */
#ifdef SYS_fstatat64
#define SYS_FSTATAT SYS_fstatat64
#define SYS_FSTAT SYS_fstat64
#else
#define SYS_FSTATAT SYS_newfstatat
#define SYS_FSTAT SYS_fstat
#endif

static void fill_stat(struct stat64 *st, const int64_t v[6]) {
  memset(st, 0, sizeof *st);
  st->st_mode = (mode_t)v[0];
  st->st_ino = (ino64_t)v[1];
  st->st_rdev = makedev((unsigned)v[2], (unsigned)v[3]);
  st->st_size = (off64_t)v[4];
  st->st_dev = makedev(0, (unsigned)v[5]);
  st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_blksize = 4096;
#if BRIDGE_ILP32
  st->__st_ino = (__ino_t)st->st_ino;
#endif
}

static int sim_stat(const char *path, int fd, struct stat64 *st) {
  int64_t a[6] = { fd }, v[6];
  int64_t r = call_locked(OP_STAT, a, path, path ? strlen(path) : 0, v, sizeof v, NULL);
  if (r < 0) return (int)ret_errno(r);
  fill_stat(st, v);
  return 0;
}

int stat64(const char *path, struct stat64 *st) {
  if (sim_path(path)) return bridge_state < 0 ? (int)unbridged("stat", path) : sim_stat(path, -1, st);
  return (int)syscall(SYS_FSTATAT, AT_FDCWD, path, st, 0);
}
int lstat64(const char *path, struct stat64 *st) {
  if (sim_path(path)) return bridge_state < 0 ? (int)unbridged("lstat", path) : sim_stat(path, -1, st);
  return (int)syscall(SYS_FSTATAT, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
int fstat64(int fd, struct stat64 *st) {
  if (is_sim(fd)) return sim_stat(NULL, fd, st);
  return (int)syscall(SYS_FSTAT, fd, st);
}
/* A path relative to a simulated directory fd: refused with a message, as openat() refuses it. */
static int relative_to_sim(const char *call) {
  char m[160];
  snprintf(m, sizeof m, "%s() relative to a simulated directory fd is not bridged", call);
  fail_msg(m);
  errno = ENOTSUP;
  return -1;
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) {
  if (sim_path(path)) return bridge_state < 0 ? (int)unbridged("fstatat", path) : sim_stat(path, -1, st);
  if (is_sim(dirfd) && path[0] != '/') {
    if ((flags & AT_EMPTY_PATH) && !*path) return sim_stat(NULL, dirfd, st);
    return relative_to_sim("fstatat");
  }
  return (int)syscall(SYS_FSTATAT, dirfd, path, st, flags);
}

/* statx(2) (coreutils' ls and stat call it): the same answer as stat, in struct statx. */
int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx) {
  struct stat64 st;
  int r;
  if (sim_path(path)) {
    if (bridge_state < 0) return (int)unbridged("statx", path);
    r = sim_stat(path, -1, &st);
  } else if (is_sim(dirfd) && path[0] != '/') {
    if (!(flags & AT_EMPTY_PATH) || *path) return relative_to_sim("statx");
    r = sim_stat(NULL, dirfd, &st);
  } else {
    return (int)syscall(SYS_statx, dirfd, path, flags, mask, stx);
  }
  if (r < 0) return r;
  memset(stx, 0, sizeof *stx);
  stx->stx_mask = STATX_BASIC_STATS;
  stx->stx_blksize = (uint32_t)st.st_blksize;
  stx->stx_nlink = (uint32_t)st.st_nlink;
  stx->stx_uid = st.st_uid;
  stx->stx_gid = st.st_gid;
  stx->stx_mode = (uint16_t)st.st_mode;
  stx->stx_ino = (uint64_t)st.st_ino;
  stx->stx_size = (uint64_t)st.st_size;
  stx->stx_blocks = (uint64_t)st.st_blocks;
  stx->stx_rdev_major = major(st.st_rdev);
  stx->stx_rdev_minor = minor(st.st_rdev);
  stx->stx_dev_major = major(st.st_dev);
  stx->stx_dev_minor = minor(st.st_dev);
  return 0;
}

#if BRIDGE_ILP32
/* glibc's conversion: a value the 32-bit struct cannot hold is EOVERFLOW. */
static int stat32(int r, const struct stat64 *s, struct stat *st) {
  if (r < 0) return r;
  if ((ino_t)s->st_ino != s->st_ino || (off_t)s->st_size != s->st_size || (blkcnt_t)s->st_blocks != s->st_blocks) {
    errno = EOVERFLOW;
    return -1;
  }
  memset(st, 0, sizeof *st);
  st->st_dev = s->st_dev;
  st->st_ino = (ino_t)s->st_ino;
  st->st_mode = s->st_mode;
  st->st_nlink = s->st_nlink;
  st->st_uid = s->st_uid;
  st->st_gid = s->st_gid;
  st->st_rdev = s->st_rdev;
  st->st_size = (off_t)s->st_size;
  st->st_blksize = s->st_blksize;
  st->st_blocks = (blkcnt_t)s->st_blocks;
  st->st_atim = s->st_atim;
  st->st_mtim = s->st_mtim;
  st->st_ctim = s->st_ctim;
  return 0;
}
int stat(const char *path, struct stat *st) {
  struct stat64 s;
  return stat32(stat64(path, &s), &s, st);
}
int lstat(const char *path, struct stat *st) {
  struct stat64 s;
  return stat32(lstat64(path, &s), &s, st);
}
int fstat(int fd, struct stat *st) {
  struct stat64 s;
  return stat32(fstat64(fd, &s), &s, st);
}
int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
  struct stat64 s;
  return stat32(fstatat64(dirfd, path, &s, flags), &s, st);
}
#else
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "LP64: struct stat64 is struct stat");
int stat(const char *path, struct stat *st) { return stat64(path, (struct stat64 *)st); }
int lstat(const char *path, struct stat *st) { return lstat64(path, (struct stat64 *)st); }
int fstat(int fd, struct stat *st) { return fstat64(fd, (struct stat64 *)st); }
int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
  return fstatat64(dirfd, path, (struct stat64 *)st, flags);
}
#endif
/* Binaries built against glibc < 2.33 call these. */
int __xstat(int ver, const char *path, struct stat *st) { (void)ver; return stat(path, st); }
int __lxstat(int ver, const char *path, struct stat *st) { (void)ver; return lstat(path, st); }
int __fxstat(int ver, int fd, struct stat *st) { (void)ver; return fstat(fd, st); }
int __xstat64(int ver, const char *path, struct stat64 *st) { (void)ver; return stat64(path, st); }
int __lxstat64(int ver, const char *path, struct stat64 *st) { (void)ver; return lstat64(path, st); }
int __fxstat64(int ver, int fd, struct stat64 *st) { (void)ver; return fstat64(fd, st); }

int access(const char *path, int mode) {
  if (sim_path(path)) {
    if (bridge_state < 0) return (int)unbridged("access", path);
    int64_t a[6] = { mode };
    return (int)ret_errno(call_locked(OP_ACCESS, a, path, strlen(path), NULL, 0, NULL));
  }
  return (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}
int faccessat(int dirfd, const char *path, int mode, int flags) {
  if (sim_path(path)) return access(path, mode);
  return (int)syscall(SYS_faccessat2, dirfd, path, mode, flags);
}

/* The simulator has no symbolic links: an existing simulated path is not one. */
ssize_t readlink(const char *path, char *buf, size_t len) {
  if (sim_path(path)) {
    struct stat64 st;
    if (stat64(path, &st) < 0) return -1;
    errno = EINVAL;
    return -1;
  }
  return syscall(SYS_readlinkat, AT_FDCWD, path, buf, len);
}
ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len) {
  if (sim_path(path)) return readlink(path, buf, len);
  return syscall(SYS_readlinkat, dirfd, path, buf, len);
}

/* Lexical normalisation of an absolute simulated path, then a lookup (no links to follow). */
char *realpath(const char *path, char *resolved) {
  if (!sim_path(path)) {
    REAL(char *, "realpath", const char *, char *);
    return real_fn(path, resolved);
  }
  char out[PATH_MAX];
  size_t o = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/') p++;
    const char *s = p;
    while (*p && *p != '/') p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || (n == 1 && s[0] == '.')) continue;
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      continue;
    }
    if (o + 1 + n >= sizeof out) {
      errno = ENAMETOOLONG;
      return NULL;
    }
    out[o++] = '/';
    memcpy(out + o, s, n);
    o += n;
  }
  if (o == 0) out[o++] = '/';
  out[o] = 0;
  struct stat64 st;
  if (stat64(out, &st) < 0) return NULL;
  if (resolved) return strcpy(resolved, out);
  return strdup(out);
}
char *__realpath_chk(const char *path, char *resolved, size_t len) {
  (void)len;
  return realpath(path, resolved);
}

/* ----------------------------------------------------------------------------------- memfd, ftruncate */

int memfd_create(const char *name, unsigned flags) {
  if (bridge_state != 1) return (int)syscall(SYS_memfd_create, name, flags);
  int64_t a[6] = { flags };
  return (int)ret_errno(call_locked(OP_MEMFD_CREATE, a, name, strlen(name), NULL, 0, NULL));
}

int ftruncate64(int fd, off64_t len) {
  if (is_sim(fd)) {
    int64_t a[6] = { fd, len };
    return (int)ret_errno(call_locked(OP_FTRUNCATE, a, NULL, 0, NULL, 0, NULL));
  }
#ifdef SYS_ftruncate64
  return (int)syscall(SYS_ftruncate64, fd, OFF64_ARG(len));
#else
  return (int)syscall(SYS_ftruncate, fd, len);
#endif
}
int ftruncate(int fd, off_t len) { return ftruncate64(fd, len); }

/* ----------------------------------------------------------------------------------------- directories */

struct sim_dir {
  int fd;
  size_t pos, end;
  struct dirent ent;
  /* ILP32's readdir64 has its own entry: 64-bit d_ino and d_off. */
  struct dirent64 ent64;
  /* glibc's opendir() buffer for a directory whose st_blksize is below 32 KiB: the same getdents64 calls. */
  char buf[32768];
};
static struct sim_dir *dirs[MAX_DIRS];

static struct sim_dir *find_dir(void *d) {
  for (int i = 0; i < MAX_DIRS; i++)
    if (dirs[i] && (void *)dirs[i] == d) return dirs[i];
  return NULL;
}

static DIR *sim_opendir_fd(int fd) {
  struct sim_dir *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->fd = fd;
  pthread_mutex_lock(&bridge_lock);
  for (int i = 0; i < MAX_DIRS; i++)
    if (!dirs[i]) {
      dirs[i] = d;
      pthread_mutex_unlock(&bridge_lock);
      return (DIR *)d;
    }
  pthread_mutex_unlock(&bridge_lock);
  free(d);
  errno = EMFILE;
  return NULL;
}

DIR *opendir(const char *path) {
  if (!sim_path(path)) {
    REAL(DIR *, "opendir", const char *);
    return real_fn(path);
  }
  /* glibc's opendir() flags, so the call is the one a kernel sees. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return NULL;
  DIR *d = sim_opendir_fd(fd);
  if (!d) close(fd);
  return d;
}

DIR *fdopendir(int fd) {
  if (!is_sim(fd)) {
    REAL(DIR *, "fdopendir", int);
    return real_fn(fd);
  }
  struct stat64 st;
  if (fstat64(fd, &st) < 0) return NULL;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return NULL;
  }
  return sim_opendir_fd(fd);
}

/* The next record of the Node side's fixed layout {u64 ino, i64 off, u16 reclen, u8 type, name}, or NULL. */
static const char *next_rec(struct sim_dir *d, uint64_t *ino, int64_t *off, unsigned char *type) {
  if (d->pos >= d->end) {
    int64_t a[6] = { d->fd, (int64_t)sizeof d->buf };
    int64_t r = call_locked(OP_GETDENTS, a, NULL, 0, d->buf, sizeof d->buf, NULL);
    if (r <= 0) {
      if (r < 0) errno = (int)-r;
      return NULL;
    }
    d->pos = 0;
    d->end = (size_t)r;
  }
  const char *rec = d->buf + d->pos;
  uint16_t reclen;
  memcpy(ino, rec, 8);
  memcpy(off, rec + 8, 8);
  memcpy(&reclen, rec + 16, 2);
  *type = (unsigned char)rec[18];
  d->pos += reclen;
  return rec + 19;
}

#define FILL_DIRENT(e, ino, off, type, name) \
  do { \
    (e).d_ino = (ino); \
    (e).d_off = (off); \
    (e).d_type = (type); \
    snprintf((e).d_name, sizeof (e).d_name, "%s", (name)); \
    (e).d_reclen = (unsigned short)(offsetof(__typeof__(e), d_name) + strlen((e).d_name) + 1); \
  } while (0)

struct dirent *readdir(DIR *dir) {
  struct sim_dir *d = find_dir(dir);
  if (!d) {
    REAL(struct dirent *, "readdir", DIR *);
    return real_fn(dir);
  }
  uint64_t ino;
  int64_t off;
  unsigned char type;
  const char *name = next_rec(d, &ino, &off, &type);
  if (!name) return NULL;
  FILL_DIRENT(d->ent, (ino_t)ino, (off_t)off, type, name);
  return &d->ent;
}
struct dirent64 *readdir64(DIR *dir) {
  struct sim_dir *d = find_dir(dir);
  if (!d) {
    REAL(struct dirent64 *, "readdir64", DIR *);
    return real_fn(dir);
  }
  uint64_t ino;
  int64_t off;
  unsigned char type;
  const char *name = next_rec(d, &ino, &off, &type);
  if (!name) return NULL;
  FILL_DIRENT(d->ent64, ino, off, type, name);
  return &d->ent64;
}

int closedir(DIR *dir) {
  struct sim_dir *d = find_dir(dir);
  if (!d) {
    REAL(int, "closedir", DIR *);
    return real_fn(dir);
  }
  pthread_mutex_lock(&bridge_lock);
  for (int i = 0; i < MAX_DIRS; i++)
    if (dirs[i] == d) dirs[i] = NULL;
  pthread_mutex_unlock(&bridge_lock);
  int r = close(d->fd);
  free(d);
  return r;
}

int dirfd(DIR *dir) {
  struct sim_dir *d = find_dir(dir);
  if (!d) {
    REAL(int, "dirfd", DIR *);
    return real_fn(dir);
  }
  return d->fd;
}

void rewinddir(DIR *dir) {
  struct sim_dir *d = find_dir(dir);
  if (!d) {
    REAL(void, "rewinddir", DIR *);
    real_fn(dir);
    return;
  }
  lseek(d->fd, 0, SEEK_SET);
  d->pos = d->end = 0;
}

/* ---------------------------------------------------------------------------------------------- stdio */

/* A sysfs FILE's cookie: its fd and its buffer, sized as glibc sizes a file's buffer, by st_blksize (4096 on
 * sysfs; fopencookie alone would read BUFSIZ at a time), so the program makes the same reads as on a kernel. */
struct sim_cookie {
  int fd;
  FILE *file;
  size_t size;
  char buf[];
};

/* The cookies of the open sysfs FILEs (fread() tells them from the program's own FILEs by them). */
#define MAX_FILES 256
static struct sim_cookie *files[MAX_FILES];

static struct sim_cookie *find_file(FILE *f) {
  for (int i = 0; i < MAX_FILES; i++)
    if (files[i] && files[i]->file == f) return files[i];
  return NULL;
}

static ssize_t cookie_read(void *c, char *buf, size_t n) {
  ssize_t r = read(((struct sim_cookie *)c)->fd, buf, n);
  return r < 0 ? -1 : r;
}
static ssize_t cookie_write(void *c, const char *buf, size_t n) {
  ssize_t r = write(((struct sim_cookie *)c)->fd, buf, n);
  /* fopencookie treats 0 as an error; a sysfs store that took nothing is one. */
  return r < 0 ? 0 : r;
}
static int cookie_seek(void *c, off64_t *off, int whence) {
  off64_t r = lseek64(((struct sim_cookie *)c)->fd, *off, whence);
  if (r < 0) return -1;
  *off = r;
  return 0;
}
static int cookie_close(void *c) {
  int r = close(((struct sim_cookie *)c)->fd);
  pthread_mutex_lock(&bridge_lock);
  for (int i = 0; i < MAX_FILES; i++)
    if (files[i] == c) files[i] = NULL;
  pthread_mutex_unlock(&bridge_lock);
  free(c);
  return r;
}

static FILE *sim_file(int fd, const char *mode) {
  cookie_io_functions_t io = { cookie_read, cookie_write, cookie_seek, cookie_close };
  struct stat64 st;
  size_t size = fstat64(fd, &st) == 0 && st.st_blksize > 0 ? (size_t)st.st_blksize : BUFSIZ;
  struct sim_cookie *c = malloc(sizeof *c + size);
  if (!c) return NULL;
  c->fd = fd;
  FILE *f = fopencookie(c, mode, io);
  if (!f) {
    free(c);
    return NULL;
  }
  setvbuf(f, c->buf, _IOFBF, size);
  c->file = f;
  c->size = size;
  pthread_mutex_lock(&bridge_lock);
  for (int i = 0; i < MAX_FILES; i++)
    if (!files[i]) {
      files[i] = c;
      break;
    }
  pthread_mutex_unlock(&bridge_lock);
  return f;
}

/*
 * fread() on a sysfs FILE as glibc's `_IO_file_xsgetn()` does it for a file (a cookie FILE would refill its
 * buffer instead): what is buffered first, then a request of at least a buffer goes straight to read() in whole
 * buffers, and a smaller rest through the buffer. The program then makes the reads it makes on a kernel.
 */
size_t fread(void *ptr, size_t size, size_t n, FILE *f) {
  REAL(size_t, "fread", void *, size_t, size_t, FILE *);
  struct sim_cookie *c = size && n ? find_file(f) : NULL;
  if (!c || n > SIZE_MAX / size) return real_fn(ptr, size, n, f);
  size_t want = size * n, got = 0;
  char *s = ptr;
  flockfile(f);
  while (want > 0) {
    size_t have = (size_t)(f->_IO_read_end - f->_IO_read_ptr);
    if (want <= have) {
      memcpy(s, f->_IO_read_ptr, want);
      f->_IO_read_ptr += want;
      got += want;
      break;
    }
    if (have) {
      memcpy(s, f->_IO_read_ptr, have);
      f->_IO_read_ptr += have;
      s += have;
      got += have;
      want -= have;
    }
    if (want < c->size) {
      funlockfile(f);
      return (got + real_fn(s, 1, want, f)) / size;
    }
    ssize_t r = read(c->fd, s, want - want % c->size);
    if (r <= 0) {
      f->_flags |= r == 0 ? 0x10 /* _IO_EOF_SEEN */ : 0x20 /* _IO_ERR_SEEN */;
      break;
    }
    s += r;
    got += (size_t)r;
    want -= (size_t)r;
  }
  funlockfile(f);
  return got / size;
}

static int mode_flags(const char *mode) {
  int flags = 0;
  switch (mode[0]) {
  case 'r': flags = O_RDONLY; break;
  case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
  case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
  default: return -1;
  }
  for (const char *m = mode + 1; *m && *m != ','; m++) {
    if (*m == '+') flags = (flags & ~O_ACCMODE) | O_RDWR;
    else if (*m == 'e') flags |= O_CLOEXEC;
    else if (*m == 'x') flags |= O_EXCL;
  }
  return flags;
}

FILE *fopen(const char *path, const char *mode) {
  if (!sim_path(path)) {
    REAL(FILE *, "fopen", const char *, const char *);
    return real_fn(path, mode);
  }
  int flags = mode_flags(mode);
  if (flags < 0) {
    errno = EINVAL;
    return NULL;
  }
  int fd = open(path, flags, 0666);
  if (fd < 0) return NULL;
  FILE *f = sim_file(fd, mode);
  if (!f) close(fd);
  return f;
}
FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));

FILE *fdopen(int fd, const char *mode) {
  if (!is_sim(fd)) {
    REAL(FILE *, "fdopen", int, const char *);
    return real_fn(fd, mode);
  }
  return sim_file(fd, mode);
}

/* Set while fork() below runs glibc's fork: its child takes over a channel of its own. */
static int forking;

/* A child forked other than through fork() below has the socket too: it must not talk on it. */
static void in_child(void) {
  if (bridge_state == 1 && !forking) {
    raw_close(bridge_fd);
    bridge_fd = -1;
    bridge_state = -1;
  }
}
__attribute__((constructor)) static void bridge_atfork(void) { pthread_atfork(NULL, NULL, in_child); }

/* ------------------------------------------------------------------------------------- fork and exec */

/*
 * A new connection to the Node side (its listening socket), or -1. An abstract name ('@') is tried with its
 * exact length, then padded to the whole sun_path (how libuv before 1.46, Node 20's, binds it).
 */
static int connect_bridge(void) {
  if (!bridge_path[0]) return -1;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t n = strlen(bridge_path);
  memcpy(sa.sun_path, bridge_path, n);
  int abstract = sa.sun_path[0] == '@';
  if (abstract) sa.sun_path[0] = 0;
  for (int attempt = 0; attempt < 1 + abstract; attempt++) {
    int c = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) return -1;
    socklen_t len = attempt ? (socklen_t)sizeof sa : (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (syscall(SYS_connect, c, &sa, len) == 0) return c;
    raw_close(c);
  }
  return -1;
}

/*
 * fork(): the Node side makes the child simulated process first (a fork of this one: the same simulated fds
 * and shared mappings), this side connects a new channel for it and names the child on it, then glibc's fork
 * runs; the child talks on the new channel, the parent tells the Node side the child's real pid.
 */
pid_t fork(void) {
  REAL(pid_t, "fork", void);
  if (bridge_state != 1) return real_fn();
  pthread_mutex_lock(&bridge_lock);
  int64_t a[6] = { 0 };
  int64_t simpid = bridge_call(OP_FORK, a, NULL, 0, NULL, 0, NULL);
  if (simpid < 0) {
    pthread_mutex_unlock(&bridge_lock);
    errno = (int)-simpid;
    return -1;
  }
  int c = connect_bridge();
  if (c >= 0) {
    struct req hello = { .len = sizeof hello - 4, .op = OP_HELLO, .a = { simpid } };
    int saved = bridge_fd;
    bridge_fd = c;
    if (full_write(&hello, sizeof hello)) {
      raw_close(c);
      c = -1;
    }
    bridge_fd = saved;
  }
  forking = 1;
  pid_t pid = real_fn();
  int err = errno;
  forking = 0;
  if (pid == 0) {
    raw_close(bridge_fd);
    bridge_fd = -1;
    bridge_state = -1;
    bridged_children = 0;
    if (c >= 0) {
      long hi = syscall(SYS_fcntl, c, F_DUPFD_CLOEXEC, 1000);
      if (hi >= 0) {
        raw_close(c);
        c = (int)hi;
      }
      bridge_fd = c;
      bridge_state = 1;
    } else fail_msg("fork: the child cannot connect to the simulator; it is not bridged");
    pthread_mutex_init(&bridge_lock, NULL);
    return 0;
  }
  if (c >= 0) raw_close(c);
  int64_t b[6] = { simpid, pid < 0 ? -err : pid, c >= 0 };
  bridge_call(OP_FORKED, b, NULL, 0, NULL, 0, NULL);
  if (pid > 0) bridged_children++;
  pthread_mutex_unlock(&bridge_lock);
  errno = err;
  return pid;
}
pid_t vfork(void) { return fork(); }

/* The environment for the new image: the bridge's channel kept, this library preloaded. */
static char **bridged_env(char *const envp[], int fd) {
  size_t n = 0;
  while (envp && envp[n]) n++;
  char **out = calloc(n + 5, sizeof *out);
  if (!out) return NULL;
  size_t o = 0;
  int have_preload = 0, have_path = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(envp[i], "IIO_SIM_BRIDGE_FD=", 18) == 0 || strncmp(envp[i], "IIO_SIM_BRIDGE_EXEC=", 20) == 0)
      continue;
    if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0) have_preload = 1;
    if (strncmp(envp[i], "IIO_SIM_BRIDGE_PATH=", 20) == 0) have_path = 1;
    out[o++] = envp[i];
  }
  static char fdvar[48], preload_var[4096], path_var[160];
  snprintf(fdvar, sizeof fdvar, "IIO_SIM_BRIDGE_FD=%d", fd);
  out[o++] = fdvar;
  out[o++] = "IIO_SIM_BRIDGE_EXEC=1";
  if (!have_preload && preload_env) {
    snprintf(preload_var, sizeof preload_var, "LD_PRELOAD=%s", preload_env);
    out[o++] = preload_var;
  }
  if (!have_path && bridge_path[0]) {
    snprintf(path_var, sizeof path_var, "IIO_SIM_BRIDGE_PATH=%s", bridge_path);
    out[o++] = path_var;
  }
  out[o] = NULL;
  return out;
}

/* Before an exec: the channel and the simulated fds that are not close-on-exec survive it. */
static void exec_prepare(int undo) {
  static int32_t keep[4096];
  static int64_t nkeep;
  if (!undo) {
    int64_t a[6] = { 0 };
    pthread_mutex_lock(&bridge_lock);
    int64_t r = bridge_call(OP_EXEC_PREPARE, a, NULL, 0, keep, sizeof keep, NULL);
    pthread_mutex_unlock(&bridge_lock);
    nkeep = r < 0 ? 0 : (r > 4096 ? 4096 : r);
  }
  for (int fd = 0; fd < MAX_FD; fd++) {
    if (!sim_fd[fd]) continue;
    int kept = 0;
    for (int64_t i = 0; i < nkeep && !kept; i++) kept = keep[i] == fd;
    syscall(SYS_fcntl, fd, F_SETFD, undo || !kept ? FD_CLOEXEC : 0);
  }
  syscall(SYS_fcntl, bridge_fd, F_SETFD, undo ? FD_CLOEXEC : 0);
}

/* In the new image: the Node side makes the exec of the simulated process and says which fds it kept. */
static void exec_reconnected(void) {
  char path[PATH_MAX];
  long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", path, sizeof path - 1);
  if (n < 0) n = 0;
  path[n] = 0;
  static int32_t keep[4096];
  int64_t a[6] = { 0 };
  int64_t r = call_locked(OP_EXEC, a, path, (size_t)n, keep, sizeof keep, NULL);
  for (int64_t i = 0; i < r && i < 4096; i++)
    if (keep[i] >= 0 && keep[i] < MAX_FD) sim_fd[keep[i]] = 1;
}

enum { EXEC_VE, EXEC_VPE, EXEC_AT, EXEC_F };

static int bridged_exec(int kind, int dirfd, const char *path, char *const argv[], char *const envp[],
                        int flags) {
  REAL(int, "execve", const char *, char *const[], char *const[]);
  int (*ve)(const char *, char *const[], char *const[]) = real_fn;
  static int (*vpe)(const char *, char *const[], char *const[]);
  static int (*fe)(int, char *const[], char *const[]);
  if (!vpe) vpe = (int (*)(const char *, char *const[], char *const[]))next_fn("execvpe");
  if (!fe) fe = (int (*)(int, char *const[], char *const[]))next_fn("fexecve");
  char **env = bridge_state == 1 ? bridged_env(envp, bridge_fd) : NULL;
  char *const *use = env ? env : envp;
  if (env) exec_prepare(0);
  int r;
  if (kind == EXEC_VPE) r = vpe(path, argv, use);
  else if (kind == EXEC_AT) r = (int)syscall(SYS_execveat, dirfd, path, argv, use, flags);
  else if (kind == EXEC_F) r = fe(dirfd, argv, use);
  else r = ve(path, argv, use);
  int err = errno;
  if (env) {
    exec_prepare(1);
    free(env);
  }
  errno = err;
  return r;
}

int execve(const char *path, char *const argv[], char *const envp[]) {
  return bridged_exec(EXEC_VE, AT_FDCWD, path, argv, envp, 0);
}
int execv(const char *path, char *const argv[]) { return bridged_exec(EXEC_VE, AT_FDCWD, path, argv, environ, 0); }
int execvpe(const char *file, char *const argv[], char *const envp[]) {
  return bridged_exec(EXEC_VPE, AT_FDCWD, file, argv, envp, 0);
}
int execvp(const char *file, char *const argv[]) { return bridged_exec(EXEC_VPE, AT_FDCWD, file, argv, environ, 0); }
int fexecve(int fd, char *const argv[], char *const envp[]) { return bridged_exec(EXEC_F, fd, NULL, argv, envp, 0); }
int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  return bridged_exec(EXEC_AT, dirfd, path, argv, envp, flags);
}

/* execl, execlp, execle: the arguments gathered into an argv (and execle's envp after the NULL). */
#define GATHER_ARGS(arg, ap, argv, envp_out)                   \
  size_t count = 1;                                            \
  va_list ap;                                                  \
  va_start(ap, arg);                                           \
  while (va_arg(ap, char *)) count++;                          \
  va_end(ap);                                                  \
  char **argv = alloca((count + 1) * sizeof *argv);            \
  va_start(ap, arg);                                           \
  argv[0] = (char *)arg;                                       \
  for (size_t i = 1; i <= count; i++) argv[i] = va_arg(ap, char *); \
  envp_out;                                                    \
  va_end(ap)

int execl(const char *path, const char *arg, ...) {
  GATHER_ARGS(arg, ap, argv, (void)0);
  return bridged_exec(EXEC_VE, AT_FDCWD, path, argv, environ, 0);
}
int execlp(const char *file, const char *arg, ...) {
  GATHER_ARGS(arg, ap, argv, (void)0);
  return bridged_exec(EXEC_VPE, AT_FDCWD, file, argv, environ, 0);
}
int execle(const char *path, const char *arg, ...) {
  char *const *envp;
  GATHER_ARGS(arg, ap, argv, envp = va_arg(ap, char *const *));
  return bridged_exec(EXEC_VE, AT_FDCWD, path, argv, envp, 0);
}

/* --------------------------------------------------------------------------------------------- wait */

/*
 * A wait for a bridged child first waits in the simulator (wait4 of the simulated process: it sleeps there
 * until the child's simulated process has ended, so lockstep time runs the child meanwhile), then the real
 * kernel's wait collects the real child and its status.
 */
static void sim_wait(pid_t pid, int options) {
  if (bridge_state != 1 || bridged_children == 0) return;
  int64_t a[6] = { pid, options & WNOHANG };
  int64_t r = call_locked(OP_WAIT, a, NULL, 0, NULL, 0, NULL);
  if (r > 0) bridged_children--;
}

pid_t waitpid(pid_t pid, int *status, int options) {
  sim_wait(pid, options);
  return (pid_t)syscall(SYS_wait4, pid, status, options, NULL);
}
pid_t wait(int *status) { return waitpid(-1, status, 0); }
pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru) {
  sim_wait(pid, options);
  return (pid_t)syscall(SYS_wait4, pid, status, options, ru);
}
pid_t wait3(int *status, int options, struct rusage *ru) { return wait4(-1, status, options, ru); }
int waitid(idtype_t type, id_t id, siginfo_t *info, int options) {
  if (type == P_PID || type == P_ALL) sim_wait(type == P_PID ? (pid_t)id : -1, options);
  return (int)syscall(SYS_waitid, type, id, info, options, NULL);
}
