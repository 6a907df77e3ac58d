/**
 * Loading a scenario file: YAML (or JSON) parsing with line and column positions, schema validation, and
 * the checks a schema cannot express (names used before they are defined, unknown devices, ioctls, flags,
 * struct fields, impossible device parameters). Every problem becomes one line `file:line:col: message`.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { createSimulator } from '../sim/simulator.ts';
import { ERRNO } from '../uapi/errno.ts';
import { ioctlRequestNames } from '../uapi/names.ts';
import { SIGNAL_NAMES } from '../uapi/signal.ts';
import { ACTIONS, type ActionName, COMMON_KEYS, Scenario } from './schema.ts';
import { FLAG_NAMES, STRUCTS } from './symbols.ts';

/** A located problem in a scenario file. */
export interface ScenarioError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** Formats an error as one line. */
export function formatError(e: ScenarioError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** A scenario that loaded, or the errors that stopped it. */
export type LoadResult =
  | { ok: true; scenario: Scenario; file: string }
  | { ok: false; errors: ScenarioError[] };

type Path = readonly (string | number)[];

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Largest scenario file accepted (bytes). */
export const MAX_SCENARIO_BYTES = 1 << 20;

class Locator {
  readonly #doc: Document;
  readonly #lc: LineCounter;
  readonly #file: string;

  constructor(doc: Document, lc: LineCounter, file: string) {
    this.#doc = doc;
    this.#lc = lc;
    this.#file = file;
  }

  /** The error at the deepest node of `path` that exists. */
  at(path: Path, message: string): ScenarioError {
    let p = [...path];
    let node: unknown = null;
    while (p.length > 0) {
      node = this.#doc.getIn(p, true);
      if (node) break;
      p = p.slice(0, -1);
    }
    const n = (node ?? this.#doc.contents) as Node | null;
    const offset = n?.range?.[0] ?? 0;
    const pos = this.#lc.linePos(offset);
    const where = path.length ? `${path.join('.')}: ` : '';
    return { file: this.#file, line: pos.line, col: pos.col, message: `${where}${message}` };
  }

  /** Position of a raw offset. */
  offset(offset: number, message: string): ScenarioError {
    const pos = this.#lc.linePos(offset);
    return { file: this.#file, line: pos.line, col: pos.col, message };
  }
}

/** Finds keys that could pollute prototypes anywhere in the document. */
function forbiddenKeys(node: unknown, path: Path, out: { path: Path; key: string }[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (FORBIDDEN_KEYS.has(key)) out.push({ path, key });
      forbiddenKeys(pair.value, [...path, key], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      forbiddenKeys(item, [...path, i], out);
    });
  }
}

function zodMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (issue.code === 'invalid_union') return 'none of the accepted forms matches';
  return issue.message;
}

/** Parses and validates scenario text. `file` names it in errors. */
export function loadScenario(text: string, file: string): LoadResult {
  const fail = (line: number, col: number, message: string): LoadResult => ({
    ok: false,
    errors: [{ file, line, col, message }],
  });
  if (text.length > MAX_SCENARIO_BYTES) return fail(1, 1, `file is larger than ${MAX_SCENARIO_BYTES} bytes`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary input is what this detects
  const binary = /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/.exec(text);
  if (binary) {
    const before = text.slice(0, binary.index);
    const line = before.split('\n').length;
    return fail(
      line,
      binary.index - before.lastIndexOf('\n'),
      'binary data: a scenario is a YAML or JSON text file',
    );
  }
  if (text.trim() === '') return fail(1, 1, 'empty file: a scenario needs at least `processes:`');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const loc = new Locator(doc, lc, file);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) =>
        loc.offset(e.pos[0], `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`),
      ),
    };
  }
  const bad: { path: Path; key: string }[] = [];
  forbiddenKeys(doc.contents, [], bad);
  if (bad.length > 0)
    return { ok: false, errors: bad.map((b) => loc.at(b.path, `key '${b.key}' is not allowed`)) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail(1, 1, `YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return fail(1, 1, 'a scenario is a mapping with at least `processes:`');
  const parsed = Scenario.safeParse(data);
  if (!parsed.success)
    return { ok: false, errors: parsed.error.issues.map((i) => loc.at(i.path as Path, zodMessage(i))) };
  const scenario = parsed.data;
  const errors = checkScenario(scenario, loc);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, scenario, file };
}

/** Names of devices as a scenario may refer to them. */
function deviceNames(s: Scenario): Set<string> {
  const names = new Set<string>();
  const list =
    s.devices === undefined || s.devices === 'default'
      ? ['sim-adc', 'sim-dac', 'sim-dummy']
      : s.devices.map((d) => d.name);
  list.forEach((n, i) => {
    names.add(n);
    names.add(`iio:device${i}`);
  });
  return names;
}

/** Parses a duration to ns, or null. */
export function parseDuration(d: number | string): number | null {
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/.exec(d);
  if (!m) return null;
  const scale = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[m[2] as 'ns' | 'us' | 'µs' | 'ms' | 's'];
  const v = Math.round(Number(m[1]) * scale);
  return Number.isSafeInteger(v) ? v : null;
}

/** Checks a flags value against the known flag names. */
function badFlag(flags: unknown): string | null {
  if (typeof flags === 'number' || flags === undefined) return null;
  const names = Array.isArray(flags)
    ? flags
    : String(flags)
        .split('|')
        .map((x) => x.trim());
  for (const n of names) if (!(n in FLAG_NAMES) && !/^(0x[0-9a-f]+|\d+)$/i.test(n)) return n;
  return null;
}

/** Semantic checks the schema cannot express. */
function checkScenario(s: Scenario, loc: Locator): ScenarioError[] {
  const errors: ScenarioError[] = [];
  const devices = deviceNames(s);
  const profile = s.abi ?? 'mainline';
  const processes = new Set<string>();
  s.processes.forEach((p, i) => {
    if (processes.has(p.name))
      errors.push(loc.at(['processes', i, 'name'], `process name '${p.name}' is used twice`));
    processes.add(p.name);
  });
  if (Array.isArray(s.devices)) {
    try {
      createSimulator({ devices: s.devices as never });
    } catch (e) {
      errors.push(
        loc.at(['devices'], `impossible device configuration: ${e instanceof Error ? e.message : String(e)}`),
      );
    }
  }
  s.faults?.forEach((f, i) => {
    const dev =
      'dmaError' in f
        ? f.dmaError.device
        : 'lateIrq' in f
          ? f.lateIrq.device
          : 'removeDevice' in f
            ? f.removeDevice.device
            : null;
    if (dev !== null && !devices.has(dev)) errors.push(loc.at(['faults', i], `unknown device '${dev}'`));
    if ('kill' in f && !processes.has(f.kill.process))
      errors.push(loc.at(['faults', i, 'kill', 'process'], `unknown process '${f.kill.process}'`));
    if (
      'kill' in f &&
      f.kill.signal !== undefined &&
      typeof f.kill.signal === 'string' &&
      !signalKnown(f.kill.signal)
    )
      errors.push(loc.at(['faults', i, 'kill', 'signal'], `unknown signal '${f.kill.signal}'`));
  });
  for (const [name] of Object.entries(s.expect?.processes ?? {}))
    if (!processes.has(name)) errors.push(loc.at(['expect', 'processes', name], `unknown process '${name}'`));
  for (const [name] of Object.entries(s.expect?.lost ?? {}))
    if (!devices.has(name)) errors.push(loc.at(['expect', 'lost', name], `unknown device '${name}'`));
  const ctx: StepContext = { loc, errors, devices, processes, profile };
  s.processes.forEach((p, i) => {
    checkSteps(p.steps, ['processes', i, 'steps'], new Set(), ctx, new Map());
  });
  return errors;
}

function signalKnown(name: string): boolean {
  return Object.values(SIGNAL_NAMES).includes(name);
}

interface StepContext {
  readonly loc: Locator;
  readonly errors: ScenarioError[];
  readonly devices: Set<string>;
  readonly processes: Set<string>;
  readonly profile: 'mainline' | 'v2';
}

/** Validates steps in order, tracking which names are defined. */
function checkSteps(
  steps: unknown[],
  path: Path,
  names: Set<string>,
  ctx: StepContext,
  vars: Map<string, string[]>,
): void {
  steps.forEach((raw, i) => {
    const p = [...path, i];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      ctx.errors.push(
        ctx.loc.at(p, 'a step is a mapping with one action, e.g. `open: {path: /dev/iio:device0, as: chr}`'),
      );
      return;
    }
    const keys = Object.keys(raw);
    const actions = keys.filter((k) => !COMMON_KEYS.includes(k));
    if (actions.length !== 1) {
      const what = actions.length === 0 ? 'no action' : `several actions (${actions.join(', ')})`;
      ctx.errors.push(
        ctx.loc.at(
          p,
          `a step needs exactly one action, got ${what}; actions: ${Object.keys(ACTIONS).join(', ')}`,
        ),
      );
      return;
    }
    const action = actions[0]!;
    if (!(action in ACTIONS)) {
      ctx.errors.push(
        ctx.loc.at([...p, action], `unknown action '${action}'; actions: ${Object.keys(ACTIONS).join(', ')}`),
      );
      return;
    }
    const schema = ACTIONS[action as ActionName];
    const parsed = schema.safeParse((raw as Record<string, unknown>)[action]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.errors.push(ctx.loc.at([...p, action, ...(issue.path as Path)], zodMessage(issue)));
      return;
    }
    const rest = Object.fromEntries(
      keys.filter((k) => k !== action).map((k) => [k, (raw as Record<string, unknown>)[k]]),
    );
    for (const [k, v] of Object.entries(rest)) {
      if (k === 'label' && typeof v !== 'string') ctx.errors.push(ctx.loc.at([...p, k], 'expected a string'));
    }
    if ('expect' in rest) checkExpect(rest.expect, [...p, 'expect'], ctx, names, vars);
    checkAction(action as ActionName, parsed.data, [...p, action], names, ctx, vars);
  });
}

function checkExpect(
  e: unknown,
  p: Path,
  ctx: StepContext,
  names: Set<string>,
  vars: Map<string, string[]>,
): void {
  if (e === 'any') return;
  if (e === null || typeof e !== 'object') {
    ctx.errors.push(ctx.loc.at(p, "expected 'any' or a mapping of ret, errno, revents, data, minNs, maxNs"));
    return;
  }
  const allowed = ['ret', 'errno', 'revents', 'data', 'minNs', 'maxNs'];
  for (const k of Object.keys(e))
    if (!allowed.includes(k)) ctx.errors.push(ctx.loc.at([...p, k], `unknown key '${k}'`));
  const o = e as Record<string, unknown>;
  if (typeof o.errno === 'string' && !(o.errno in ERRNO))
    ctx.errors.push(ctx.loc.at([...p, 'errno'], `unknown errno '${o.errno}'`));
  if (o.errno !== undefined && typeof o.errno !== 'string')
    ctx.errors.push(ctx.loc.at([...p, 'errno'], 'expected an errno name like EINVAL'));
  if (o.ret !== undefined && o.ret !== 'fd' && !Number.isInteger(o.ret))
    ctx.errors.push(ctx.loc.at([...p, 'ret'], "expected an integer or 'fd'"));
  if (o.revents !== undefined) {
    if (typeof o.revents !== 'object' || o.revents === null)
      ctx.errors.push(ctx.loc.at([...p, 'revents'], 'expected a mapping of fd name to events'));
    else
      for (const [fd, ev] of Object.entries(o.revents)) {
        checkRef(fd, [...p, 'revents', fd], names, ctx, vars);
        const bad = badFlag(ev);
        if (bad) ctx.errors.push(ctx.loc.at([...p, 'revents', fd], `unknown flag '${bad}'`));
      }
  }
  for (const k of ['minNs', 'maxNs'])
    if (
      o[k] !== undefined &&
      ((typeof o[k] !== 'number' && typeof o[k] !== 'string') || parseDuration(o[k] as string) === null)
    )
      ctx.errors.push(ctx.loc.at([...p, k], 'expected a duration like 10ms'));
  const data = o.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') {
    const samples = data.samples as { device?: string } | undefined;
    if (samples?.device && !ctx.devices.has(samples.device))
      ctx.errors.push(ctx.loc.at([...p, 'data', 'samples', 'device'], `unknown device '${samples.device}'`));
  }
}

function resolveNames(ref: string, vars: Map<string, string[]>): string[] {
  if (!ref.startsWith('$')) return [ref];
  return vars.get(ref.slice(1)) ?? [];
}

function checkRef(
  ref: unknown,
  p: Path,
  names: Set<string>,
  ctx: StepContext,
  vars: Map<string, string[]>,
): void {
  if (typeof ref !== 'string') return;
  if (ref.startsWith('$') && !vars.has(ref.slice(1))) {
    ctx.errors.push(ctx.loc.at(p, `'${ref}' is not a foreach variable here`));
    return;
  }
  for (const n of resolveNames(ref, vars))
    if (!names.has(n))
      ctx.errors.push(
        ctx.loc.at(p, `unknown name '${n}': no earlier step defines it (with as:, out: or into:)`),
      );
}

function define(name: string | undefined, names: Set<string>, vars: Map<string, string[]>): void {
  if (name === undefined) return;
  for (const n of resolveNames(name, vars)) names.add(n);
}

function checkAction(
  action: ActionName,
  a: unknown,
  p: Path,
  names: Set<string>,
  ctx: StepContext,
  vars: Map<string, string[]>,
): void {
  const o = a as Record<string, unknown>;
  const ref = (key: string) => checkRef(o[key], [...p, key], names, ctx, vars);
  const dev = (key: string) => {
    if (typeof o[key] === 'string' && !ctx.devices.has(o[key] as string))
      ctx.errors.push(ctx.loc.at([...p, key], `unknown device '${String(o[key])}'`));
  };
  const flags = (key: string) => {
    const bad = badFlag(o[key]);
    if (bad) ctx.errors.push(ctx.loc.at([...p, key], `unknown flag '${bad}'`));
  };
  switch (action) {
    case 'close':
      checkRef(a, p, names, ctx, vars);
      return;
    case 'open':
    case 'memfd_create':
      flags('flags');
      define(o.as as string | undefined, names, vars);
      return;
    case 'dup':
    case 'dup2':
      ref('fd');
      define(o.as as string | undefined, names, vars);
      return;
    case 'read':
      ref('fd');
      define(o.into as string | undefined, names, vars);
      return;
    case 'write':
    case 'pread':
    case 'lseek':
    case 'ftruncate':
      ref('fd');
      return;
    case 'fcntl':
      ref('fd');
      return;
    case 'ioctl': {
      ref('fd');
      if (typeof o.request === 'string' && !ioctlRequestNames(ctx.profile).includes(o.request))
        ctx.errors.push(
          ctx.loc.at(
            [...p, 'request'],
            `unknown ioctl '${o.request}' in the ${ctx.profile} profile (or give the number)`,
          ),
        );
      const arg = o.arg as Record<string, unknown> | null | undefined;
      if (arg && typeof arg === 'object') {
        if ('int' in arg && typeof arg.int === 'string')
          checkRef(arg.int, [...p, 'arg', 'int'], names, ctx, vars);
        if ('struct' in arg) {
          const codec = STRUCTS[arg.struct as string];
          if (!codec)
            ctx.errors.push(
              ctx.loc.at(
                [...p, 'arg', 'struct'],
                `unknown struct '${String(arg.struct)}'; known: ${Object.keys(STRUCTS).join(', ')}`,
              ),
            );
          else {
            for (const [field, v] of Object.entries((arg.value as Record<string, unknown>) ?? {})) {
              if (!codec.fieldNames.includes(field))
                ctx.errors.push(
                  ctx.loc.at([...p, 'arg', 'value', field], `struct ${codec.name} has no field '${field}'`),
                );
              else if (
                typeof v === 'string' &&
                !/^-?\d+$/.test(v) &&
                !v.split('|').every((f) => f.trim() in FLAG_NAMES)
              )
                checkRef(v, [...p, 'arg', 'value', field], names, ctx, vars);
            }
            for (const [field, name] of Object.entries((arg.out as Record<string, string>) ?? {})) {
              if (!codec.fieldNames.includes(field))
                ctx.errors.push(
                  ctx.loc.at([...p, 'arg', 'out', field], `struct ${codec.name} has no field '${field}'`),
                );
              define(name, names, vars);
            }
          }
        }
        if ('int' in arg && typeof arg.out === 'string') define(arg.out, names, vars);
      }
      define(o.as as string | undefined, names, vars);
      return;
    }
    case 'mmap':
      ref('fd');
      flags('prot');
      flags('flags');
      define(o.as as string | undefined, names, vars);
      return;
    case 'munmap':
      ref('map');
      return;
    case 'poll':
      (o.fds as { fd: unknown; events: unknown }[]).forEach((f, i) => {
        checkRef(f.fd, [...p, 'fds', i, 'fd'], names, ctx, vars);
        const bad = badFlag(f.events);
        if (bad) ctx.errors.push(ctx.loc.at([...p, 'fds', i, 'events'], `unknown flag '${bad}'`));
      });
      return;
    case 'kill':
      if (!ctx.processes.has(o.process as string))
        ctx.errors.push(ctx.loc.at([...p, 'process'], `unknown process '${String(o.process)}'`));
      if (typeof o.signal === 'string' && !signalKnown(o.signal))
        ctx.errors.push(ctx.loc.at([...p, 'signal'], `unknown signal '${o.signal}'`));
      return;
    case 'sigaction':
      if (typeof o.signal === 'string' && !signalKnown(o.signal))
        ctx.errors.push(ctx.loc.at([...p, 'signal'], `unknown signal '${o.signal}'`));
      return;
    case 'enable_channels':
    case 'enable_buffer':
      dev('device');
      return;
    case 'buffer_fd':
      dev('device');
      define(o.as as string, names, vars);
      define(o.chardev as string | undefined, names, vars);
      return;
    case 'heap_alloc':
      define(o.as as string, names, vars);
      return;
    case 'iio_alloc':
      ref('buffer');
      define(o.as as string, names, vars);
      return;
    case 'attach':
    case 'detach':
      ref('buffer');
      ref('dmabuf');
      return;
    case 'enqueue':
      ref('buffer');
      ref('dmabuf');
      flags('flags');
      return;
    case 'sync':
      ref('dmabuf');
      return;
    case 'fill':
      ref('map');
      return;
    case 'check':
      ref('in');
      return;
    case 'loop':
      checkSteps(o.steps as unknown[], [...p, 'steps'], names, ctx, vars);
      return;
    case 'foreach': {
      const inner = new Map(vars);
      inner.set(o.var as string, o.in as string[]);
      checkSteps(o.steps as unknown[], [...p, 'steps'], names, ctx, inner);
      return;
    }
    default:
      return;
  }
}
