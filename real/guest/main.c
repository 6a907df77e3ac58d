/*
 * iio-dmabuf-sim guest executor: runs the simulator's test programs on a real kernel. Without --child it is
 * the supervisor on the port to the host; with --child it is one simulated process (started by the
 * supervisor). See PROTOCOL.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"

static void usage(void) {
  fprintf(stderr,
          "usage: executor (--port PATH | --port-name NAME | --fd N) [--exe32 PATH] [--exe64 PATH] [-v]\n"
          "  PATH: a character device (virtio-serial port) or a unix socket to connect to\n");
  exit(2);
}

/* The directory of argv0 (or of /proc/self/exe) joined with name. */
static char *sibling(const char *argv0, const char *name) {
  char self[4096];
  const char *path = argv0;
  if (!strchr(argv0, '/')) {
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return strdup(name);
    self[n] = 0;
    path = self;
  }
  const char *slash = strrchr(path, '/');
  size_t dl = (size_t)(slash - path) + 1;
  char *out = malloc(dl + strlen(name) + 1);
  if (!out) exit(2);
  memcpy(out, path, dl);
  strcpy(out + dl, name);
  return out;
}

int main(int argc, char **argv) {
  struct sup_opts o = {NULL, NULL, -1, NULL, NULL, 0};
  int child = 0;
  unsigned long id = 0, flags = 0, parent = 0;
  long nofile = 0;
  const char *name = "proc";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-v")) {
      o.verbose = 1;
      continue;
    }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--port")) o.port = v;
    else if (!strcmp(a, "--port-name")) o.port_name = v;
    else if (!strcmp(a, "--fd")) o.fd = atoi(v);
    else if (!strcmp(a, "--exe32")) o.exe32 = v;
    else if (!strcmp(a, "--exe64")) o.exe64 = v;
    else if (!strcmp(a, "--child")) child = 1;
    else if (!strcmp(a, "--proc")) id = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--flags")) flags = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--nofile")) nofile = strtol(v, NULL, 10);
    else if (!strcmp(a, "--name")) name = v;
    else if (!strcmp(a, "--parent")) parent = strtoul(v, NULL, 10);
    else usage();
  }
  if (child) return child_main((uint32_t)id, (uint32_t)flags, nofile, name, (pid_t)parent);
  if (!o.port && !o.port_name && o.fd < 0) usage();
  if (!o.exe64) o.exe64 = strchr(argv[0], '/') ? argv[0] : sibling(argv[0], "executor");
  if (!o.exe32) o.exe32 = sibling(argv[0], "executor32");
  return supervisor_main(&o);
}
