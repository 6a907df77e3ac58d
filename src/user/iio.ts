/**
 * A small user-space helper library for simulated programs, in the spirit of libiio's local backend: sysfs
 * attribute reads and writes, channel enables, buffer fds. Everything goes through the program's syscalls,
 * so traces show exactly what a real program would do. Every helper returns the raw kernel result
 * (>= 0 or -errno) of the call that failed, never throws on a kernel error.
 */
import type { Sys } from '../sim/process.ts';
import { O_RDONLY, O_RDWR, O_WRONLY } from '../uapi/fcntl.ts';
import { ioctlDef } from '../uapi/ioctls.ts';
import { callIoctl } from './ioctl.ts';

const GET_FD = ioctlDef('IIO_BUFFER_GET_FD_IOCTL');
const encoder = new TextEncoder();
const decoder = new TextDecoder('latin1');

/** sysfs directory of `iio:deviceN`. */
export function iioSysfsDir(device: number | string): string {
  const name = typeof device === 'number' ? `iio:device${device}` : device;
  return `/sys/bus/iio/devices/${name}`;
}

/** Writes `text` to a sysfs file: open, write, close. Returns the write's result or the first error. */
export async function writeAttr(sys: Sys, path: string, text: string): Promise<number> {
  const fd = await sys.open(path, O_WRONLY);
  if (fd < 0) return fd;
  const bytes = encoder.encode(text);
  const addr = sys.mem.alloc(Math.max(1, bytes.length));
  sys.mem.write(addr, bytes);
  const ret = await sys.write(fd, addr, bytes.length);
  sys.mem.free(addr);
  await sys.close(fd);
  return ret;
}

/** Reads a sysfs file whole: the text, or a negative errno. */
export async function readAttr(sys: Sys, path: string): Promise<string | number> {
  const fd = await sys.open(path, O_RDONLY);
  if (fd < 0) return fd;
  const addr = sys.mem.alloc(4096);
  let text = '';
  for (;;) {
    const n = await sys.read(fd, addr, 4096);
    if (n < 0) {
      sys.mem.free(addr);
      await sys.close(fd);
      return n;
    }
    if (n === 0) break;
    text += decoder.decode(sys.mem.read(addr, n));
  }
  sys.mem.free(addr);
  await sys.close(fd);
  return text;
}

/** Enables (or disables) scan elements `channels` of buffer `buffer` of a device. Returns 0 or the first error. */
export async function enableChannels(
  sys: Sys,
  device: number | string,
  channels: readonly string[],
  on = true,
  buffer = 0,
): Promise<number> {
  for (const ch of channels) {
    const r = await writeAttr(sys, `${iioSysfsDir(device)}/buffer${buffer}/${ch}_en`, on ? '1' : '0');
    if (r < 0) return r;
  }
  return 0;
}

/** Writes buffer `buffer`'s `enable` attribute. */
export async function setBufferEnabled(
  sys: Sys,
  device: number | string,
  on: boolean,
  buffer = 0,
): Promise<number> {
  return writeAttr(sys, `${iioSysfsDir(device)}/buffer${buffer}/enable`, on ? '1' : '0');
}

/** Opens `/dev/iio:deviceN` and asks for buffer `index`'s fd. Returns `{ chardev, fd }` or a negative errno. */
export async function openBuffer(
  sys: Sys,
  device: number,
  index = 0,
  flags = O_RDWR,
): Promise<{ chardev: number; fd: number } | number> {
  const chardev = await sys.open(`/dev/iio:device${device}`, flags);
  if (chardev < 0) return chardev;
  const { ret, out } = await callIoctl(sys, chardev, GET_FD, index);
  if (ret < 0) {
    await sys.close(chardev);
    return ret;
  }
  return { chardev, fd: out! };
}
