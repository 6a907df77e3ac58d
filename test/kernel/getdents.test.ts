/**
 * getdents64(2) on the simulator's directories: what opendir()/readdir() need to list `/sys/bus/iio/devices`.
 */
import { describe, expect, it } from 'vitest';
import type { Sys } from '../../src/index.ts';
import { kernfsNameHash } from '../../src/kernel/vfs.ts';
import { EBADF, EINVAL, ENOTDIR, O_DIRECTORY, O_PATH, O_RDONLY, SEEK_SET } from '../../src/uapi/index.ts';
import { realSkip, runOne } from '../helpers.ts';

interface Dirent {
  ino: bigint;
  off: bigint;
  type: number;
  name: string;
}

/** Decodes `struct linux_dirent64` records. */
function parse(bytes: Uint8Array): Dirent[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Dirent[] = [];
  for (let at = 0; at < bytes.length; ) {
    const reclen = v.getUint16(at + 16, true);
    const nameBytes = bytes.subarray(at + 19, at + reclen);
    const end = nameBytes.indexOf(0);
    out.push({
      ino: v.getBigUint64(at, true),
      off: v.getBigInt64(at + 8, true),
      type: bytes[at + 18]!,
      name: new TextDecoder().decode(nameBytes.subarray(0, end)),
    });
    at += reclen;
  }
  return out;
}

/** getdents64 of the simulator (skips on the real-kernel runtime, which does not offer it). */
function getdents(sys: Sys): NonNullable<Sys['getdents64']> {
  if (!sys.getdents64) realSkip('getdents64 is offered by the simulator only');
  const call = sys.getdents64;
  if (!call) throw new Error('getdents64 missing');
  return call;
}

/** Every entry of the directory at `path`, reading `chunk` bytes at a time. */
async function listAll(sys: Sys, path: string, chunk: number): Promise<Dirent[] | number> {
  const fd = await sys.open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fd;
  const buf = sys.mem.alloc(chunk);
  const all: Dirent[] = [];
  for (;;) {
    const n = await getdents(sys)(fd, buf, chunk);
    if (n < 0) return n;
    if (n === 0) break;
    all.push(...parse(sys.mem.read(buf, n)));
  }
  await sys.close(fd);
  return all;
}

describe('kernfsNameHash', () => {
  it('is kernfs_name_hash(): the order sysfs lists the default board in on Linux 7.3 (lsiio there: device 1, 2, 0)', () => {
    const names = ['iio:device0', 'iio:device1', 'iio:device2', 'trigger0'];
    expect(names.map(kernfsNameHash)).toEqual([1815401073, 638657258, 1609397090, 811360092]);
    expect(kernfsNameHash('')).toBe(2);
  });
});

describe('getdents64', () => {
  it('lists /sys/bus/iio/devices: dots, then each device and trigger as a directory, in kernfs name-hash order (as Linux 7.3 lists them)', async () => {
    const { value } = await runOne((sys) => listAll(sys, '/sys/bus/iio/devices', 4096));
    const entries = value as Dirent[];
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['.', 4],
      ['..', 4],
      ['iio:device1', 4],
      ['trigger0', 4],
      ['iio:device2', 4],
      ['iio:device0', 4],
    ]);
    expect(entries.map((e) => e.off)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('gives character devices DT_CHR and attributes DT_REG; a small buffer takes several calls', async () => {
    const { value } = await runOne(async (sys) => ({
      dev: await listAll(sys, '/dev', 48),
      attrs: await listAll(sys, '/sys/bus/iio/devices/iio:device0/buffer0', 64),
    }));
    const dev = value.dev as Dirent[];
    expect(dev.map((e) => `${e.name}:${e.type}`)).toEqual([
      '.:4',
      '..:4',
      'dma_heap:4',
      'iio:device0:2',
      'iio:device1:2',
      'iio:device2:2',
      'null:2',
      'udmabuf:2',
    ]);
    const attrs = value.attrs as Dirent[];
    expect(attrs.find((e) => e.name === 'enable')?.type).toBe(8);
    expect(attrs.length).toBe(2 + 6 + 4 * 3);
  });

  it('lseek to 0 starts the listing again (rewinddir)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open('/dev/dma_heap', O_RDONLY | O_DIRECTORY);
      const buf = sys.mem.alloc(4096);
      const first = await getdents(sys)(fd, buf, 4096);
      const end = await getdents(sys)(fd, buf, 4096);
      const seek = await sys.lseek(fd, 0, SEEK_SET);
      const again = await getdents(sys)(fd, buf, 4096);
      return { first, end, seek, again, names: parse(sys.mem.read(buf, again)).map((e) => e.name) };
    });
    expect(value).toEqual({ first: 80, end: 0, seek: 0, again: 80, names: ['.', '..', 'system'] });
  });

  it('errors: -EBADF for a bad or O_PATH fd, -ENOTDIR for a file, -EINVAL when no entry fits', async () => {
    const { value } = await runOne(async (sys) => {
      const buf = sys.mem.alloc(4096);
      const pathFd = await sys.open('/sys/bus/iio/devices', O_PATH);
      const file = await sys.open('/sys/bus/iio/devices/iio:device0/name', O_RDONLY);
      const dir = await sys.open('/sys/bus/iio/devices', O_RDONLY);
      return [
        await getdents(sys)(99, buf, 4096),
        await getdents(sys)(pathFd, buf, 4096),
        await getdents(sys)(file, buf, 4096),
        await getdents(sys)(dir, buf, 16),
      ];
    });
    expect(value).toEqual([-EBADF, -EBADF, -ENOTDIR, -EINVAL]);
  });
});
