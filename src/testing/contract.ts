/**
 * Model-based contract runs: a driven process on the default board, the {@link ContractModel}, and the
 * commands of `commands.ts`. {@link checkContract} runs a campaign with fast-check and, when the simulator
 * and the model disagree, returns the seed, the shrunk syscall sequence and a scenario file reproducing it.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import { O_RDWR } from '../uapi/fcntl.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import { enableChannels, writeAttr } from '../user/iio.ts';
import type { KernelSide } from './against-real.ts';
import {
  ADVANCE_NS,
  type ContractSystem,
  ContractViolation,
  contractCommands,
  formatHistory,
  type HistoryEntry,
  INTERRUPT_AFTER_NS,
} from './commands.ts';
import { Driver } from './driver.ts';
import { checkQuiescentInvariants } from './invariants.ts';
import { ContractModel } from './model.ts';

/** What a contract run is made of. */
export interface ContractOptions {
  /** ABI profile of kernel and model (default `mainline`). */
  profile?: AbiProfile;
  /** Run the commands in an ILP32 process (compat ioctls). */
  compat?: boolean;
  /** Called with each new simulator before the commands run (tests use it to inject kernel bugs). */
  prepare?: (sim: Simulator) => void;
  /**
   * Against the real kernel: a fresh kernel side per run (see {@link KernelSide.start}); every call then also
   * runs there and must give the simulator's results (mainline only).
   */
  kernel?: (compat: boolean) => Promise<KernelSide>;
}

/** Channels the setup enables so that every buffer can be enabled (EN-1). */
export const SETUP_CHANNELS: readonly (readonly string[])[] = [
  ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3'],
  ['out_voltage0', 'out_voltage1'],
  ['in_voltage0'],
];

/** Builds the system and the model: the process holds the heap at fd 0, every channel enabled. */
export async function setupContract(
  options: ContractOptions = {},
): Promise<{ model: ContractModel; real: ContractSystem }> {
  const profile = options.profile ?? 'mainline';
  const driver = new Driver({ abi: profile });
  options.prepare?.(driver.sim);
  const proc = await driver.spawn('contract', options.compat ?? false);
  const setup = async (sys: Sys) => {
    const heap = await sys.open('/dev/dma_heap/system', O_RDWR);
    for (const [dev, chans] of SETUP_CHANNELS.entries()) {
      const r = await enableChannels(sys, dev, chans);
      if (r < 0) return r;
    }
    return heap;
  };
  const kernel = options.kernel ? await options.kernel(options.compat ?? false) : undefined;
  try {
    const onKernel = kernel ? await kernel.call(setup) : null;
    const res = await driver.call(proc, kernel ? kernel.onSimulator(setup) : setup);
    if (!res.done || res.value !== 0) throw new Error(`contract setup failed: ${JSON.stringify(res)}`);
    if (onKernel && (!onKernel.done || onKernel.value !== 0 || kernel!.compare()))
      throw new Error(`contract setup failed on the kernel: ${JSON.stringify(onKernel)}`);
  } catch (e) {
    await kernel?.close();
    throw e;
  }
  const model = new ContractModel(profile);
  model.openHeap();
  return { model, real: { driver, proc, profile, maps: [], history: [], mapCounter: 0, kernel } };
}

/**
 * Ends a run the way a program ends: every buffer disabled, time for the aborts, then the process exits
 * (mappings removed, fds closed). Checks the quiescent invariants against the model.
 */
export async function teardownContract(model: ContractModel, real: ContractSystem): Promise<void> {
  const kernel = real.kernel;
  for (let dev = 0; dev < 3; dev++) {
    const path = `/sys/bus/iio/devices/iio:device${dev}/buffer0/enable`;
    const want = model.setEnabled(dev, false);
    const disable = (sys: Sys) => writeAttr(sys, path, '0');
    const onKernel = kernel ? await kernel.call(disable) : null;
    const res = await real.driver.call(real.proc, kernel ? kernel.onSimulator(disable) : disable);
    if (!res.done || res.value !== want)
      throw new ContractViolation(
        `teardown: disabling iio:device${dev} gave ${JSON.stringify(res)}`,
        real.history,
      );
    const d = kernel?.compare();
    if (onKernel && (!onKernel.done || d))
      throw new ContractViolation(
        `teardown: disabling iio:device${dev} on the kernel: ${d ? d.message : JSON.stringify(onKernel)}`,
        real.history,
      );
  }
  await kernel?.close();
  await real.driver.advance(ADVANCE_NS);
  model.complete();
  for (const { fd } of model.openFds()) model.close(fd);
  while (model.mapCount() > 0) model.munmap(0);
  await real.driver.finish();
  const broken = checkQuiescentInvariants(real.driver.sim, model);
  if (broken.length > 0)
    throw new ContractViolation(`after exit: ${broken.join('; ')}`, [
      ...real.history,
      { time: real.driver.sim.now, text: '(all buffers disabled, the process exits)', step: {} },
    ]);
}

/**
 * `fc.asyncModelRun` without its promise chain: each command whose check() accepts the model's state runs,
 * one after the other. fast-check's runner builds a closure and a promise per command before the first runs
 * and awaits every check(); the commands and what they record for replays and shrinking are the same.
 */
async function modelRun(
  model: ContractModel,
  real: ContractSystem,
  cmds: Iterable<fc.AsyncCommand<ContractModel, ContractSystem>>,
): Promise<void> {
  for (const c of cmds) {
    // Every contract command's check() answers at once; a promise would be awaited.
    const ok = c.check(model);
    if (ok === true || (ok !== false && (await ok))) await c.run(model, real);
  }
}

/** One complete run of a command sequence. */
export async function runContract(
  cmds: Iterable<fc.AsyncCommand<ContractModel, ContractSystem>>,
  options: ContractOptions = {},
): Promise<void> {
  const { model, real } = await setupContract(options);
  try {
    await modelRun(model, real, cmds);
    await teardownContract(model, real);
  } finally {
    await real.kernel?.close();
  }
}

/** The property: any sequence of contract commands gives the model's results and keeps the invariants. */
export function contractProperty(
  options: ContractOptions & { maxCommands?: number } = {},
): fc.IAsyncProperty<[Iterable<fc.AsyncCommand<ContractModel, ContractSystem>>]> {
  const cmds = fc.commands(contractCommands(options.profile ?? 'mainline'), {
    maxCommands: options.maxCommands ?? 200,
    size: 'max',
  });
  return fc.asyncProperty(cmds, (c) => runContract(c, options));
}

/** Result of {@link checkContract}. */
export interface ContractReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly runs: number;
  /** Syscalls made by the commands of all runs. */
  readonly syscalls: number;
  /** Against the real kernel: the syscalls the kernel's driven processes made. */
  readonly kernelSyscalls: number;
  /** On failure: what differs, the shrunk history, and a scenario reproducing it. */
  readonly failure?: {
    readonly message: string;
    readonly history: readonly HistoryEntry[];
    readonly text: string;
    readonly scenario: string;
    readonly path: string | undefined;
    /** fast-check's replay path of the commands (with `path`, replays the case exactly). */
    readonly replayPath: string | undefined;
  };
}

/**
 * Runs `runs` random command sequences from `seed` (fast-check shrinks a failure to a minimal one).
 */
export async function checkContract(
  options: ContractOptions & {
    runs?: number;
    seed?: number;
    maxCommands?: number;
    /** Replays the case at this fast-check path (with {@link replayPath}: from a failure report). */
    path?: string;
    /** fast-check's record of which commands of that case ran. */
    replayPath?: string;
  } = {},
): Promise<ContractReport> {
  const seed = options.seed ?? 1;
  let syscalls = 0;
  let kernelSyscalls = 0;
  const counted = fc.asyncProperty(
    fc.commands(contractCommands(options.profile ?? 'mainline'), {
      maxCommands: options.maxCommands ?? 200,
      size: 'max',
      ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
    }),
    async (c) => {
      const { model, real } = await setupContract(options);
      try {
        await modelRun(model, real, c);
        await teardownContract(model, real);
      } finally {
        syscalls += real.driver.opSyscalls;
        kernelSyscalls += real.kernel?.syscalls ?? 0;
        await real.kernel?.close();
      }
    },
  );
  const result = await fc.check(counted, {
    seed,
    numRuns: options.runs ?? 100,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  if (!result.failed) return { ok: true, seed, runs: result.numRuns, syscalls, kernelSyscalls };
  const error = result.errorInstance;
  const history = error instanceof ContractViolation ? error.history : [];
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  const scenario = historyToScenario(history, options, message);
  const meta = (
    result.counterexample?.[0] as { metadataForReplay?: () => string } | undefined
  )?.metadataForReplay?.();
  const replayPath = meta ? (JSON.parse(meta.replace(/^replayPath=/, '')) as string) : undefined;
  return {
    ok: false,
    seed,
    runs: result.numRuns,
    syscalls,
    kernelSyscalls,
    failure: {
      message,
      history,
      text: `seed ${seed}, path ${result.counterexamplePath}${replayPath ? `, replay path ${replayPath}` : ''}: ${message}\n${formatHistory(history)}`,
      scenario,
      path: result.counterexamplePath ?? undefined,
      replayPath,
    },
  };
}

/**
 * A scenario file that replays a contract history in one process: the same setup, the same calls at the
 * same virtual times (interruptions become SIGUSR1 faults), each step expecting what the model expects, so
 * that running it stops at the step where the simulator differs.
 */
export function historyToScenario(
  history: readonly HistoryEntry[],
  options: ContractOptions,
  title: string,
): string {
  const steps: Record<string, unknown>[] = [
    { sigaction: { signal: 'SIGUSR1', restart: false } },
    { open: { path: '/dev/dma_heap/system', flags: 'O_RDWR' }, expect: { ret: 0 } },
    ...SETUP_CHANNELS.map((channels, dev) => ({ enable_channels: { device: `iio:device${dev}`, channels } })),
  ];
  const faults: Record<string, unknown>[] = [];
  for (const h of history) {
    if (Object.keys(h.step).length === 0) continue;
    steps.push(h.step);
    if (h.interruptedAt !== undefined)
      faults.push({ at: `${h.interruptedAt}ns`, kill: { process: 'contract', signal: 'SIGUSR1' } });
  }
  const doc: Record<string, unknown> = {
    title: `contract check: ${title}`.slice(0, 200),
    abi: options.profile ?? 'mainline',
    platform: 'ideal',
    until: `${(history.at(-1)?.time ?? 0) + ADVANCE_NS + INTERRUPT_AFTER_NS}ns`,
    ...(faults.length > 0 ? { faults } : {}),
    processes: [{ name: 'contract', ...(options.compat ? { compat: true } : {}), stdio: false, steps }],
  };
  return stringify(doc, { lineWidth: 0 });
}
