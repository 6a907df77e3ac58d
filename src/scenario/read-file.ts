/**
 * Reading a scenario file from disk without trusting it: only a regular file is read (a FIFO, a character
 * device such as /dev/zero, a directory or a socket is refused without reading), and at most
 * {@link MAX_SCENARIO_BYTES} + 1 bytes are read, so that neither memory nor time depends on what the path
 * names.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { ScenarioError } from './errors.ts';

/** Largest scenario file accepted, in bytes (of UTF-8, not characters). */
export const MAX_SCENARIO_BYTES = 1 << 20;

/** The text of a scenario file, or the one located error that stops it. */
export type ReadResult = { ok: true; text: string } | { ok: false; error: ScenarioError };

/** What a file that is not a regular file is, for messages. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Why an open or a read failed, in words. */
function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ENXIO') return 'not a regular file (a socket or a device with nothing behind it)';
  return code ?? String(e);
}

/**
 * Reads a scenario file as UTF-8 without its byte-order mark. Opens without blocking (a FIFO with no
 * writer does not hang the open), refuses anything but a regular file, and reads at most
 * `maxBytes` + 1 bytes: one more than the limit tells a file over it without reading the rest.
 */
export function readScenarioFile(file: string, maxBytes = MAX_SCENARIO_BYTES): ReadResult {
  const fail = (message: string): ReadResult => ({ ok: false, error: { file, line: 1, col: 1, message } });
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return fail(`cannot read the file (${reason(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return fail(`cannot read the file: it is ${kindOf(st)}, not a regular file`);
    // Sized from fstat, grown (up to the limit + 1) if the file grows while it is read.
    let buf = Buffer.alloc(Math.min(maxBytes + 1, st.size + 1));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (buf.length > maxBytes) break;
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > maxBytes) return fail(`file is larger than ${maxBytes} bytes`);
    return { ok: true, text: buf.toString('utf8', 0, n).replace(/^\uFEFF/, '') };
  } catch (e) {
    return fail(`cannot read the file (${reason(e)})`);
  } finally {
    closeSync(fd);
  }
}
