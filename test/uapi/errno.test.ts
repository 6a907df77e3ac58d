import { describe, expect, it } from 'vitest';
import {
  E2BIG,
  EACCES,
  EAGAIN,
  EBADF,
  EBADFD,
  EBUSY,
  ECHILD,
  EDEADLK,
  EEXIST,
  EFAULT,
  EFBIG,
  EINTR,
  EINVAL,
  EIO,
  EISDIR,
  EMFILE,
  ENAMETOOLONG,
  ENFILE,
  ENODEV,
  ENOENT,
  ENOIOCTLCMD,
  ENOMEM,
  ENOSPC,
  ENOSYS,
  ENOTDIR,
  ENOTSUP,
  ENOTTY,
  ENXIO,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  EPIPE,
  ERANGE,
  ERESTARTNOHAND,
  ERESTARTSYS,
  EROFS,
  ERRNO,
  ESPIPE,
  ESRCH,
  ETIMEDOUT,
  EWOULDBLOCK,
  EXDEV,
  errnoFromName,
  errnoName,
  strerror,
} from '../../src/uapi/errno.ts';

describe('errno values', () => {
  it('1.1: the rulebook errno list has the asm-generic numbers', () => {
    expect([
      EPERM,
      ENOENT,
      EINTR,
      EBADF,
      EAGAIN,
      ENOMEM,
      EACCES,
      EFAULT,
      EBUSY,
      EEXIST,
      ENODEV,
      EINVAL,
      EMFILE,
      ENOTTY,
      ESPIPE,
      ERANGE,
      EDEADLK,
      EOVERFLOW,
      EBADFD,
      EOPNOTSUPP,
    ]).toEqual([1, 2, 4, 9, 11, 12, 13, 14, 16, 17, 19, 22, 24, 25, 29, 34, 35, 75, 77, 95]);
  });

  it('1.1: the extra errnos have the asm-generic numbers', () => {
    expect({
      ESRCH,
      EIO,
      ENXIO,
      E2BIG,
      ECHILD,
      EXDEV,
      ENOTDIR,
      EISDIR,
      ENFILE,
      EFBIG,
      ENOSPC,
      EROFS,
      EPIPE,
      ENAMETOOLONG,
      ENOSYS,
      ETIMEDOUT,
    }).toEqual({
      ESRCH: 3,
      EIO: 5,
      ENXIO: 6,
      E2BIG: 7,
      ECHILD: 10,
      EXDEV: 18,
      ENOTDIR: 20,
      EISDIR: 21,
      ENFILE: 23,
      EFBIG: 27,
      ENOSPC: 28,
      EROFS: 30,
      EPIPE: 32,
      ENAMETOOLONG: 36,
      ENOSYS: 38,
      ETIMEDOUT: 110,
    });
  });

  it('1.1 SIG-1 IOC-7: kernel-internal ERESTARTSYS 512, ERESTARTNOHAND 514, ENOIOCTLCMD 515', () => {
    expect([ERESTARTSYS, ERESTARTNOHAND, ENOIOCTLCMD]).toEqual([512, 514, 515]);
  });

  it('aliases share numbers with their canonical names', () => {
    expect(EWOULDBLOCK).toBe(EAGAIN);
    expect(ENOTSUP).toBe(EOPNOTSUPP);
  });

  it('ERRNO maps every name to its exported constant and numbers are unique', () => {
    expect(ERRNO.EINVAL).toBe(22);
    expect(ERRNO.ENOIOCTLCMD).toBe(515);
    const numbers = Object.values(ERRNO);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(Object.keys(ERRNO)).toHaveLength(44);
  });
});

describe('errnoName / errnoFromName', () => {
  it('names a number and back', () => {
    expect(errnoName(22)).toBe('EINVAL');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(515)).toBe('ENOIOCTLCMD');
    expect(errnoFromName('EBADFD')).toBe(77);
    expect(errnoFromName('ERESTARTSYS')).toBe(512);
  });

  it('is undefined for unknown numbers and names', () => {
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(-22)).toBeUndefined();
    expect(errnoName(37)).toBeUndefined();
    expect(errnoFromName('EWOULDBLOCK')).toBeUndefined();
    expect(errnoFromName('toString')).toBeUndefined();
    expect(errnoFromName('einval')).toBeUndefined();
  });

  it('round-trips every table entry', () => {
    for (const [name, n] of Object.entries(ERRNO)) {
      expect(errnoName(n)).toBe(name);
      expect(errnoFromName(name)).toBe(n);
    }
  });
});

describe('strerror (glibc 2.36 texts)', () => {
  it.each([
    [EPERM, 'Operation not permitted'],
    [ENOENT, 'No such file or directory'],
    [ESRCH, 'No such process'],
    [EINTR, 'Interrupted system call'],
    [EIO, 'Input/output error'],
    [ENXIO, 'No such device or address'],
    [E2BIG, 'Argument list too long'],
    [EBADF, 'Bad file descriptor'],
    [ECHILD, 'No child processes'],
    [EAGAIN, 'Resource temporarily unavailable'],
    [ENOMEM, 'Cannot allocate memory'],
    [EACCES, 'Permission denied'],
    [EFAULT, 'Bad address'],
    [EBUSY, 'Device or resource busy'],
    [EEXIST, 'File exists'],
    [EXDEV, 'Invalid cross-device link'],
    [ENODEV, 'No such device'],
    [ENOTDIR, 'Not a directory'],
    [EISDIR, 'Is a directory'],
    [EINVAL, 'Invalid argument'],
    [ENFILE, 'Too many open files in system'],
    [EMFILE, 'Too many open files'],
    [ENOTTY, 'Inappropriate ioctl for device'],
    [EFBIG, 'File too large'],
    [ENOSPC, 'No space left on device'],
    [ESPIPE, 'Illegal seek'],
    [EROFS, 'Read-only file system'],
    [EPIPE, 'Broken pipe'],
    [ERANGE, 'Numerical result out of range'],
    [EDEADLK, 'Resource deadlock avoided'],
    [ENAMETOOLONG, 'File name too long'],
    [ENOSYS, 'Function not implemented'],
    [EOVERFLOW, 'Value too large for defined data type'],
    [EBADFD, 'File descriptor in bad state'],
    [EOPNOTSUPP, 'Operation not supported'],
    [ETIMEDOUT, 'Connection timed out'],
  ])('strerror(%i) is %s', (n, text) => {
    expect(strerror(n)).toBe(text);
  });

  it('0 is Success', () => {
    expect(strerror(0)).toBe('Success');
  });

  it('kernel-internal and unknown numbers are "Unknown error N"', () => {
    expect(strerror(ERESTARTSYS)).toBe('Unknown error 512');
    expect(strerror(ERESTARTNOHAND)).toBe('Unknown error 514');
    expect(strerror(ENOIOCTLCMD)).toBe('Unknown error 515');
    expect(strerror(4095)).toBe('Unknown error 4095');
    expect(strerror(-22)).toBe('Unknown error -22');
  });
});
