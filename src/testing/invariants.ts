/**
 * Global invariants of a simulated system, checked between steps by the property tests and the fuzzer.
 * Refcount underflow, release of a released object and double fence signals are caught where they happen
 * (they throw `KernelBug`); the checks here look at the whole system: object counts, fd tables and the DMA
 * byte accounting.
 */
import type { Simulator } from '../sim/simulator.ts';
import type { ContractModel } from './model.ts';

/** Census kinds of objects owned by devices for their whole life (not freed when processes exit). */
const DEVICE_OWNED = new Set(['iio_dma_block(fileio)']);

/**
 * System-wide checks that hold after every step: census counts never negative, every live dma-buf has its
 * file, and every DMA channel whose converter is stopped has placed each stream byte in exactly one counter
 * (every sample delivered or counted as lost). Returns what is broken (empty when all holds).
 */
export function checkSystemInvariants(sim: Simulator): string[] {
  const broken: string[] = [];
  for (const [kind, n] of sim.kernel.census.negative()) broken.push(`${n} live ${kind} objects`);
  // By value first: this runs after every step, and an entry pair per live dma-buf is garbage each time.
  let released = false;
  for (const d of sim.kernel.dmaBuf.live.values()) released ||= d.file.ref.count <= 0;
  if (released)
    for (const [ino, d] of sim.kernel.dmaBuf.live)
      if (d.file.ref.count <= 0) broken.push(`dma-buf ${ino} is listed but its file is released`);
  for (const dev of sim.devices) {
    const gap = dev.dma?.unaccountedBytes() ?? 0;
    if (gap)
      broken.push(`${dev.config.name}: ${gap} stream bytes ${gap > 0 ? 'unaccounted' : 'counted twice'}`);
  }
  return broken;
}

/**
 * Checks after a model-based step: the system invariants, plus the process's fd table, the live dma-bufs
 * and the live DMABUF blocks against the model.
 */
export function checkStepInvariants(sim: Simulator, pid: number, model: ContractModel): string[] {
  const broken = checkSystemInvariants(sim);
  const task = sim.kernel.tasks.get(pid);
  if (task?.alive) {
    // The same set when as many fds are open and each of the model's is: no sorted list of the table's fds
    // and no texts unless something differs (this runs after every step).
    const files = task.files;
    const want = model.fdNumbers();
    let same = files.size === want.length;
    for (let i = 0; same && i < want.length; i++) same = files.entry(want[i]!) !== undefined;
    if (!same) broken.push(`open fds [${files.openFds().join(',')}], the model has [${want.join(',')}]`);
  }
  const dmabufs = sim.kernel.dmaBuf.live.size;
  if (dmabufs !== model.liveDmabufs())
    broken.push(`${dmabufs} live dma-bufs, the model has ${model.liveDmabufs()}`);
  const census = sim.kernel.census;
  const blocks = census.count('iio_dma_block(dmabuf)');
  if (blocks !== model.liveBlocks())
    broken.push(`${blocks} live DMABUF blocks, the model has ${model.liveBlocks()}`);
  if (model.profile === 'mainline') {
    const att = census.count('iio_dmabuf_attachment');
    if (att !== model.liveBlocks())
      broken.push(`${att} live attachments, the model has ${model.liveBlocks()}`);
  }
  return broken;
}

/**
 * Checks once every process has exited and the simulation is quiet: no file is left open except those of
 * dma-bufs the kernel itself still holds, and (given a model) exactly the dma-bufs the model says the kernel
 * keeps (queued or orphaned blocks, armed callbacks on fences that never signal) are alive.
 */
export function checkQuiescentInvariants(sim: Simulator, model?: ContractModel): string[] {
  const broken = checkSystemInvariants(sim);
  for (const t of sim.kernel.tasks.values())
    if (t.alive) broken.push(`process ${t.pid} (${t.comm}) is still alive`);
  const live = sim.kernel.census.live();
  const files = live.file ?? 0;
  const dmabufs = sim.kernel.dmaBuf.live.size;
  if (files !== dmabufs)
    broken.push(`${files} open files left, of which ${dmabufs} are dma-bufs the kernel holds`);
  broken.push(...auditDmabufRefs(sim));
  if (model && dmabufs !== model.liveDmabufs())
    broken.push(`${dmabufs} dma-bufs left alive, the model expects ${model.liveDmabufs()}`);
  for (const kind of Object.keys(live))
    if (
      !DEVICE_OWNED.has(kind) &&
      !['file', 'dma_fence', 'iio_dma_block(dmabuf)', 'iio_dmabuf_attachment'].includes(kind)
    )
      broken.push(`${live[kind]} ${kind} objects left`);
  return broken;
}

/**
 * With no process left, every reference to a live dma-buf must belong to the kernel: an importer
 * attachment, an armed poll callback (DPOLL-5) or an IIO queue (v2 blocks in flight, V2-ENQ-11 leaks).
 * A reference nothing explains is a leak.
 */
export function auditDmabufRefs(sim: Simulator): string[] {
  const broken: string[] = [];
  for (const [ino, d] of sim.kernel.dmaBuf.live) {
    const queues = d.ops.exporterRefs?.(d) ?? 0;
    const callbacks = (d.cbIn.active ? 1 : 0) + (d.cbOut.active ? 1 : 0);
    const explained = d.attachments + queues + callbacks;
    if (d.file.ref.count !== explained)
      broken.push(
        `dma-buf ${ino} has ${d.file.ref.count} references, the kernel explains ${explained} (attachments ${d.attachments}, queues ${queues}, poll callbacks ${callbacks})`,
      );
  }
  return broken;
}
