/**
 * Inherited standard streams: a process spawned with `stdio: 'inherit'` gets `/dev/null` on fd 0 and, on fds
 * 1 and 2, a terminal-like character file whose writes go to the host (the CLI's stdout and stderr), as a
 * shell's child writes to its terminal. Reads see end of file; seeking is -ESPIPE, as on a tty.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { Task } from '../kernel/task.ts';
import { File, type FileOperations, newInode } from '../kernel/vfs.ts';
import { EFAULT, ESPIPE } from '../uapi/errno.ts';
import { O_RDWR } from '../uapi/fcntl.ts';

/** Where inherited fds 1 and 2 write. */
export interface HostStdio {
  write(stream: 'stdout' | 'stderr', bytes: Uint8Array): void;
}

/** The Node process's own streams. */
export const PROCESS_STDIO: HostStdio = {
  write: (stream, bytes) => {
    (stream === 'stdout' ? process.stdout : process.stderr).write(bytes);
  },
};

interface HostFile {
  readonly stream: 'stdout' | 'stderr';
  readonly host: HostStdio;
}

/** Major of the pseudo-terminal slaves (`/dev/pts/N`). */
const PTS_MAJOR = 136;

/** Most bytes one write() passes on. */
const MAX_WRITE = 1 << 20;

const hostFops: FileOperations = {
  read: () => 0,
  write: (file, buf, count, task) => {
    const h = file.privateData as HostFile;
    if (count === 0) return 0;
    // A partial write, as a tty may do, keeps one call's copy bounded.
    const n = Math.min(count, MAX_WRITE);
    const bytes = task.mm.copyFromUser(buf, n);
    if (!bytes) return -EFAULT;
    h.host.write(h.stream, bytes);
    return n;
  },
  llseek: () => -ESPIPE,
};

/** Gives `task` `/dev/null` on fd 0 and the host's stdout and stderr on fds 1 and 2 (as `/dev/pts/0`). */
export function installInheritedStdio(kernel: Kernel, task: Task, host: HostStdio): void {
  kernel.sys.open(task, '/dev/null', O_RDWR);
  const inode = newInode(kernel.paths.allocIno(), 'chr', 0o620, hostFops, null, {
    major: PTS_MAJOR,
    minor: 0,
  });
  for (const [fd, stream] of [
    [1, 'stdout'],
    [2, 'stderr'],
  ] as const) {
    const file = new File(kernel.census, inode, O_RDWR, '/dev/pts/0');
    file.privateData = { stream, host } satisfies HostFile;
    file.opened = true;
    task.files.install(fd, file, false);
  }
}
