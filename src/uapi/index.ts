/**
 * The user/kernel contract in kernel spelling: errno values, ioctl numbers, flags and struct codecs of the mainline
 * profile, and the ioctl table of both profiles. The v2 profile's IIO header lives in `./iio-v2.ts` (package
 * export `iio-dmabuf-sim/uapi/v2`) because its names collide with the mainline ones.
 *
 * @packageDocumentation
 */

export * from './dma-buf.ts';
export * from './dma-heap.ts';
export * from './errno.ts';
export * from './fcntl.ts';
export * from './flags.ts';
export * from './iio.ts';
export * from './ioctl.ts';
export * from './ioctls.ts';
export * from './mman.ts';
export * from './names.ts';
export * from './poll.ts';
export * from './stat.ts';
export * from './struct.ts';
export * from './sync-file.ts';
export * from './udmabuf.ts';
