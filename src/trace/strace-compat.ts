/**
 * What strace 6.1 knows of the ioctls the simulator has, measured by running strace 6.1 (x86_64) on a program
 * that issues each request of the ioctl table (docs/traces.md): the name it prints and how it shows the argument.
 * It knows the names of the IIO, dma-buf, heap and udmabuf requests of Linux 6.1 but decodes none of their
 * structs (it prints the argument's address), and it has no name for the IIO DMABUF requests (7.x): those print
 * as `_IOC(_IOC_WRITE, 0x69, 0x92, 0x4)`.
 */
import type { IoctlArg } from '../uapi/ioctls.ts';

/** One request as strace 6.1 prints it: its name and how it decodes the argument (null: the raw value). */
export interface Strace61Ioctl {
  readonly name: string;
  readonly arg: IoctlArg | null;
}

const IN_INT: IoctlArg = { kind: 'int', dir: 'in' };
const OUT_INT: IoctlArg = { kind: 'int', dir: 'out' };
const NONE: IoctlArg = { kind: 'none' };

/** Requests strace 6.1 has a name for, by number; any other prints as `_IOC(...)` with its raw argument. */
export const STRACE_61_IOCTLS: ReadonlyMap<number, Strace61Ioctl> = new Map<number, Strace61Ioctl>([
  [0x541b, { name: 'FIONREAD', arg: OUT_INT }],
  [0x5421, { name: 'FIONBIO', arg: IN_INT }],
  [0x5450, { name: 'FIONCLEX', arg: NONE }],
  [0x5451, { name: 'FIOCLEX', arg: NONE }],
  [0x5452, { name: 'FIOASYNC', arg: IN_INT }],
  [0x5460, { name: 'FIOQSIZE', arg: null }],
  [0x80046990, { name: 'IIO_GET_EVENT_FD_IOCTL', arg: null }],
  [0xc0046991, { name: 'IIO_BUFFER_GET_FD_IOCTL', arg: null }],
  [0x40086200, { name: 'DMA_BUF_IOCTL_SYNC', arg: null }],
  [0x40046201, { name: 'DMA_BUF_SET_NAME_A', arg: null }],
  [0x40086201, { name: 'DMA_BUF_SET_NAME_B', arg: null }],
  [0xc0086202, { name: 'DMA_BUF_IOCTL_EXPORT_SYNC_FILE', arg: null }],
  // The number is also Android binder's: strace names both.
  [0x40086203, { name: 'BINDER_SET_IDLE_TIMEOUT or DMA_BUF_IOCTL_IMPORT_SYNC_FILE', arg: null }],
  [0xc0184800, { name: 'DMA_HEAP_IOCTL_ALLOC', arg: null }],
  [0x40187542, { name: 'UDMABUF_CREATE', arg: null }],
  [0x40087543, { name: 'UDMABUF_CREATE_LIST', arg: null }],
  [0xc0383e04, { name: 'SYNC_IOC_FILE_INFO', arg: null }],
]);
