/**
 * `get_user()` / `put_user()` of a C `int` (arch/x86/include/asm/uaccess.h): one word between the kernel
 * and the calling task's memory, through a scratch word so that the common case allocates nothing.
 */
import type { Caller } from './vfs.ts';

const word = new Uint8Array(4);
const wordView = new DataView(word.buffer);

/** Reads a C `int` at `addr` of the caller's memory, or null on a fault (-EFAULT for the caller). */
export function getUserInt(task: Caller, addr: number): number | null {
  return task.mm.copyFromUserInto(word, 0, addr, 4) ? wordView.getInt32(0, true) : null;
}

/** Writes a C `int` at `addr` of the caller's memory; false on a fault. */
export function putUserInt(task: Caller, addr: number, value: number): boolean {
  wordView.setInt32(0, value, true);
  return task.mm.copyToUser(addr, word);
}
