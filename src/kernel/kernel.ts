/**
 * The composition root of a simulated kernel: it builds the services (clock, census, paths, memory,
 * tracepoints, fences, the dma-buf core), chooses the ABI profile's operations table once, runs the
 * initcalls that create `/dev` nodes, and owns the tasks. Subsystems never see this class: each gets the
 * services it uses.
 */
import { EventEmitter } from 'eventemitter3';
import type { VirtualClock } from '../hw/clock.ts';
import type { Emitter } from '../hw/emitter.ts';
import type { Rng } from '../hw/rng.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import { ABI_OPS, type AbiOps } from './abi.ts';
import { type DmaBuf, DmaBufCore, isDmaBufFile } from './dma-buf/dma-buf.ts';
import { FenceDomain } from './dma-buf/fence.ts';
import { registerSystemHeap, type SystemHeapDeps } from './dma-buf/heap.ts';
import { registerUdmabuf, type UdmabufDeps } from './dma-buf/udmabuf.ts';
import { registerMemDevices } from './drivers/mem.ts';
import type { KernelEvents } from './events.ts';
import { FaultInjector } from './fault-inject.ts';
import { IioBus } from './iio/core.ts';
import { Census } from './kref.ts';
import { PagePool } from './pages.ts';
import type { PlatformProfile } from './platform.ts';
import { Sched } from './sched.ts';
import { Syscalls } from './syscalls.ts';
import { Task } from './task.ts';
import { Tracepoints } from './tracepoints.ts';
import { PathTree } from './vfs.ts';

export type { AbiProfile };

/** What a kernel is built from. */
export interface KernelOptions {
  readonly clock: VirtualClock;
  readonly rng: Rng;
  readonly platform: PlatformProfile;
  readonly profile: AbiProfile;
  /** RLIMIT_NOFILE soft limit of new tasks (default 1024). */
  readonly nofile?: number;
  /** Observation bus (emit side); a new one when absent. */
  readonly events?: Emitter<KernelEvents>;
  /** Memory for buffers (dma-bufs, memfds, fileio blocks): allocations beyond it fail with -ENOMEM. Default 1 GiB. */
  readonly memoryBytes?: number;
}

/** The services the initcalls get: each takes the part it declares. */
type InitContext = SystemHeapDeps & UdmabufDeps;

/** `device_initcall()`s: the character devices every kernel has, in registration order. */
const INITCALLS: readonly ((k: InitContext) => void)[] = [
  registerMemDevices,
  registerSystemHeap,
  registerUdmabuf,
];

/** One simulated kernel. */
export class Kernel {
  readonly clock: VirtualClock;
  readonly rng: Rng;
  /** The ABI profile's operations table. */
  readonly abi: AbiOps;
  /** CPU costs and cache coherence of the simulated board. */
  readonly platform: PlatformProfile;
  readonly events: Emitter<KernelEvents>;
  readonly trace: Tracepoints;
  readonly census = new Census();
  readonly paths = new PathTree();
  readonly pages: PagePool;
  readonly sched: Sched;
  readonly sys: Syscalls;
  readonly tasks = new Map<number, Task>();
  /** Fence contexts and tracepoints. */
  readonly fences: FenceDomain;
  /** The dma-buf core: live dma-bufs and their services. */
  readonly dmaBuf: DmaBufCore;
  /** IIO devices and the services their drivers get. */
  readonly iio: IioBus;
  /** Fault injection (nothing armed unless a test arms a site). */
  readonly faults: FaultInjector;
  readonly #nofile: number;
  #nextPid = 100;

  constructor(options: KernelOptions) {
    this.clock = options.clock;
    this.rng = options.rng;
    this.abi = ABI_OPS[options.profile];
    this.platform = options.platform;
    this.events = options.events ?? new EventEmitter<KernelEvents>();
    this.trace = new Tracepoints(this.events, () => this.clock.now);
    this.pages = new PagePool(options.memoryBytes ?? 1 << 30);
    this.faults = new FaultInjector(this.trace);
    this.#nofile = options.nofile ?? 1024;
    this.sched = new Sched(this.clock, this.events, options.rng.fork('sched'), options.platform, (t) =>
      this.#exitFiles(t),
    );
    this.sys = new Syscalls({
      paths: this.paths,
      census: this.census,
      sched: this.sched,
      pages: this.pages,
      now: () => this.clock.now,
      findTask: (pid) => this.tasks.get(pid),
    });
    this.fences = new FenceDomain(
      this.census,
      () => this.clock.now,
      (e) => {
        if (this.trace.enabled('fence:trace')) this.trace.emit('fence:trace', e);
      },
      () => this.sched.current,
      () => this.sched.bh,
    );
    this.dmaBuf = new DmaBufCore({
      census: this.census,
      now: () => this.clock.now,
      trace: this.trace,
      fences: this.fences,
      coherentDma: options.platform.coherentDma,
      platform: () => this.sched.platform,
      charge: (ps, memoryBound) => this.sched.charge(ps, memoryBound),
      abi: this.abi.dmaBuf,
      faults: this.faults,
    });
    this.iio = new IioBus({
      census: this.census,
      paths: this.paths,
      clock: this.clock,
      trace: this.trace,
      sched: this.sched,
      pages: this.pages,
      fences: this.fences,
      dmaBuf: this.dmaBuf,
      abi: this.abi.iio,
      faults: this.faults,
    });
    for (const initcall of INITCALLS) initcall(this);
  }

  /** Creates a task (not yet started). */
  createTask(comm: string, compat: boolean, nofile = this.#nofile): Task {
    const t = new Task(this.#nextPid++, comm, compat, nofile, this.tasks.size + 1);
    this.tasks.set(t.pid, t);
    return t;
  }

  /**
   * `copy_process()` (kernel/fork.c) as a program can observe it: a new task with the next pid and the
   * parent's `comm`, whose fd table is `dup_fd()`'s copy (the same open files, close-on-exec flags kept) and
   * whose address space is `dup_mmap()`'s (shared mappings shared, private ones copied, see {@link MM.dup}).
   * Signal handlers are inherited; pending signals are not (`init_sigpending()`). Not yet started.
   */
  fork(parent: Task): Task {
    const t = new Task(this.#nextPid++, parent.comm, parent.compat, parent.files.limit, this.tasks.size + 1, {
      files: parent.files.dup(),
      mm: parent.mm.dup(),
    });
    t.parent = parent;
    parent.children.push(t);
    for (const [sig, h] of parent.handlers) t.handlers.set(sig, { ...h });
    this.tasks.set(t.pid, t);
    return t;
  }

  /**
   * What `execve()` does to the simulated side of a task once the new image runs (`begin_new_exec()`,
   * fs/exec.c): every mapping goes (`exec_mmap()` gives it a fresh address space), close-on-exec fds are closed
   * in ascending order (`do_close_on_exec()`), handled signals go back to their default action
   * (`flush_signal_handlers()`) and `comm` becomes the new program's name (`__set_task_comm()`, at most 15
   * bytes). The pid and the other fds stay.
   */
  exec(task: Task, comm: string): void {
    task.mm.unmapAll();
    for (const fd of task.files.openFds())
      if (task.files.entry(fd)!.cloexec) task.files.remove(fd)?.file.put();
    task.handlers.clear();
    task.comm = comm.slice(0, 15);
  }

  /** Exit path of a task: every mapping goes, then every fd closes in ascending order (FD-12). */
  #exitFiles(task: Task): void {
    if (this.trace.enabled('task:exiting'))
      this.trace.emit('task:exiting', {
        pid: task.pid,
        comm: task.comm,
        returned: task.exit?.reason === 'returned',
        fds: task.files.openFds().map((fd) => {
          const file = task.files.file(fd)!;
          return {
            fd,
            path: file.path,
            dmabuf: isDmaBufFile(file) ? (file.privateData as DmaBuf).ino : null,
          };
        }),
        time: this.clock.now,
      });
    task.mm.unmapAll();
    for (const fd of task.files.openFds()) task.files.remove(fd)?.file.put();
    // exit_notify(): the parent's wait4() hears of it.
    task.parent?.childExit.wake();
  }
}
