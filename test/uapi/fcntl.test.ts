import { describe, expect, it } from 'vitest';
import {
  AT_FDCWD,
  F_ADD_SEALS,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GET_SEALS,
  F_GETFD,
  F_GETFL,
  F_SEAL_EXEC,
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  F_SETFD,
  F_SETFL,
  FASYNC,
  FD_CLOEXEC,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  MFD_HUGETLB,
  MFD_NOEXEC_SEAL,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_LARGEFILE,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  RLIMIT_NOFILE_DEFAULT,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
} from '../../src/uapi/fcntl.ts';

describe('fcntl constants (rulebook 1.2)', () => {
  it('1.2: open flags (octal)', () => {
    expect([O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE]).toEqual([0, 1, 2, 3]);
    expect([O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK]).toEqual([0o100, 0o200, 0o1000, 0o2000, 0o4000]);
    expect([FASYNC, O_LARGEFILE, O_CLOEXEC]).toEqual([0o20000, 0o100000, 0o2000000]);
    expect(O_CLOEXEC).toBe(0x80000);
  });

  it('1.2: fcntl commands and FD_CLOEXEC', () => {
    expect([F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL]).toEqual([0, 1, 2, 3, 4]);
    expect([F_DUPFD_CLOEXEC, F_ADD_SEALS, F_GET_SEALS]).toEqual([1030, 1033, 1034]);
    expect(FD_CLOEXEC).toBe(1);
  });

  it('1.2: seals', () => {
    expect([F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC]).toEqual(
      [0x1, 0x2, 0x4, 0x8, 0x10, 0x20],
    );
  });

  it('1.2: memfd flags', () => {
    expect([MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC]).toEqual([
      0x1, 0x2, 0x4, 0x8, 0x10,
    ]);
  });

  it('FD-2: AT_FDCWD, SEEK_*, RLIMIT_NOFILE default 1024', () => {
    expect(AT_FDCWD).toBe(-100);
    expect([SEEK_SET, SEEK_CUR, SEEK_END]).toEqual([0, 1, 2]);
    expect(RLIMIT_NOFILE_DEFAULT).toBe(1024);
  });
});
