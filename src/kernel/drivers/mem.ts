/**
 * `/dev/null` (drivers/char/mem.c): reads see end of file, writes vanish. Every simulated process starts
 * with it on fds 0, 1 and 2, so the first file a program opens gets fd 3 as on a real system.
 */
import { type FileOperations, newInode, type PathTree } from '../vfs.ts';

/** Major number of the memory devices. */
export const MEM_MAJOR = 1;

const nullFops: FileOperations = {
  read: () => 0,
  write: (_file, _buf, count) => count,
  llseek: () => 0,
};

/** Creates `/dev/null`. */
export function registerMemDevices(deps: { readonly paths: PathTree }): void {
  deps.paths.add(
    '/dev/null',
    newInode(deps.paths.allocIno(), 'chr', 0o666, nullFops, null, { major: MEM_MAJOR, minor: 3 }),
  );
}
