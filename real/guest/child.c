/*
 * One simulated process: reads CALL frames from its channel, applies the host's memory changes, performs
 * the real syscall and answers with the raw result and the memory the kernel (or anything else) changed.
 * Built twice: as a 64-bit and as a 32-bit (i386, compat syscall path) program.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "proto.h"

#define PAGE 4096u
/* The same number on i386 and x86_64 (the unified syscall table); older headers lack the names. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#define PAGE_ALIGN(x) (((x) + (uint64_t)PAGE - 1) & ~(uint64_t)(PAGE - 1))

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* The signal return trampoline a raw rt_sigaction needs (x86_64 requires SA_RESTORER; handlers are SA_SIGINFO
 * so both ABIs build an rt frame). */
#if defined(__x86_64__)
__asm__(".text\n.p2align 4\n.globl ex_restorer\n.type ex_restorer,@function\nex_restorer:\n"
        "\tmovq $15, %rax\n\tsyscall\n\thlt\n");
#define ARENA_BASE ARENA64_BASE
#define ARENA_SIZE ARENA64_SIZE
#define ABI_BITS 64u
#elif defined(__i386__)
__asm__(".text\n.p2align 4\n.globl ex_restorer\n.type ex_restorer,@function\nex_restorer:\n"
        "\tmovl $173, %eax\n\tint $0x80\n\thlt\n");
#define ARENA_BASE ARENA32_BASE
#define ARENA_SIZE ARENA32_SIZE
#define ABI_BITS 32u
#else
#error "x86_64 or i386 only"
#endif
void ex_restorer(void);

/* The kernel's struct sigaction for rt_sigaction (same field order on both ABIs; the mask is 8 bytes). */
struct ksigaction {
  void (*handler)(int, siginfo_t *, void *);
  unsigned long flags;
  void (*restorer)(void);
  uint32_t mask[2];
};

/* A mapping the host mirrors: its last known contents (shadow) and which pages could be read. */
struct region {
  uint64_t start;
  uint64_t len;
  uint8_t *shadow; /* NULL: too large to mirror */
  uint8_t *ok;     /* one byte per page */
  int anon;        /* anonymous memory: only this process's syscalls change it */
};

static struct region *regions;
static size_t nregions;
static size_t capregions;

static int chan = -1;
/* /proc/self/pagemap and /proc/self/clear_refs, for soft-dirty tracking of anonymous memory (-1: absent). */
static int pagemap_fd = -1;
static int clear_refs_fd = -1;
static uint64_t *pm;
static size_t pmcap;
static uint32_t proc_id;
static struct buf out;
static uint8_t *in;
static size_t incap;

static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;
/* What the program asked for SIGBUS and SIGSEGV (which the executor keeps for its own memory probes):
 * 0 default, 1 handler. */
static volatile sig_atomic_t prog_handles[65];

static _Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static long ksigaction(int sig, void (*h)(int, siginfo_t *, void *), unsigned long flags) {
  struct ksigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.handler = h;
  sa.flags = flags | (h ? SA_RESTORER | SA_SIGINFO : 0);
  sa.restorer = h ? ex_restorer : NULL;
  return syscall(SYS_rt_sigaction, (long)sig, (long)&sa, 0L, 8L);
}

/* Ends the process with sig's default action, as an unhandled signal would. */
static _Noreturn void die_by_signal(int sig) {
  ksigaction(sig, NULL, 0);
  sigset_t all;
  sigemptyset(&all);
  sigaddset(&all, sig);
  sigprocmask(SIG_UNBLOCK, &all, NULL);
  syscall(SYS_kill, (long)getpid(), (long)sig);
  _exit(128 + sig);
}

static void noop_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
}

static void fault_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (probing) {
    probing = 0;
    siglongjmp(probe_env, 1);
  }
  /* Sent with kill() and handled by the program: nothing to do. A real fault outside a probe is fatal. */
  if (si && si->si_code <= 0 && prog_handles[sig]) return;
  die_by_signal(sig);
}

static void send_frame(uint16_t type) {
  frame_end(&out, type, 0, proc_id, 0);
  if (write_all(chan, out.p, out.len) < 0) _exit(112);
}

static _Noreturn void fatal(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  frame_begin(&out);
  buf_put(&out, msg, strlen(msg));
  send_frame(T_LOG);
  _exit(111);
}

/* ---- regions ---- */

static int too_large(uint64_t len) { return len > REGION_MIRROR_MAX; }

static void region_insert(struct region r) {
  if (nregions == capregions) {
    capregions = capregions ? capregions * 2 : 16;
    regions = realloc(regions, capregions * sizeof *regions);
    if (!regions) fatal("out of memory (regions)");
  }
  size_t i = nregions;
  while (i > 0 && regions[i - 1].start > r.start) {
    regions[i] = regions[i - 1];
    i--;
  }
  regions[i] = r;
  nregions++;
}

/* A piece [start, start+len) of region r, with its own copy of the shadow. */
static struct region region_piece(const struct region *r, uint64_t start, uint64_t len) {
  struct region p = {start, len, NULL, NULL, r->anon};
  uint64_t off = start - r->start;
  p.ok = malloc(len / PAGE);
  if (!p.ok) fatal("out of memory (page flags)");
  memcpy(p.ok, r->ok + off / PAGE, len / PAGE);
  if (r->shadow) {
    p.shadow = malloc(len);
    if (!p.shadow) fatal("out of memory (shadow of %llu bytes)", (unsigned long long)len);
    memcpy(p.shadow, r->shadow + off, len);
  }
  return p;
}

/* Forgets [start, start+len) (page aligned), splitting regions that straddle its ends. */
static void region_remove(uint64_t start, uint64_t len) {
  uint64_t end = start + len;
  for (size_t i = 0; i < nregions;) {
    struct region r = regions[i];
    uint64_t rend = r.start + r.len;
    if (rend <= start || r.start >= end) {
      i++;
      continue;
    }
    memmove(regions + i, regions + i + 1, (nregions - i - 1) * sizeof *regions);
    nregions--;
    if (r.start < start) region_insert(region_piece(&r, r.start, start - r.start));
    if (rend > end) region_insert(region_piece(&r, end, rend - end));
    free(r.shadow);
    free(r.ok);
    i = 0;
  }
}

static void region_add(uint64_t start, uint64_t len, int anon) {
  struct region r = {start, len, NULL, NULL, anon};
  r.ok = malloc(len / PAGE);
  if (!r.ok) fatal("out of memory (page flags)");
  memset(r.ok, 1, len / PAGE);
  if (!too_large(len)) {
    r.shadow = calloc(1, len);
    if (!r.shadow) fatal("out of memory (shadow of %llu bytes)", (unsigned long long)len);
  }
  region_insert(r);
}

/* ---- memory sync ---- */

static void put_mop(uint32_t kind, uint64_t addr, uint32_t len) {
  uint8_t *p = buf_reserve(&out, MOP_SIZE);
  put32(p, kind);
  put32(p + 4, len);
  put64(p + 8, addr);
  out.len += MOP_SIZE;
}

/* Emits the bytes [lo, hi) of a page as M_DATA and stores what was sent in the shadow. */
static void emit_data(const struct region *r, uint64_t lo, uint64_t hi) {
  uint32_t n = (uint32_t)(hi - lo);
  uint8_t *p = buf_reserve(&out, MOP_SIZE + n);
  /* The live copy may fault (a racing truncate): only then is the op committed. */
  memcpy(p + MOP_SIZE, (const void *)(uintptr_t)lo, n);
  memcpy(r->shadow + (lo - r->start), p + MOP_SIZE, n);
  put32(p, M_DATA);
  put32(p + 4, n);
  put64(p + 8, lo);
  out.len += MOP_SIZE + n;
}

#define RUN_GAP 32u

/* Soft-dirty bit of a /proc/self/pagemap entry (present or swapped pages only). */
#define PM_SOFT_DIRTY(e) ((((e) >> 55) & 1) && (((e) >> 62) & 3))

/* Compares one readable page with its shadow and emits the runs that changed. */
static void diff_page(const struct region *r, uint64_t page) {
  const uint8_t *live = (const uint8_t *)(uintptr_t)page;
  const uint8_t *sh = r->shadow + (page - r->start);
  if (memcmp(live, sh, PAGE) == 0) return;
  uint64_t lo = 0;
  uint64_t hi = 0;
  int have = 0;
  for (uint32_t off = 0; off < PAGE; off += 8) {
    uint64_t a;
    uint64_t b;
    memcpy(&a, live + off, 8);
    memcpy(&b, sh + off, 8);
    if (a == b) continue;
    if (have && page + off <= hi + RUN_GAP) {
      hi = page + off + 8;
      continue;
    }
    if (have) emit_data(r, lo, hi);
    lo = page + off;
    hi = lo + 8;
    have = 1;
  }
  if (have) emit_data(r, lo, hi);
}

/* Reports every change of region r since the last report; only pages with want[p] set when want is given. */
static void diff_region(struct region *r, const uint64_t *want) {
  size_t npages = (size_t)(r->len / PAGE);
  volatile size_t p = 0;
  while (p < npages) {
    if (sigsetjmp(probe_env, 0)) {
      uint64_t page = r->start + (uint64_t)p * PAGE;
      if (r->ok[p]) {
        r->ok[p] = 0;
        put_mop(M_GONE, page, PAGE);
      }
      p++;
      /* A run of unreadable pages (a mapping past EOF) is re-probed at its first page only. */
      while (p < npages && !r->ok[p] && !r->ok[p - 1]) p++;
      continue;
    }
    probing = 1;
    while (p < npages) {
      uint64_t page = r->start + (uint64_t)p * PAGE;
      if (want && !PM_SOFT_DIRTY(want[p])) {
        p++;
        continue;
      }
      *(volatile const uint8_t *)(uintptr_t)page;
      if (!r->ok[p]) {
        r->ok[p] = 1;
        put_mop(M_BACK, page, PAGE);
      }
      if (r->shadow) diff_page(r, page);
      p++;
    }
    probing = 0;
  }
  probing = 0;
}

/* Whether an operation can store into the caller's memory (read buffers, poll arrays, ioctl/fcntl structs). */
static int writes_user_memory(uint32_t op) {
  return op == OP_READ || op == OP_PREAD64 || op == OP_POLL || op == OP_IOCTL || op == OP_FCNTL || op == OP_SYNC ||
         op == OP_FSTAT || op == OP_READLINK;
}

/* Clears the soft-dirty bits before an operation that may store into anonymous memory. */
static void soft_dirty_clear(uint32_t op) {
  if (clear_refs_fd >= 0 && writes_user_memory(op) && pwrite(clear_refs_fd, "4", 1, 0) != 1) {
    close(clear_refs_fd);
    clear_refs_fd = -1;
  }
}

/* The pagemap entries of r, or NULL when soft-dirty tracking is not available. */
static const uint64_t *soft_dirty_of(const struct region *r) {
  if (pagemap_fd < 0 || clear_refs_fd < 0) return NULL;
  size_t npages = (size_t)(r->len / PAGE);
  if (npages > pmcap) {
    free(pm);
    pm = malloc(npages * sizeof *pm);
    if (!pm) fatal("out of memory (pagemap of %zu pages)", npages);
    pmcap = npages;
  }
  size_t want = npages * sizeof *pm;
  ssize_t n = pread(pagemap_fd, pm, want, (off_t)(r->start / PAGE * sizeof *pm));
  if (n != (ssize_t)want) return NULL;
  return pm;
}

/*
 * Collects the changes after an operation. Mappings of files and devices can change at any time (DMA, other
 * processes): all their pages are compared. Anonymous memory only changes through this process's syscalls
 * that store into it, and then only on the pages the kernel wrote (soft-dirty since the clear).
 */
static void diff_all(uint32_t op) {
  int writes = writes_user_memory(op);
  for (size_t i = 0; i < nregions; i++) {
    struct region *r = &regions[i];
    if (!r->shadow) continue;
    if (!r->anon) {
      diff_region(r, NULL);
    } else if (writes) {
      diff_region(r, soft_dirty_of(r));
    }
  }
}

/* Stores host bytes at addr (and in the shadows). A fault is the program's own SIGSEGV. */
static void apply_write(uint64_t addr, const uint8_t *data, uint32_t len) {
  if (sigsetjmp(probe_env, 0)) die_by_signal(SIGSEGV);
  probing = 1;
  memcpy((void *)(uintptr_t)addr, data, len);
  probing = 0;
  for (size_t i = 0; i < nregions; i++) {
    struct region *r = &regions[i];
    uint64_t lo = addr > r->start ? addr : r->start;
    uint64_t hi = addr + len < r->start + r->len ? addr + len : r->start + r->len;
    if (lo < hi && r->shadow) memcpy(r->shadow + (lo - r->start), data + (lo - addr), (size_t)(hi - lo));
  }
}

static void apply_alloc(uint64_t addr, uint64_t len) {
  if (addr < ARENA_BASE || addr + len > ARENA_BASE + ARENA_SIZE || len == 0 || (addr | len) % PAGE)
    fatal("M_ALLOC outside the arena: 0x%llx+%llu", (unsigned long long)addr, (unsigned long long)len);
  void *p = mmap((void *)(uintptr_t)addr, (size_t)len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) fatal("M_ALLOC mmap 0x%llx: %s", (unsigned long long)addr, strerror(errno));
  region_remove(addr, len);
  region_add(addr, len, 1);
}

/* Keeps the unused arena reserved after the program unmapped part of it. */
static void rereserve(uint64_t start, uint64_t len) {
  uint64_t lo = start > ARENA_BASE ? start : ARENA_BASE;
  uint64_t end = start + len;
  uint64_t hi = end < ARENA_BASE + ARENA_SIZE ? end : ARENA_BASE + ARENA_SIZE;
  if (lo >= hi) return;
  mmap((void *)(uintptr_t)lo, (size_t)(hi - lo), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
       -1, 0);
}

/* ---- syscalls ---- */

static int64_t ret_of(long r) { return r == -1 ? -(int64_t)errno : (int64_t)r; }

static int64_t addr_ret_of(long r) { return r == -1 ? -(int64_t)errno : (int64_t)(unsigned long)r; }

#define L(x) ((long)(x))
#define FD(x) ((long)(int)(x))
#define PTR(x) ((long)(uintptr_t)(x))
#define ULONG(x) ((long)(unsigned long)(x))

static int64_t do_sigaction(int sig, int mode) {
  if (sig == SIGSEGV || sig == SIGBUS) {
    long r = ksigaction(sig, fault_handler, SA_NODEFER | (mode == 2 ? SA_RESTART : 0));
    if (r == 0) prog_handles[sig] = mode != 0;
    return ret_of(r);
  }
  if (mode == 0) return ret_of(ksigaction(sig, NULL, 0));
  return ret_of(ksigaction(sig, noop_handler, mode == 2 ? SA_RESTART : 0));
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* compute(ns): sleeps until the deadline (a signal handler may run meanwhile), no CPU burnt. */
static void do_compute(int64_t ns) {
  if (ns <= 0) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t t = (int64_t)ts.tv_nsec + ns % 1000000000;
  ts.tv_sec += (time_t)(ns / 1000000000 + t / 1000000000);
  ts.tv_nsec = (long)(t % 1000000000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static int64_t do_op(uint32_t op, const int64_t *a, const char *str) {
  switch (op) {
  case OP_SYNC:
    return 0;
  case OP_OPENAT:
    return ret_of(syscall(SYS_openat, L(AT_FDCWD), PTR(str), FD(a[0]), ULONG(a[1])));
  case OP_CLOSE:
    return ret_of(syscall(SYS_close, FD(a[0])));
  case OP_DUP:
    return ret_of(syscall(SYS_dup, FD(a[0])));
  case OP_DUP2:
    return ret_of(syscall(SYS_dup2, FD(a[0]), FD(a[1])));
  case OP_DUP3:
    return ret_of(syscall(SYS_dup3, FD(a[0]), FD(a[1]), FD(a[2])));
  case OP_READ:
    return ret_of(syscall(SYS_read, FD(a[0]), ULONG(a[1]), ULONG(a[2])));
  case OP_WRITE:
    return ret_of(syscall(SYS_write, FD(a[0]), ULONG(a[1]), ULONG(a[2])));
#if defined(__x86_64__)
  case OP_PREAD64:
    return ret_of(syscall(SYS_pread64, FD(a[0]), ULONG(a[1]), ULONG(a[2]), L(a[3])));
  case OP_PWRITE64:
    return ret_of(syscall(SYS_pwrite64, FD(a[0]), ULONG(a[1]), ULONG(a[2]), L(a[3])));
  case OP_LSEEK:
    return ret_of(syscall(SYS_lseek, FD(a[0]), L(a[1]), FD(a[2])));
  case OP_FCNTL:
    return ret_of(syscall(SYS_fcntl, FD(a[0]), FD(a[1]), ULONG(a[2])));
  case OP_MMAP:
    return addr_ret_of(syscall(SYS_mmap, ULONG(a[0]), ULONG(a[1]), FD(a[2]), FD(a[3]), FD(a[4]), L(a[5])));
  case OP_FTRUNCATE:
    return ret_of(syscall(SYS_ftruncate, FD(a[0]), L(a[1])));
  case OP_FSTAT:
    return ret_of(syscall(SYS_fstat, FD(a[0]), ULONG(a[1])));
#else
  case OP_PREAD64:
    return ret_of(syscall(SYS_pread64, FD(a[0]), ULONG(a[1]), ULONG(a[2]), ULONG((uint32_t)a[3]),
                          ULONG((uint32_t)((uint64_t)a[3] >> 32))));
  case OP_PWRITE64:
    return ret_of(syscall(SYS_pwrite64, FD(a[0]), ULONG(a[1]), ULONG(a[2]), ULONG((uint32_t)a[3]),
                          ULONG((uint32_t)((uint64_t)a[3] >> 32))));
  case OP_LSEEK: {
    /* What a large-file 32-bit program calls: _llseek, 64-bit result through memory. */
    int64_t result = 0;
    long r = syscall(SYS__llseek, FD(a[0]), ULONG((uint32_t)((uint64_t)a[1] >> 32)), ULONG((uint32_t)a[1]),
                     PTR(&result), FD(a[2]));
    return r == -1 ? -(int64_t)errno : result;
  }
  case OP_FCNTL:
    return ret_of(syscall(SYS_fcntl64, FD(a[0]), FD(a[1]), ULONG(a[2])));
  case OP_MMAP: {
    uint64_t off = (uint64_t)a[5];
    if (off % PAGE == 0 && off / PAGE <= 0xffffffffu)
      return addr_ret_of(
          syscall(SYS_mmap2, ULONG(a[0]), ULONG(a[1]), FD(a[2]), FD(a[3]), FD(a[4]), ULONG(off / PAGE)));
    /* mmap2 cannot carry an unaligned offset: old_mmap passes it in bytes and the kernel rejects it. */
    uint32_t arg[6] = {(uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], (uint32_t)off};
    return addr_ret_of(syscall(SYS_mmap, PTR(arg)));
  }
  case OP_FTRUNCATE:
    return ret_of(
        syscall(SYS_ftruncate64, FD(a[0]), ULONG((uint32_t)a[1]), ULONG((uint32_t)((uint64_t)a[1] >> 32))));
  case OP_FSTAT:
    return ret_of(syscall(SYS_fstat64, FD(a[0]), ULONG(a[1])));
#endif
  case OP_READLINK:
    return ret_of(syscall(SYS_readlink, PTR(str), ULONG(a[0]), FD(a[1])));
  case OP_IOCTL:
    return ret_of(syscall(SYS_ioctl, FD(a[0]), ULONG((uint32_t)a[1]), ULONG(a[2])));
  case OP_MUNMAP:
    return ret_of(syscall(SYS_munmap, ULONG(a[0]), ULONG(a[1])));
  case OP_POLL:
    return ret_of(syscall(SYS_poll, ULONG(a[0]), ULONG(a[1]), FD(a[2])));
  case OP_NANOSLEEP: {
    struct {
      long sec;
      long nsec;
    } ts;
    int64_t ns = a[0];
    int64_t sec = ns >= 0 ? ns / 1000000000 : -1;
    ts.sec = (long)sec;
    ts.nsec = (long)(ns - sec * 1000000000);
    if (ns < 0) ts.nsec = 0;
    return ret_of(syscall(SYS_nanosleep, PTR(&ts), 0L));
  }
  case OP_MEMFD_CREATE:
    return ret_of(syscall(SYS_memfd_create, str ? PTR(str) : ULONG(a[0]), ULONG((uint32_t)a[1])));
  case OP_KILL:
    return ret_of(syscall(SYS_kill, FD(a[0]), FD(a[1])));
  case OP_SIGACTION:
    return do_sigaction((int)a[0], (int)a[1]);
  case OP_GETPID:
    return ret_of(syscall(SYS_getpid));
  case OP_PAUSE:
    return ret_of(syscall(SYS_pause));
  case OP_COMPUTE:
    do_compute(a[0]);
    return 0;
  case OP_PIDFD_OPEN:
    return ret_of(syscall(SYS_pidfd_open, FD(a[0]), ULONG((uint32_t)a[1])));
  case OP_PIDFD_GETFD:
    return ret_of(syscall(SYS_pidfd_getfd, FD(a[0]), FD(a[1]), ULONG((uint32_t)a[2])));
  default:
    return -ENOSYS;
  }
}

/* Keeps the region table in step with the host after a successful mmap or munmap. */
static void track(uint32_t op, const int64_t *a, int64_t ret) {
  if (ret < 0) return;
  /* The lengths as the syscall saw them (32 bits in the compat executor). */
  if (op == OP_MMAP) {
    uint64_t len = PAGE_ALIGN((uint64_t)(unsigned long)a[1]);
    region_remove((uint64_t)ret, len);
    region_add((uint64_t)ret, len, (a[3] & MAP_ANONYMOUS) != 0);
    /* A shared mapping of a file: which file and where, so the host can alias its mappings. */
    int type = (int)(a[3] & 0x0f);
    struct stat st;
    if (!(a[3] & MAP_ANONYMOUS) && (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) && fstat((int)a[4], &st) == 0) {
      put_mop(M_MAPINFO, (uint64_t)ret, (uint32_t)(len > 0xffffffffu ? 0xffffffffu : len));
      buf_put64(&out, (uint64_t)st.st_dev);
      buf_put64(&out, (uint64_t)st.st_ino);
      buf_put64(&out, (uint64_t)a[5]);
      buf_put64(&out, (uint64_t)st.st_size);
    }
  } else if (op == OP_MUNMAP) {
    uint64_t addr = (uint64_t)(unsigned long)a[0];
    uint64_t len = PAGE_ALIGN((uint64_t)(unsigned long)a[1]);
    region_remove(addr, len);
    rereserve(addr, len);
  }
}

static void handle_call(const uint8_t *hdr, const uint8_t *p, size_t n) {
  if (n < 8 + 6 * 8) fatal("short CALL frame");
  uint32_t op = get32(p);
  uint32_t slen = get32(p + 4);
  int64_t a[6];
  for (int i = 0; i < 6; i++) a[i] = (int64_t)get64(p + 8 + 8 * i);
  size_t off = 8 + 6 * 8;
  if (slen > n - off) fatal("bad CALL string length");
  char *str = NULL;
  if (get16(hdr + 6) & CALL_HAS_STRING) {
    str = malloc(slen + 1);
    if (!str) fatal("out of memory (string)");
    memcpy(str, p + off, slen);
    str[slen] = 0;
  }
  off += slen;
  uint64_t ts = now_ns();
  while (off < n) {
    if (n - off < MOP_SIZE) fatal("truncated memory op");
    uint32_t kind = get32(p + off);
    uint32_t len = get32(p + off + 4);
    uint64_t addr = get64(p + off + 8);
    off += MOP_SIZE;
    if (kind == M_ALLOC) {
      apply_alloc(addr, len);
    } else if (kind == M_WRITE) {
      if (len > n - off) fatal("truncated M_WRITE");
      apply_write(addr, p + off, len);
      off += len;
    } else {
      fatal("unknown memory op %u", kind);
    }
  }
  soft_dirty_clear(op);
  uint64_t t0 = now_ns();
  int64_t ret = do_op(op, a, str);
  uint64_t t1 = now_ns();
  free(str);
  frame_begin(&out);
  buf_put64(&out, (uint64_t)ret);
  buf_put64(&out, t1 - t0);
  size_t at = out.len;
  buf_put64(&out, 0);
  track(op, a, ret);
  diff_all(op);
  put64(out.p + at, (t0 - ts) + (now_ns() - t1));
  frame_end(&out, T_RESULT, 0, proc_id, get32(hdr + 12));
  if (write_all(chan, out.p, out.len) < 0) _exit(112);
}

/* Checks that a store sets a page's soft-dirty bit and a clear resets it (CONFIG_MEM_SOFT_DIRTY). */
static int soft_dirty_works(void) {
  if (pagemap_fd < 0 || clear_refs_fd < 0) return 0;
  /* A page of the arena (mapped over the reservation and reserved again after): no trace outside it. */
  volatile uint8_t *p = mmap((void *)(uintptr_t)(ARENA_BASE + ARENA_SIZE - PAGE), PAGE, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) return 0;
  uint64_t e[3] = {0, 0, 0};
  off_t at = (off_t)((uintptr_t)p / PAGE * sizeof(uint64_t));
  p[0] = 1;
  int ok = pwrite(clear_refs_fd, "4", 1, 0) == 1 && pread(pagemap_fd, &e[0], 8, at) == 8;
  p[0] = 2;
  ok = ok && pread(pagemap_fd, &e[1], 8, at) == 8 && pwrite(clear_refs_fd, "4", 1, 0) == 1 &&
       pread(pagemap_fd, &e[2], 8, at) == 8;
  rereserve((uint64_t)(uintptr_t)p, PAGE);
  return ok && !PM_SOFT_DIRTY(e[0]) && PM_SOFT_DIRTY(e[1]) && !PM_SOFT_DIRTY(e[2]);
}

/* Moves fd to number to (out of the program's way); -1 when fd is -1. */
static int high_fd(int fd, int to) {
  if (fd < 0) return -1;
  int r = dup2(fd, to);
  close(fd);
  return r;
}

/* Moves fd 3 (the channel from the supervisor) out of the program's way and sets up fds 0-2 and limits. */
static int64_t setup(int stdio, long nofile, const char *name, pid_t parent) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t top = rl.rlim_max < CHANNEL_FD + 1 ? rl.rlim_max : CHANNEL_FD + 1;
  if (rl.rlim_cur < top) {
    struct rlimit up = {top, rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &up);
  }
  chan = (int)top - 1;
  if (dup2(3, chan) < 0) _exit(113);
  close(3);
  close(0);
  close(1);
  close(2);
  if (stdio)
    for (int i = 0; i < 3; i++)
      if (open("/dev/null", O_RDWR) != i) _exit(114);
  if (nofile > 0) {
    struct rlimit want = {(rlim_t)nofile, rl.rlim_max < (rlim_t)nofile ? (rlim_t)nofile : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
      want.rlim_cur = want.rlim_cur < rl.rlim_max ? want.rlim_cur : rl.rlim_max;
      want.rlim_max = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &want);
    }
  }
  prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(115);
  /* A fresh program: default dispositions, nothing blocked. */
  for (int s = 1; s < 65; s++)
    if (s != SIGKILL && s != SIGSTOP) ksigaction(s, NULL, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  ksigaction(SIGSEGV, fault_handler, SA_NODEFER);
  ksigaction(SIGBUS, fault_handler, SA_NODEFER);
  void *arena = mmap((void *)(uintptr_t)ARENA_BASE, (size_t)ARENA_SIZE, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (arena == MAP_FAILED) return -errno;
  if ((uintptr_t)arena != ARENA_BASE) {
    munmap(arena, (size_t)ARENA_SIZE);
    return -EEXIST;
  }
  pagemap_fd = high_fd(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), chan - 1);
  clear_refs_fd = high_fd(open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC), chan - 2);
  if (!soft_dirty_works()) {
    if (pagemap_fd >= 0) close(pagemap_fd);
    if (clear_refs_fd >= 0) close(clear_refs_fd);
    pagemap_fd = clear_refs_fd = -1;
  }
  return 0;
}

int child_main(uint32_t id, uint32_t flags, long nofile, const char *name, pid_t parent) {
  proc_id = id;
  /* The executor's own memory comes from brk only: mmap is the program's, so its mappings land where they
   * would in a fresh process and nothing of ours fills the holes it makes. */
  mallopt(M_MMAP_MAX, 0);
  int64_t st = setup((flags & SPAWN_STDIO) != 0, nofile, name, parent);
  frame_begin(&out);
  buf_put32(&out, (uint32_t)getpid());
  buf_put32(&out, ABI_BITS);
  buf_put64(&out, ARENA_BASE);
  buf_put64(&out, ARENA_SIZE);
  buf_put64(&out, (uint64_t)st);
  send_frame(T_READY);
  if (st < 0) _exit(116);
  for (;;) {
    uint8_t hdr[HDR_SIZE];
    int r = read_full(chan, hdr, HDR_SIZE);
    if (r == 1) _exit(0);
    if (r < 0) _exit(117);
    uint32_t len = get32(hdr);
    if (len < HDR_SIZE || len > FRAME_MAX) fatal("bad frame length %u", len);
    size_t n = len - HDR_SIZE;
    if (n > incap) {
      free(in);
      in = malloc(n);
      if (!in) fatal("out of memory (frame of %zu bytes)", n);
      incap = n;
    }
    if (n && read_full(chan, in, n) != 0) _exit(117);
    switch (get16(hdr + 4)) {
    case T_CALL:
      handle_call(hdr, in, n);
      break;
    case T_EXIT:
      _exit(n >= 4 ? (int)get32(in) : 0);
    default:
      fatal("unexpected frame type 0x%x", get16(hdr + 4));
    }
  }
}
