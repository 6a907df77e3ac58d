/**
 * Simulated processes (`struct task_struct`, one thread each): fd table, address space, signal state and
 * the syscall in progress.
 */
import type { SimEvent } from '../hw/clock.ts';
import { MM } from './mm.ts';
import { type Caller, FdTable } from './vfs.ts';
import { type Sleep, type WaitEntry, WaitQueue } from './wait.ts';

/** Life cycle of a task. */
export type TaskState = 'new' | 'user' | 'syscall' | 'sleeping' | 'exited';

/** How a task ended. */
export interface TaskExit {
  /** Exit status when the program returned (0) or threw (1). */
  readonly code: number | null;
  /** Signal number when it was killed. */
  readonly signal: number | null;
  /** Virtual time of the exit. */
  readonly time: number;
  /** What ended it, in words ("returned", "killed by SIGKILL", "segmentation fault at 0x0"). */
  readonly reason: string;
}

/** A blocked syscall: what it waits on and how it goes on. */
export interface Sleeping {
  readonly sleep: Sleep;
  readonly entry: WaitEntry;
  readonly queues: readonly WaitQueue[];
  timer: SimEvent | null;
  /** Set once woken: the scheduled resume. */
  wakeup: SimEvent | null;
  readonly since: number;
}

/** The syscall a task is executing. */
export interface SyscallFrame {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly enterTime: number;
  /** Runs the syscall from the start (signal restart). */
  readonly start: () => import('./wait.ts').SysRet;
  /** The scheduled return to user space. */
  returnEvent: SimEvent | null;
}

/** One simulated process. */
export class Task implements Caller {
  readonly pid: number;
  /** Command name (`comm`), as strace's `-f` and ftrace show it; exec sets it to the new program's. */
  comm: string;
  /** ILP32 process on a 64-bit kernel (CONFIG_COMPAT). */
  readonly compat: boolean;
  /** The CPU it runs on (each task has one of its own; CPU 0 takes the interrupts), as ftrace shows it. */
  readonly cpu: number;
  readonly files: FdTable;
  readonly mm: MM;
  /** The task that forked this one (`real_parent`), or null for a process the simulator started. */
  parent: Task | null = null;
  /** Tasks this one forked, oldest first. */
  readonly children: Task[] = [];
  /** Woken when a child exits (`signal->wait_chldexit`). */
  readonly childExit = new WaitQueue('wait_chldexit');
  /** A parent's wait collected this task's exit (it was reaped). */
  reaped = false;
  state: TaskState = 'new';
  exit: TaskExit | null = null;
  /** The syscall in progress, or null in user space. */
  frame: SyscallFrame | null = null;
  sleeping: Sleeping | null = null;
  /** Signals sent but not yet acted upon. */
  readonly pendingSignals: number[] = [];
  /** Installed handlers: signal → SA_RESTART set. Signals without a handler kill. */
  readonly handlers = new Map<number, { restart: boolean }>();
  /** Syscalls made. */
  syscalls = 0;
  /** Virtual CPU time charged (syscall costs, copies, compute). */
  cpuNs = 0;
  /** Bytes copied between kernel and user for this task (data and syscall arguments). */
  copiedBytes = 0;
  /**
   * CPU time (ps) the syscall in progress spent beyond its entry and its cacheable copies (uncached reads,
   * cache maintenance, DMA mapping): charged with the syscall's cost when it returns.
   */
  pendingPs = 0;

  /** `copied`: a forked child's fd table and address space (else empty ones). */
  constructor(
    pid: number,
    comm: string,
    compat: boolean,
    nofile: number,
    cpu = 0,
    copied?: { files: FdTable; mm: MM },
  ) {
    this.pid = pid;
    this.cpu = cpu;
    this.comm = comm;
    this.compat = compat;
    this.files = copied?.files ?? new FdTable(nofile);
    this.mm = copied?.mm ?? new MM(compat);
  }

  /** True until the task exits. */
  get alive(): boolean {
    return this.state !== 'exited';
  }
}
