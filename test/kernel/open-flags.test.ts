/**
 * open(2)'s flag handling before the lookup (fs/open.c): build_open_how() silently drops the bits outside
 * VALID_OPEN_FLAGS for the legacy open()/openat() calls, and build_open_flags() refuses __O_TMPFILE without
 * O_DIRECTORY or without write access. Both happen before an fd is reserved and before the path is looked up.
 */
import { describe, expect, it } from 'vitest';
import {
  __O_SYNC,
  __O_TMPFILE,
  EINVAL,
  EISDIR,
  ENOENT,
  ENOTDIR,
  EOPNOTSUPP,
  F_GET_SEALS,
  F_GETFL,
  F_SEAL_SEAL,
  O_CLOEXEC,
  O_DIRECTORY,
  O_DSYNC,
  O_EMPTYPATH,
  O_LARGEFILE,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  VALID_OPEN_FLAGS,
} from '../../src/uapi/index.ts';
import { runOne } from '../helpers.ts';

const NULL_DEV = '/dev/null';
/** Two high bits no open flag uses; together they make the `int` flags argument negative. */
const UNKNOWN_HIGH = 0x80000000 | 0x40000000;

describe('build_open_how(): unknown open flags are dropped', () => {
  it('open()/build_open_how(): an LP64 open with unknown high bits succeeds and F_GETFL shows O_RDWR | O_LARGEFILE only', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open(NULL_DEV, O_RDWR | UNKNOWN_HIGH);
      return { fd, fl: await sys.fcntl(fd, F_GETFL) };
    });
    expect(value.fd).toBe(0);
    expect(value.fl).toBeGreaterThanOrEqual(0);
    expect(value.fl & ~VALID_OPEN_FLAGS).toBe(0);
    expect(value.fl).toBe(O_RDWR | O_LARGEFILE);
  });

  it('open()/build_open_how(): an ILP32 open with unknown high bits succeeds and F_GETFL shows O_RDWR only (no O_LARGEFILE)', async () => {
    const { value } = await runOne(
      async (sys) => {
        const fd = await sys.open(NULL_DEV, O_RDWR | UNKNOWN_HIGH);
        return { compat: sys.compat, fd, fl: await sys.fcntl(fd, F_GETFL) };
      },
      { spawn: { compat: true } },
    );
    expect(value).toEqual({ compat: true, fd: 0, fl: O_RDWR });
  });

  it('open()/build_open_how(): every bit outside VALID_OPEN_FLAGS at once is dropped; F_GETFL matches a plain O_RDWR open', async () => {
    const { value } = await runOne(async (sys) => {
      const junk = await sys.open(NULL_DEV, O_RDWR | ~VALID_OPEN_FLAGS);
      const plain = await sys.open(NULL_DEV, O_RDWR);
      return [junk, plain, await sys.fcntl(junk, F_GETFL), await sys.fcntl(plain, F_GETFL)];
    });
    expect(value).toEqual([0, 1, O_RDWR | O_LARGEFILE, O_RDWR | O_LARGEFILE]);
  });
});

describe('build_open_flags(): __O_TMPFILE checks', () => {
  it('open()/build_open_flags(): __O_TMPFILE without O_DIRECTORY is -EINVAL, read-only or writable', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(NULL_DEV, __O_TMPFILE),
      await sys.open(NULL_DEV, __O_TMPFILE | O_RDWR),
      await sys.open(NULL_DEV, __O_TMPFILE | O_WRONLY),
      // The fd the failed opens did not take.
      await sys.open(NULL_DEV, O_RDONLY),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL, -EINVAL, 0]);
  });

  it('open()/build_open_flags(): O_TMPFILE with O_RDONLY access is -EINVAL', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open(NULL_DEV, O_TMPFILE | O_RDONLY),
      await sys.open('/dev', O_TMPFILE | O_RDONLY),
      await sys.open(NULL_DEV, O_RDONLY),
    ]);
    expect(value).toEqual([-EINVAL, -EINVAL, 0]);
  });

  it('open()/build_open_flags(): the O_TMPFILE checks come before the path lookup and the fd reservation', async () => {
    const { value } = await runOne(
      async (sys) => {
        // A missing path: -EINVAL, not -ENOENT.
        const missing = [
          await sys.open('/no-such-dir', __O_TMPFILE),
          await sys.open('/no-such-dir', O_TMPFILE),
        ];
        // A full fd table: -EINVAL, not -EMFILE.
        await sys.open(NULL_DEV, O_RDONLY);
        const full = [
          await sys.open(NULL_DEV, __O_TMPFILE | O_RDWR),
          await sys.open(NULL_DEV, O_TMPFILE | O_RDONLY),
        ];
        return { missing, full };
      },
      { spawn: { nofile: 1 } },
    );
    expect(value).toEqual({ missing: [-EINVAL, -EINVAL], full: [-EINVAL, -EINVAL] });
  });

  it('open()/build_open_flags(): writable O_TMPFILE passes the flag checks and fails the lookup of a missing path with -ENOENT', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open('/no-such-dir', O_TMPFILE | O_RDWR),
      await sys.open('/no-such-dir', O_TMPFILE | O_WRONLY),
    ]);
    expect(value).toEqual([-ENOENT, -ENOENT]);
  });

  it('open()/build_open_how() then build_open_flags(): unknown bits are dropped before the O_TMPFILE checks', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open('/no-such-dir', O_TMPFILE | O_RDWR | UNKNOWN_HIGH),
      await sys.open('/no-such-dir', O_TMPFILE | O_RDONLY | UNKNOWN_HIGH),
      await sys.open('/no-such-dir', __O_TMPFILE | O_RDWR | UNKNOWN_HIGH),
    ]);
    expect(value).toEqual([-ENOENT, -EINVAL, -EINVAL]);
  });

  it('open()/do_tmpfile(): O_TMPFILE on a non-directory is -ENOTDIR, in sysfs -EOPNOTSUPP (no ->tmpfile), in /dev (devtmpfs) an unnamed shmem file; plain O_DIRECTORY on a device is -ENOTDIR', async () => {
    const { value } = await runOne(async (sys) => {
      const out: (number | string)[] = [
        await sys.open('/dev/null', O_TMPFILE | O_RDWR),
        await sys.open('/sys', O_TMPFILE | O_RDWR),
        await sys.open('/dev/null', O_DIRECTORY | O_RDONLY),
      ];
      const tmp = await sys.open('/dev', O_TMPFILE | O_RDWR);
      const buf = sys.mem.alloc(8);
      sys.mem.write(buf, new TextEncoder().encode('hello'));
      out.push(tmp, (await sys.fcntl(tmp, F_GETFL)).toString(8), await sys.fcntl(tmp, F_GET_SEALS));
      out.push(await sys.write(tmp, buf, 5), await sys.pread(tmp, buf, 8, 0));
      out.push(await sys.open('/dev', O_DIRECTORY | O_RDONLY));
      return out;
    });
    // The tmpfile keeps O_TMPFILE (with O_DIRECTORY) in f_flags; as a shmem file that is no memfd it is sealed
    // against seals (F_SEAL_SEAL).
    expect(value).toEqual([-ENOTDIR, -EOPNOTSUPP, -ENOTDIR, 0, '20300002', F_SEAL_SEAL, 5, 5, 1]);
  });

  it('open()/build_open_how(): O_EMPTYPATH (1 << 26) is a known flag in 7.3 and stays in F_GETFL', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open('/dev/null', O_RDONLY | O_EMPTYPATH);
      return [fd, await sys.fcntl(fd, F_GETFL)];
    });
    expect(value).toEqual([0, O_RDONLY | O_EMPTYPATH | O_LARGEFILE]);
  });

  it('open()/getname(): an empty path is -ENOENT; with O_EMPTYPATH it names the directory itself (here /)', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open('', O_RDONLY),
      await sys.open('', O_RDONLY | O_EMPTYPATH),
    ]);
    expect(value).toEqual([-ENOENT, 0]);
  });

  it('open()/build_open_how(): with O_PATH only O_PATH_FLAGS survive (access mode, O_TRUNC and O_NONBLOCK dropped)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open('/dev/null', O_PATH | O_RDWR | O_TRUNC | 0o4000 | O_NOFOLLOW | O_CLOEXEC);
      return [fd, await sys.fcntl(fd, F_GETFL)];
    });
    // F_GETFL never shows O_CLOEXEC (FD-9); the O_LARGEFILE an LP64 open forces (FD-10) is added before
    // O_PATH_FLAGS are applied, so it is gone too (FD-10 in docs/quirks.md).
    expect(value).toEqual([0, O_PATH | O_NOFOLLOW]);
  });

  it('open()/build_open_flags(): __O_SYNC alone implies O_DSYNC (F_GETFL shows O_SYNC)', async () => {
    const { value } = await runOne(async (sys) => {
      const fd = await sys.open('/dev/null', O_RDWR | __O_SYNC);
      return (await sys.fcntl(fd, F_GETFL)) & O_SYNC;
    });
    expect(value).toBe(O_SYNC);
    expect(O_SYNC & O_DSYNC).toBe(O_DSYNC);
  });

  it('open()/may_open(): O_TRUNC on a directory asks for write access: -EISDIR, even with O_RDONLY', async () => {
    const { value } = await runOne(async (sys) => [
      await sys.open('/sys', O_RDONLY | O_TRUNC),
      await sys.open('/sys', O_RDONLY),
    ]);
    expect(value).toEqual([-EISDIR, 0]);
  });
});
