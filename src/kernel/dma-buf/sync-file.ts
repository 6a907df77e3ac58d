/**
 * sync_file (drivers/dma-buf/sync_file.c) and fence arrays (drivers/dma-buf/dma-fence-array.c): a fence
 * exported as an fd that polls EPOLLIN once signalled and answers SYNC_IOC_FILE_INFO. Rules SFILE-2..6.
 */
import { EFAULT, EINVAL, ENOTTY } from '../../uapi/errno.ts';
import { O_RDONLY } from '../../uapi/fcntl.ts';
import { EPOLLIN } from '../../uapi/poll.ts';
import { SYNC_IOC_FILE_INFO, sync_fence_info, sync_file_info } from '../../uapi/sync-file.ts';
import type { Census } from '../kref.ts';
import { anonInodeGetfile, type Caller, compatPtrIoctl, type File, type FileOperations } from '../vfs.ts';
import { DmaFence, type DmaFenceOps, type FenceDomain } from './fence.ts';

const ARRAY_OPS: DmaFenceOps = {
  driverName: 'dma_fence_array',
  timelineName: 'unbound',
  detachNamesWhenSignaled: true,
  enableSignaling: true,
};

/** `snprintf`/`strscpy` into a `char[32]`: at most 31 characters and the NUL. */
function cstr32(s: string): string {
  return s.slice(0, 31);
}

/**
 * `dma_fence_array_create()`: a fence that signals once every member has, with the first non-zero member
 * error (SFILE-2). Takes a reference on each member.
 */
export function fenceArray(domain: FenceDomain, members: readonly DmaFence[]): DmaFence {
  const array = new DmaFence(domain, ARRAY_OPS, domain.contextAlloc(), 1);
  array.members = members.map((m) => m.get());
  let left = members.length;
  const onMember = () => {
    if (--left > 0) return;
    const err = array.members!.find((m) => m.error !== 0)?.error ?? 0;
    if (err) array.setError(err);
    array.signal();
  };
  for (const m of array.members) if (m.addCallback(onMember) !== 0) onMember();
  return array;
}

interface SyncFile {
  readonly fence: DmaFence;
}

const syncFileFops: FileOperations = {
  poll(file, pt) {
    const sf = file.privateData as SyncFile;
    pt.wait(sf.fence.waitq);
    sf.fence.enableSignaling();
    return sf.fence.signaled ? EPOLLIN : 0;
  },
  unlockedIoctl(file, cmd, arg, task) {
    if (cmd !== SYNC_IOC_FILE_INFO) return -ENOTTY;
    return syncFileInfo(file.privateData as SyncFile, arg, task);
  },
  compatIoctl: compatPtrIoctl,
  release(_inode, file) {
    (file.privateData as SyncFile).fence.put();
  },
};

/** `sync_file_create()`: a new O_RDONLY file holding its own reference to `fence`. */
export function syncFileCreate(census: Census, fence: DmaFence): File {
  const sf: SyncFile = { fence: fence.get() };
  return anonInodeGetfile(census, 'sync_file', syncFileFops, sf, O_RDONLY);
}

/** `sync_file_get_fence()`: the fence of the sync_file at `fd` (with a reference), or null. */
export function syncFileGetFence(task: Caller, fd: number): DmaFence | null {
  const file = task.files.file(fd);
  if (!file || file.fops !== syncFileFops) return null;
  return (file.privateData as SyncFile).fence.get();
}

/** `sync_file_ioctl_fence_info()` with `num_fences` 0: status and member count only (SFILE-5). */
function syncFileInfo(sf: SyncFile, arg: number, task: Caller): number {
  const abi = task.compat ? 'ilp32' : 'lp64';
  const size = sync_file_info.size(abi);
  const b = task.mm.copyFromUser(arg, size);
  if (!b) return -EFAULT;
  const info = sync_file_info.decode(b, abi);
  if (info.flags !== 0 || info.pad !== 0) return -EINVAL;
  const members = sf.fence.members ?? [sf.fence];
  const { driver, timeline } = sf.fence.names();
  if (info.num_fences !== 0) {
    if (info.num_fences < members.length) return -EINVAL;
    const entries = new Uint8Array(members.length * sync_fence_info.size(abi));
    members.forEach((m, i) => {
      const names = m.names();
      entries.set(
        sync_fence_info.encode(
          {
            obj_name: cstr32(names.timeline),
            driver_name: cstr32(names.driver),
            status: m.status,
            flags: 0,
            timestamp_ns: BigInt(m.timestamp ?? 0),
          },
          abi,
        ),
        i * sync_fence_info.size(abi),
      );
    });
    if (!task.mm.copyToUser(Number(info.sync_fence_info), entries)) return -EFAULT;
  }
  const out = sync_file_info.encode(
    {
      name: cstr32(`${driver}-${timeline}${sf.fence.context}-${sf.fence.seqno}`),
      status: sf.fence.status,
      flags: 0,
      num_fences: members.length,
      pad: 0,
      sync_fence_info: info.sync_fence_info,
    },
    abi,
  );
  if (!task.mm.copyToUser(arg, out)) return -EFAULT;
  return 0;
}
