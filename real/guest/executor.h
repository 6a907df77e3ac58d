/* Entry points of the two roles of the executor. */
#ifndef EXECUTOR_H
#define EXECUTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Runs one simulated process on the channel at fd 3; never returns. */
int child_main(uint32_t id, uint32_t flags, long nofile, const char *name, pid_t parent);

/* Options of the supervisor. */
struct sup_opts {
  const char *port;      /* char device or unix socket path */
  const char *port_name; /* virtio-serial port name to look up in /sys/class/virtio-ports */
  int fd;                /* an inherited, already connected fd (-1: none) */
  const char *exe64;     /* executable for 64-bit processes */
  const char *exe32;     /* executable for compat processes */
  int verbose;
};

/* Serves the host on the port until it goes away (unix socket) or forever (virtio port). */
int supervisor_main(const struct sup_opts *o);

/* PUT: stores a file from the host; 0 or -errno. */
int32_t host_put(const uint8_t *p, size_t n);
/* RUN: runs a host program to its end and puts the reply payload into out (frame begun, not ended). */
struct buf;
void host_run(struct buf *out, const uint8_t *p, size_t n);

#endif
