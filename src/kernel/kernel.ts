/**
 * One simulated kernel: the clock it runs on, its tasks, path tree, object census, syscall layer and IIO
 * devices. Drivers register devices here; the simulator above creates tasks and runs them.
 */
import { EventEmitter } from 'eventemitter3';
import type { Scheduler } from '../hw/clock.ts';
import type { Rng } from '../hw/rng.ts';
import { KernelBug } from './bug.ts';
import { type DmaBuf, isDmaBufFile } from './dma-buf/dma-buf.ts';
import { FenceDomain } from './dma-buf/fence.ts';
import { registerSystemHeap } from './dma-buf/heap.ts';
import { registerUdmabuf } from './dma-buf/udmabuf.ts';
import { registerMemDevices } from './drivers/mem.ts';
import type { AccessEvents, IioEvents, KernelEvents } from './events.ts';
import type { BufferIoctlHandler } from './iio/buffer.ts';
import { MainlineDmabufIoctls } from './iio/buffer-dmabuf.ts';
import { V2DmabufIoctls } from './iio/buffer-dmabuf-v2.ts';
import { IioDev, type IioDevSpec } from './iio/core.ts';
import { Census } from './kref.ts';
import type { PlatformProfile } from './platform.ts';
import { Sched } from './sched.ts';
import { Syscalls } from './syscalls.ts';
import { Task } from './task.ts';
import { PathTree } from './vfs.ts';

/** ABI profile: the 2022 v2 series or what Linux merged. */
export type AbiProfile = 'mainline' | 'v2';

/** What a kernel is built from. */
export interface KernelOptions {
  readonly clock: Scheduler;
  readonly rng: Rng;
  readonly platform: PlatformProfile;
  readonly profile: AbiProfile;
  /** RLIMIT_NOFILE soft limit of new tasks (default 1024). */
  readonly nofile?: number;
  /** Observation bus; a new one when absent. */
  readonly events?: EventEmitter<KernelEvents>;
  /** Memory for buffers (dma-bufs, memfds, fileio blocks): allocations beyond it fail with -ENOMEM. Default 1 GiB. */
  readonly memoryBytes?: number;
}

/** A simulated kernel. */
export class Kernel {
  readonly clock: Scheduler;
  readonly rng: Rng;
  readonly profile: AbiProfile;
  /** CPU costs and cache coherence of the simulated board. */
  readonly platform: PlatformProfile;
  readonly events: EventEmitter<KernelEvents>;
  readonly census = new Census();
  readonly paths = new PathTree();
  readonly sched: Sched;
  readonly sys: Syscalls;
  readonly tasks = new Map<number, Task>();
  readonly iioDevices: IioDev[] = [];
  /** The DMABUF ioctls of buffer fds, installed by the profile's DMABUF module. */
  bufferIoctl: BufferIoctlHandler | null = null;
  /** Fence contexts and tracepoints. */
  readonly fences: FenceDomain;
  /** dma-bufs alive, by inode number. */
  readonly dmabufs = new Map<number, DmaBuf>();
  readonly #nofile: number;
  readonly #memoryBytes: number;
  #memUsed = 0;
  #nextPid = 100;
  #nextDmabufIno = 1;

  constructor(options: KernelOptions) {
    this.clock = options.clock;
    this.rng = options.rng;
    this.profile = options.profile;
    this.platform = options.platform;
    this.events = options.events ?? new EventEmitter<KernelEvents>();
    this.#nofile = options.nofile ?? 1024;
    this.#memoryBytes = options.memoryBytes ?? 1 << 30;
    this.sched = new Sched(this.clock, this.events, options.rng.fork('sched'), options.platform, (t) =>
      this.#exitFiles(t),
    );
    this.sys = new Syscalls({
      paths: this.paths,
      census: this.census,
      sched: this.sched,
      now: () => this.clock.now,
      findTask: (pid) => this.tasks.get(pid),
      kernel: this,
    });
    this.fences = new FenceDomain(
      this.census,
      () => this.clock.now,
      (e) => {
        if (this.events.listenerCount('fence:trace') > 0) this.events.emit('fence:trace', e);
      },
      () => this.sched.current,
    );
    registerMemDevices(this);
    registerSystemHeap(this);
    registerUdmabuf(this);
    this.bufferIoctl = this.profile === 'v2' ? new V2DmabufIoctls(this) : new MainlineDmabufIoctls(this);
  }

  /** Bytes of buffer memory still free. */
  memAvailable(): number {
    return this.#memoryBytes - this.#memUsed;
  }

  /** Takes `bytes` of buffer memory; false (nothing taken) when there is not enough. */
  allocPages(bytes: number): boolean {
    if (bytes > this.memAvailable()) return false;
    this.#memUsed += bytes;
    return true;
  }

  /** Gives back memory taken with {@link Kernel.allocPages}. */
  freePages(bytes: number): void {
    this.#memUsed -= bytes;
    if (this.#memUsed < 0) throw new KernelBug('buffer memory accounting went negative');
  }

  /** A new dmabuffs inode number, unique from 1 (DBUF-4). */
  allocDmabufIno(): number {
    return this.#nextDmabufIno++;
  }

  /** Tracks a dma-buf from export to release. */
  dmabufExported(dmabuf: DmaBuf): void {
    this.dmabufs.set(dmabuf.ino, dmabuf);
  }

  /** The dma-buf's last reference went. */
  dmabufReleased(dmabuf: DmaBuf): void {
    this.dmabufs.delete(dmabuf.ino);
  }

  /** Creates a task (not yet started). */
  createTask(comm: string, compat: boolean, nofile = this.#nofile): Task {
    const t = new Task(this.#nextPid++, comm, compat, nofile);
    this.tasks.set(t.pid, t);
    return t;
  }

  /** Exit path of a task: every mapping goes, then every fd closes in ascending order (FD-12). */
  #exitFiles(task: Task): void {
    if (this.events.listenerCount('task:exiting') > 0)
      this.emitIio('task:exiting', {
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
  }

  /** Registers an IIO device: the next free `iio:deviceN`. `build` attaches buffers before registration. */
  registerIioDevice(spec: IioDevSpec, build: (dev: IioDev) => void): IioDev {
    const dev = new IioDev(this, this.iioDevices.length, spec);
    build(dev);
    dev.register();
    this.iioDevices.push(dev);
    return dev;
  }

  /** Emits an IIO observation event when someone listens. */
  emitIio<K extends keyof (IioEvents & AccessEvents)>(
    name: K,
    ...args: Parameters<(IioEvents & AccessEvents)[K]>
  ): void {
    if (this.events.listenerCount(name) > 0)
      (this.events.emit as (n: K, ...a: Parameters<(IioEvents & AccessEvents)[K]>) => boolean)(name, ...args);
  }

  /** Logs a kernel message (dev_err/dev_warn). */
  log(level: 'err' | 'warn' | 'info', device: string, message: string): void {
    this.emitIio('kernel:log', { level, device, message, time: this.clock.now });
  }

  /**
   * `schedule_work()`: runs `fn` from a worker after whatever runs now has finished: an interrupt or worker
   * at once (same virtual time), a syscall when it returns to user space or goes to sleep (DMAQ-11).
   */
  scheduleWork(label: string, fn: () => void): void {
    const task = this.sched.current;
    if (task) this.sched.deferWork(task, label, fn);
    else this.clock.after(0, `work: ${label}`, fn);
  }
}
