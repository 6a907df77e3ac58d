/**
 * Every scenario action, in the order the scenario schema lists them: adding an action is one entry here
 * plus its `defineAction({ name, schema, check, run })`. The step schema and `ACTIONS` (schema.ts), the
 * JSON Schema of scenario files, the loader's checks and the interpreter all derive from this table.
 */
import { foreach, loop } from './control.ts';
import type { ActionDef } from './define.ts';
import {
  attach,
  attr,
  bufferFd,
  detach,
  enableBuffer,
  enableChannels,
  enqueue,
  heapAlloc,
  iioAlloc,
  sync,
} from './iio.ts';
import { ioctl } from './ioctl.ts';
import { check, fill } from './memory.ts';
import {
  close,
  compute,
  dup,
  dup2,
  fcntl,
  ftruncate,
  kill,
  lseek,
  memfdCreate,
  mmap,
  munmap,
  open,
  poll,
  pread,
  read,
  sigaction,
  sleep,
  write,
} from './syscalls.ts';

/** The actions: syscalls, user-space work, helpers that expand to syscalls, then loops. */
export const ACTION_TABLE = [
  open,
  close,
  dup,
  dup2,
  read,
  write,
  pread,
  lseek,
  fcntl,
  ioctl,
  mmap,
  munmap,
  poll,
  sleep,
  compute,
  memfdCreate,
  ftruncate,
  kill,
  sigaction,
  attr,
  enableChannels,
  enableBuffer,
  bufferFd,
  heapAlloc,
  iioAlloc,
  attach,
  detach,
  enqueue,
  sync,
  fill,
  check,
  loop,
  foreach,
] as const;

/** Step action names. */
export type ActionName = (typeof ACTION_TABLE)[number]['name'];

const BY_NAME: ReadonlyMap<string, ActionDef> = new Map(ACTION_TABLE.map((a) => [a.name, a as ActionDef]));

/** The action a step key names, or undefined. */
export function actionNamed(name: string): ActionDef | undefined {
  return BY_NAME.get(name);
}
