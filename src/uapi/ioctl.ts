/**
 * ioctl request number encoding, asm-generic flavour (x86, arm, arm64, riscv): `dir<<30 | size<<16 | type<<8 | nr`.
 * Rulebook §1.3.
 *
 * TypeScript has no `sizeof`, so the `_IOR`/`_IOW`/`_IOWR` helpers take the argument's byte size, e.g.
 * `_IOW('i', 0x94, iio_dmabuf.size('lp64'))` or `_IOR('i', 0x90, SIZEOF_INT)`. Results are unsigned 32-bit numbers.
 *
 * @packageDocumentation
 */

/** Bits of the command number field. */
export const _IOC_NRBITS = 8;
/** Bits of the type (magic) field. */
export const _IOC_TYPEBITS = 8;
/** Bits of the argument size field. */
export const _IOC_SIZEBITS = 14;
/** Bits of the direction field. */
export const _IOC_DIRBITS = 2;

/** Mask of the command number field (after shifting down). */
export const _IOC_NRMASK = (1 << _IOC_NRBITS) - 1;
/** Mask of the type field (after shifting down). */
export const _IOC_TYPEMASK = (1 << _IOC_TYPEBITS) - 1;
/** Mask of the size field (after shifting down). */
export const _IOC_SIZEMASK = (1 << _IOC_SIZEBITS) - 1;
/** Mask of the direction field (after shifting down). */
export const _IOC_DIRMASK = (1 << _IOC_DIRBITS) - 1;

/** Position of the command number field. */
export const _IOC_NRSHIFT = 0;
/** Position of the type field. */
export const _IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS;
/** Position of the size field. */
export const _IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS;
/** Position of the direction field. */
export const _IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS;

/** Direction: no data transfer. */
export const _IOC_NONE = 0;
/** Direction: user space writes, the kernel reads (`copy_from_user`). */
export const _IOC_WRITE = 1;
/** Direction: the kernel writes back to user space (`copy_to_user`). */
export const _IOC_READ = 2;

/** The `type` argument of the encoders: a one-character string such as `'i'`, or its code. */
export type IocType = string | number;

function typeCode(type: IocType): number {
  if (typeof type === 'number') return type;
  if (type.length !== 1)
    throw new RangeError(`ioctl type must be one character, got ${JSON.stringify(type)}`);
  return type.charCodeAt(0);
}

/**
 * Encodes a request number from its four fields, like the C macro `_IOC()`: fields are not masked, so an
 * oversized `size` spills into the direction bits exactly as it would in C. Returns an unsigned 32-bit number.
 */
export function _IOC(dir: number, type: IocType, nr: number, size: number): number {
  return (
    ((dir << _IOC_DIRSHIFT) |
      (typeCode(type) << _IOC_TYPESHIFT) |
      (nr << _IOC_NRSHIFT) |
      (size << _IOC_SIZESHIFT)) >>>
    0
  );
}

/** A request with no argument transfer. */
export function _IO(type: IocType, nr: number): number {
  return _IOC(_IOC_NONE, type, nr, 0);
}

/** A request whose argument (of `size` bytes) the kernel writes back. */
export function _IOR(type: IocType, nr: number, size: number): number {
  return _IOC(_IOC_READ, type, nr, size);
}

/** A request whose argument (of `size` bytes) the kernel reads. */
export function _IOW(type: IocType, nr: number, size: number): number {
  return _IOC(_IOC_WRITE, type, nr, size);
}

/** A request whose argument (of `size` bytes) the kernel reads and writes back. */
export function _IOWR(type: IocType, nr: number, size: number): number {
  return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);
}

/** Direction field of a request number. */
export function _IOC_DIR(req: number): number {
  return (req >>> _IOC_DIRSHIFT) & _IOC_DIRMASK;
}

/** Type (magic) field of a request number. */
export function _IOC_TYPE(req: number): number {
  return (req >>> _IOC_TYPESHIFT) & _IOC_TYPEMASK;
}

/** Command number field of a request number. */
export function _IOC_NR(req: number): number {
  return (req >>> _IOC_NRSHIFT) & _IOC_NRMASK;
}

/** Argument size field of a request number. */
export function _IOC_SIZE(req: number): number {
  return (req >>> _IOC_SIZESHIFT) & _IOC_SIZEMASK;
}

/** `_IOC_WRITE` shifted into place. */
export const IOC_IN = (_IOC_WRITE << _IOC_DIRSHIFT) >>> 0;
/** `_IOC_READ` shifted into place. */
export const IOC_OUT = (_IOC_READ << _IOC_DIRSHIFT) >>> 0;
/** `_IOC_READ|_IOC_WRITE` shifted into place. */
export const IOC_INOUT = ((_IOC_WRITE | _IOC_READ) << _IOC_DIRSHIFT) >>> 0;
/** The size field in place. */
export const IOCSIZE_MASK = (_IOC_SIZEMASK << _IOC_SIZESHIFT) >>> 0;
/** Position of the size field. */
export const IOCSIZE_SHIFT = _IOC_SIZESHIFT;

/** Generic: bytes available to read (`int *` out). Handled by the VFS only for regular files. */
export const FIONREAD = 0x541b;
/** Generic: set or clear O_NONBLOCK from an `int *` (handled by the VFS before the driver). */
export const FIONBIO = 0x5421;
/** Generic: clear FD_CLOEXEC (no argument). */
export const FIONCLEX = 0x5450;
/** Generic: set FD_CLOEXEC (no argument). */
export const FIOCLEX = 0x5451;
/** Generic: set or clear FASYNC from an `int *`. */
export const FIOASYNC = 0x5452;
/** Generic: file size (`loff_t *` out) for regular files, directories and links; `-ENOTTY` otherwise. */
export const FIOQSIZE = 0x5460;
