/*
 * Wire protocol of the guest executor (see PROTOCOL.md): frame header, frame types, syscall operation
 * codes and memory operation kinds. Everything on the wire is little-endian; both ends are x86.
 */
#ifndef EXECUTOR_PROTO_H
#define EXECUTOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 3u
#define HDR_SIZE 16u
/* Frames larger than this are a protocol error. */
#define FRAME_MAX (512u << 20)

/* Supervisor requests (proc 0, except SPAWN and KILL which name the process) and their replies. */
#define T_HELLO 0x01
#define T_PING 0x02
#define T_RESET 0x03
#define T_INSMOD 0x04
#define T_RMMOD 0x05
#define T_SPAWN 0x06
#define T_KILL 0x07
#define T_DMESG 0x08
#define T_PUT 0x09
#define T_RUN 0x0a
#define T_REPLY 0x80 /* reply type = request type | T_REPLY */
/* Unsolicited supervisor frames. */
#define T_EXITED 0x40
#define T_LOG 0x41
/* Process frames (proc = the process id the host chose). */
#define T_CALL 0x10
#define T_EXIT 0x11
#define T_READY 0x42
#define T_RESULT (T_CALL | T_REPLY)

/* HELLO reply feature bits. */
#define FEAT_EXECUTOR32 1u
/* HELLO reply feature bit: PUT and RUN (host programs) are served. */
#define FEAT_RUN 2u

/* RMMOD flag (not passed to delete_module): if the module is in use, first disable every IIO buffer. */
#define RMMOD_DISABLE_IIO_BUFFERS 0x80000000u

/* SPAWN flags. */
#define SPAWN_COMPAT 1u
#define SPAWN_STDIO 2u

/* CALL operations: the Sys methods, not architecture syscall numbers. */
enum op {
  OP_SYNC = 0, /* no syscall: memory sync only */
  OP_OPENAT = 1,
  OP_CLOSE,
  OP_DUP,
  OP_DUP2,
  OP_DUP3,
  OP_READ,
  OP_WRITE,
  OP_PREAD64,
  OP_PWRITE64,
  OP_LSEEK,
  OP_FCNTL,
  OP_IOCTL,
  OP_MMAP,
  OP_MUNMAP,
  OP_POLL,
  OP_NANOSLEEP,
  OP_MEMFD_CREATE,
  OP_FTRUNCATE,
  OP_KILL,
  OP_SIGACTION,
  OP_GETPID,
  OP_PAUSE,
  OP_COMPUTE,
  OP_PIDFD_OPEN,
  OP_PIDFD_GETFD,
  OP_FSTAT,
  OP_READLINK,
  OP_COUNT
};

/* CALL flags (header flags field). */
#define CALL_HAS_STRING 1u

/* Memory operation kinds. */
#define M_ALLOC 1 /* host -> child: map [addr, addr+len) read-write anonymous inside the arena */
#define M_WRITE 2 /* host -> child: store len bytes at addr */
#define M_DATA 3  /* child -> host: bytes at addr changed */
#define M_GONE 4  /* child -> host: pages [addr, addr+len) can no longer be read */
#define M_BACK 5  /* child -> host: pages [addr, addr+len) can be read again */
#define M_MAPINFO 6 /* child -> host: the new shared mapping [addr, addr+len) shows a file: u64 dev, ino, offset, size follow */
#define MAPINFO_SIZE 32u
#define MOP_SIZE 16u

/* The arena sys.mem.alloc() hands out memory from: the simulator's heap bases. */
#define ARENA64_BASE 0x555555554000ull
#define ARENA64_SIZE (64ull << 30)
#define ARENA32_BASE 0x08050000ull
#define ARENA32_SIZE (1ull << 30)

/* Mappings larger than this are not mirrored (their bytes cannot be read or written through sys.mem). */
#define REGION_MIRROR_MAX (256ull << 20)

/* The process's channel is moved to this fd (or the highest the hard RLIMIT_NOFILE allows). */
#define CHANNEL_FD 4095

static inline void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32); }

/* A growable byte buffer holding one outgoing frame. */
struct buf {
  uint8_t *p;
  size_t len;
  size_t cap;
};

/* Makes room for n more bytes; returns the write position (aborts on out of memory). */
uint8_t *buf_reserve(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *data, size_t n);
void buf_put32(struct buf *b, uint32_t v);
void buf_put64(struct buf *b, uint64_t v);
/* Starts a frame: leaves room for the header. */
void frame_begin(struct buf *b);
/* Fills in the header of the frame in b. */
void frame_end(struct buf *b, uint16_t type, uint16_t flags, uint32_t proc, uint32_t seq);

/* write() until done, retrying EINTR; 0 or -errno. */
int write_all(int fd, const void *data, size_t n);
/* read() exactly n bytes, retrying EINTR; 0, 1 at EOF before the first byte, or -errno (-EPIPE on a short EOF). */
int read_full(int fd, void *data, size_t n);

/* Reports a fatal error on stderr and exits (or powers off when running as init). */
_Noreturn void die(const char *fmt, ...);

#endif
