/**
 * The checks of a schema-valid scenario that a schema cannot express: names used before a step defines
 * them, unknown processes, devices, signals, errnos and flags, and the board's device problems (through the
 * device-driver registry). Each step's action is checked by its own entry of the action table.
 */

import { FAULT_SITES, type FaultSite } from '../kernel/fault-inject.ts';
import { boardDeviceNames, defaultDevices, validateDevices } from '../sim/devices.ts';
import { ERRNO } from '../uapi/errno.ts';
import type { AbiProfile } from '../uapi/ioctls.ts';
import type { ActionCheck, ActionPath } from './actions/define.ts';
import { ACTION_TABLE, actionNamed } from './actions/table.ts';
import { type DocPath, type Locator, type ScenarioError, zodErrors } from './errors.ts';
import { COMMON_KEYS, type Scenario } from './schema.ts';
import { ExpectObject, showKey, signalKnown, unknownFlag } from './values.ts';

/** What every step check of one scenario shares. */
interface ScenarioFacts {
  readonly loc: Locator;
  readonly errors: ScenarioError[];
  readonly devices: Set<string>;
  readonly processes: Set<string>;
  readonly profile: AbiProfile;
}

/** The names defined so far (in step order) and the foreach variables in scope with their values. */
interface Scope {
  readonly names: Set<string>;
  readonly vars: ReadonlyMap<string, readonly string[]>;
}

const ACTION_LIST = ACTION_TABLE.map((a) => a.name).join(', ');

/** Semantic checks of a scenario the schema accepted, in file order. */
export function checkScenario(s: Scenario, loc: Locator): ScenarioError[] {
  const errors: ScenarioError[] = [];
  const processes = new Set<string>();
  s.processes.forEach((p, i) => {
    if (processes.has(p.name))
      errors.push(loc.at(['processes', i, 'name'], `process name '${p.name}' is used twice`));
    processes.add(p.name);
  });
  if (Array.isArray(s.devices))
    for (const p of validateDevices(s.devices)) errors.push(loc.at(['devices', ...p.path], p.message));
  const facts: ScenarioFacts = {
    loc,
    errors,
    devices: boardDeviceNames(Array.isArray(s.devices) ? s.devices : defaultDevices()),
    processes,
    profile: s.abi ?? 'mainline',
  };
  checkFaults(s, facts);
  checkRunExpect(s, facts);
  s.processes.forEach((p, i) => {
    checkSteps(p.steps, ['processes', i, 'steps'], { names: new Set(), vars: new Map() }, facts);
  });
  return errors;
}

/** Faults name devices and processes of the scenario, and known signals. */
function checkFaults(s: Scenario, { loc, errors, devices, processes }: ScenarioFacts): void {
  s.faults?.forEach((f, i) => {
    for (const kind of ['dmaError', 'lateIrq', 'removeDevice'] as const) {
      const dev = (f as Record<string, { device?: string } | undefined>)[kind]?.device;
      if (dev !== undefined && !devices.has(dev))
        errors.push(loc.at(['faults', i, kind, 'device'], `unknown device '${dev}'`));
    }
    if ('kill' in f && !processes.has(f.kill.process))
      errors.push(loc.at(['faults', i, 'kill', 'process'], `unknown process '${f.kill.process}'`));
    if ('kill' in f && typeof f.kill.signal === 'string' && !signalKnown(f.kill.signal))
      errors.push(loc.at(['faults', i, 'kill', 'signal'], `unknown signal '${f.kill.signal}'`));
    if ('kernelFault' in f) checkKernelFault(f.kernelFault, ['faults', i, 'kernelFault'], loc, errors);
  });
}

/** A `kernelFault`'s errno: a known name, below MAX_ERRNO, and ENOMEM on a site that is an allocation. */
function checkKernelFault(
  k: { readonly site: FaultSite; readonly errno?: string | undefined },
  path: DocPath,
  loc: Locator,
  errors: ScenarioError[],
): void {
  if (k.errno === undefined) return;
  const n = (ERRNO as Record<string, number>)[k.errno];
  if (!Object.hasOwn(ERRNO, k.errno) || n === undefined || n > 4095)
    errors.push(loc.at([...path, 'errno'], `unknown errno '${k.errno}'`));
  else if (FAULT_SITES[k.site].kind === 'alloc' && k.errno !== 'ENOMEM')
    errors.push(loc.at([...path, 'errno'], `${k.site} is an allocation: it fails with ENOMEM only`));
}

/** The run-level `expect` names processes and devices of the scenario. */
function checkRunExpect(s: Scenario, { loc, errors, devices, processes }: ScenarioFacts): void {
  for (const name of Object.keys(s.expect?.processes ?? {}))
    if (!processes.has(name))
      errors.push(loc.key(['expect', 'processes'], name, `unknown process '${name}'`));
  for (const name of Object.keys(s.expect?.blockedReason ?? {}))
    if (!processes.has(name))
      errors.push(loc.key(['expect', 'blockedReason'], name, `unknown process '${name}'`));
  for (const name of Object.keys(s.expect?.lost ?? {}))
    if (!devices.has(name)) errors.push(loc.key(['expect', 'lost'], name, `unknown device '${name}'`));
}

/** Validates steps in order, tracking which names are defined. */
function checkSteps(steps: unknown[], path: DocPath, scope: Scope, facts: ScenarioFacts): void {
  steps.forEach((raw, i) => {
    checkStep(raw, [...path, i], scope, facts);
  });
}

/** One step: exactly one known action whose value its schema accepts, then its expectation and action check. */
function checkStep(raw: unknown, p: DocPath, scope: Scope, facts: ScenarioFacts): void {
  const { loc, errors } = facts;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push(
      loc.at(p, 'a step is a mapping with one action, e.g. `open: {path: /dev/iio:device0, as: chr}`'),
    );
    return;
  }
  const step = raw as Record<string, unknown>;
  const keys = Object.keys(step);
  const actions = keys.filter((k) => !COMMON_KEYS.includes(k));
  if (actions.length !== 1) {
    const what = actions.length === 0 ? 'no action' : `several actions (${actions.join(', ')})`;
    errors.push(loc.at(p, `a step needs exactly one action, got ${what}; actions: ${ACTION_LIST}`));
    return;
  }
  const name = actions[0]!;
  const action = actionNamed(name);
  if (!action) {
    errors.push(loc.key(p, name, `unknown action ${showKey(name)}; actions: ${ACTION_LIST}`));
    return;
  }
  const parsed = action.schema.safeParse(step[name]);
  if (!parsed.success) {
    errors.push(...zodErrors(parsed.error.issues, [...p, name], loc));
    return;
  }
  if (Object.hasOwn(step, 'label') && typeof step.label !== 'string')
    errors.push(loc.at([...p, 'label'], 'expected a string'));
  if (Object.hasOwn(step, 'expect')) checkExpect(step.expect, [...p, 'expect'], scope, facts);
  action.check(parsed.data, new StepChecker([...p, name], scope, facts));
}

/** A step's `expect`: its schema, a known errno, revents of defined fds with known flags, a known device. */
function checkExpect(e: unknown, p: DocPath, scope: Scope, facts: ScenarioFacts): void {
  const { loc, errors } = facts;
  if (e === 'any') return;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) {
    errors.push(loc.at(p, "expected 'any' or a mapping of ret, errno, revents, data, minNs, maxNs"));
    return;
  }
  const parsed = ExpectObject.safeParse(e);
  if (!parsed.success) {
    errors.push(...zodErrors(parsed.error.issues, p, loc));
    return;
  }
  const o = parsed.data;
  if (typeof o.errno === 'string' && !Object.hasOwn(ERRNO, o.errno))
    errors.push(loc.at([...p, 'errno'], `unknown errno '${o.errno}'`));
  for (const [fd, ev] of Object.entries(o.revents ?? {})) {
    checkRef(fd, [...p, 'revents'], scope, facts, fd);
    const bad = unknownFlag(ev);
    if (bad) errors.push(loc.at([...p, 'revents', fd], `unknown flag '${bad}'`));
  }
  const samples = o.data?.samples;
  if (samples?.device && !facts.devices.has(samples.device))
    errors.push(loc.at([...p, 'data', 'samples', 'device'], `unknown device '${samples.device}'`));
  if (samples?.table)
    checkTable(samples.table, samples.channels.length, [...p, 'data', 'samples', 'table'], facts);
}

/** A samples table has one row per channel (each row repeats on its own length). */
function checkTable(
  table: readonly (readonly number[])[],
  channels: number,
  p: DocPath,
  { loc, errors }: ScenarioFacts,
): void {
  if (table.length !== channels)
    errors.push(
      loc.at(p, `a table has one row per channel: ${channels} channel(s) but ${table.length} row(s)`),
    );
}

/** The names a reference stands for: itself, or every value of its foreach variable. */
function resolveNames(ref: string, vars: Scope['vars']): readonly string[] {
  if (!ref.startsWith('$')) return [ref];
  return vars.get(ref.slice(1)) ?? [];
}

/** Checks a name reference; `key` set: the name is a key of the map at `p` (located at that key). */
function checkRef(
  ref: unknown,
  p: DocPath,
  scope: Scope,
  { loc, errors }: ScenarioFacts,
  key?: string,
): void {
  if (typeof ref !== 'string' || /^-?\d+$/.test(ref)) return;
  const at = (msg: string) => (key === undefined ? loc.at(p, msg) : loc.key(p, key, msg));
  if (ref.startsWith('$') && !scope.vars.has(ref.slice(1))) {
    errors.push(at(`'${ref}' is not a foreach variable here`));
    return;
  }
  for (const n of resolveNames(ref, scope.vars))
    if (!scope.names.has(n))
      errors.push(at(`unknown name '${n}': no earlier step defines it (with as:, out: or into:)`));
}

/** The {@link ActionCheck} of one step: paths are relative to the step's action value. */
class StepChecker implements ActionCheck {
  readonly #at: DocPath;
  readonly #scope: Scope;
  readonly #facts: ScenarioFacts;

  constructor(at: DocPath, scope: Scope, facts: ScenarioFacts) {
    this.#at = at;
    this.#scope = scope;
    this.#facts = facts;
  }

  get profile(): AbiProfile {
    return this.#facts.profile;
  }

  error(path: ActionPath, message: string): void {
    this.#facts.errors.push(this.#facts.loc.at([...this.#at, ...path], message));
  }

  errorAtKey(path: ActionPath, key: string, message: string): void {
    this.#facts.errors.push(this.#facts.loc.key([...this.#at, ...path], key, message));
  }

  ref(value: unknown, path: ActionPath): void {
    checkRef(value, [...this.#at, ...path], this.#scope, this.#facts);
  }

  define(name: string | undefined): void {
    if (name === undefined) return;
    for (const n of resolveNames(name, this.#scope.vars)) this.#scope.names.add(n);
  }

  device(value: unknown, path: ActionPath): void {
    if (typeof value === 'string' && !this.#facts.devices.has(value))
      this.error(path, `unknown device '${String(value)}'`);
  }

  process(value: unknown, path: ActionPath): void {
    if (!this.#facts.processes.has(value as string)) this.error(path, `unknown process '${String(value)}'`);
  }

  signal(value: unknown, path: ActionPath): void {
    if (typeof value === 'string' && !signalKnown(value)) this.error(path, `unknown signal '${value}'`);
  }

  flags(value: unknown, path: ActionPath): void {
    const bad = unknownFlag(value);
    if (bad) this.error(path, `unknown flag '${bad}'`);
  }

  steps(
    steps: unknown[],
    path: ActionPath,
    variable?: { readonly name: string; readonly values: readonly string[] },
  ): void {
    const vars = variable ? new Map(this.#scope.vars).set(variable.name, variable.values) : this.#scope.vars;
    checkSteps(steps, [...this.#at, ...path], { names: this.#scope.names, vars }, this.#facts);
  }
}
