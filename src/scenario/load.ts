/**
 * Loading a scenario file: YAML (or JSON) parsing with line and column positions, schema validation, and
 * the checks a schema cannot express (names used before they are defined, unknown devices, ioctls, flags,
 * struct fields, impossible device parameters). Every problem becomes one line `file:line:col: message`.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { parseScanType } from '../sim/devices.ts';
import { createSimulator } from '../sim/simulator.ts';
import { ERRNO } from '../uapi/errno.ts';
import { ioctlRequestNames } from '../uapi/names.ts';
import { SIGNAL_NAMES } from '../uapi/signal.ts';
import { ACTIONS, type ActionName, COMMON_KEYS, type DeviceSpec, ExpectObject, Scenario } from './schema.ts';
import { FLAG_NAMES, STRUCTS } from './symbols.ts';

/** A located problem in a scenario file. */
export interface ScenarioError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** Formats an error as one line (control characters in names are escaped). */
export function formatError(e: ScenarioError): string {
  return `${e.file}:${e.line}:${e.col}: ${oneLine(e.message)}`;
}

/** Escapes line breaks and other control characters so that a message stays on one line. */
function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what must be escaped
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
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

  /** The error at the key `key` of the map at `path` (falls back to the map). */
  key(path: Path, key: string, message: string): ScenarioError {
    const map = path.length === 0 ? this.#doc.contents : this.#doc.getIn([...path], true);
    if (isMap(map)) {
      const pair = map.items.find((it) => isScalar(it.key) && String(it.key.value) === key);
      const range = (pair?.key as Node | undefined)?.range;
      if (range) {
        const pos = this.#lc.linePos(range[0]);
        const where = `${[...path, key].join('.')}: `;
        return { file: this.#file, line: pos.line, col: pos.col, message: `${where}${message}` };
      }
    }
    return this.at(path, message);
  }

  /** The error at a node. */
  node(node: Node, message: string): ScenarioError {
    return this.offset(node.range?.[0] ?? 0, message);
  }

  /** Position of a raw offset. */
  offset(offset: number, message: string): ScenarioError {
    const pos = this.#lc.linePos(offset);
    return { file: this.#file, line: pos.line, col: pos.col, message };
  }
}

/** Quotes a key for a message: plain names as they are, anything odd as a JSON string. */
function showKey(key: string): string {
  return /^[\w.$:-]{1,64}$/.test(key)
    ? `'${key}'`
    : JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}...` : key);
}

/**
 * Structural problems the YAML library lets through: keys that are not plain scalars, keys that could
 * pollute prototypes, and aliases to anchors that do not exist. One located error each.
 */
function structuralErrors(doc: Document, loc: Locator): ScenarioError[] {
  const out: ScenarioError[] = [];
  const anchors = new Set<string>();
  const walk = (node: unknown): void => {
    if (isAlias(node)) {
      if (!anchors.has(node.source)) out.push(loc.node(node, `alias *${node.source} refers to no anchor`));
      return;
    }
    if (
      node &&
      typeof node === 'object' &&
      'anchor' in node &&
      typeof (node as { anchor?: string }).anchor === 'string'
    )
      anchors.add((node as { anchor: string }).anchor);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) {
          out.push(
            loc.node((pair.key as Node) ?? node, 'a key must be a plain name, not a list or a mapping'),
          );
          continue;
        }
        const key = String(pair.key.value);
        if (FORBIDDEN_KEYS.has(key)) out.push(loc.node(pair.key, `key ${showKey(key)} is not allowed`));
        walk(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item);
    }
  };
  walk(doc.contents);
  return out;
}

/** What each union accepts, for messages, by the last path component that names it. */
const UNION_FORMS: Record<string, string> = {
  faults:
    'a fault: {at, dmaError: {device, residue?}}, {at, lateIrq: {device, by}}, {at, kill: {process, signal?}} or {at, removeDevice: {device}}',
  arg: 'an ioctl arg: null, a number, {int, out?}, {struct, value?, out?}, {string} or {unmapped: true}',
  platform:
    'a platform: zcu102, pluto, laptop, ideal, or {base?, syscallNs?, copyPsPerByte?, wakeLatencyNs?, wakeJitterNs?}',
  devices: "'default' or a list of devices",
  expect: "'any' or {ret?, errno?, revents?, data?, minNs?, maxNs?}",
  data: 'a string, {hex} or {fill, len}',
  timeout: 'milliseconds, or a duration like 10ms',
  ret: "an integer or 'fd'",
  signal: 'a signal name like SIGKILL or its number',
};

function zodMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(showKey).join(', ')}`;
  if (issue.code === 'invalid_union') {
    const path = issue.path.filter((p) => typeof p === 'string');
    const last = path[path.length - 1];
    const parent = issue.path.length >= 2 ? issue.path[issue.path.length - 2] : undefined;
    const form =
      (typeof last === 'string' && UNION_FORMS[last]) ||
      (parent === 'faults' ? UNION_FORMS.faults : undefined);
    if (form) return `expected ${form}`;
    if (last === 'at' || last === 'until' || last === 'startAt' || last === 'by')
      return 'expected a duration: integer nanoseconds or a number with ns, us, ms or s';
    return 'none of the accepted forms matches';
  }
  return issue.message;
}

/** Turns zod issues into located errors; unknown keys are located at each key. */
function zodErrors(issues: readonly z.core.$ZodIssue[], base: Path, loc: Locator): ScenarioError[] {
  const out: ScenarioError[] = [];
  // A misspelt key shows up twice: as an unknown key and as a missing one. Report it once, with a hint.
  const unknown = new Map<string, string[]>();
  for (const i of issues)
    if (i.code === 'unrecognized_keys') unknown.set(JSON.stringify(i.path), [...i.keys]);
  const hints = new Map<string, string>();
  const missing = (i: z.core.$ZodIssue) =>
    i.code === 'invalid_type' && i.path.length > 0 && /received undefined/.test(i.message);
  for (const i of issues) {
    if (!missing(i)) continue;
    const parent = JSON.stringify(i.path.slice(0, -1));
    const want = String(i.path[i.path.length - 1]);
    const typo = unknown.get(parent)?.find((k) => editDistance(k, want) <= 2);
    if (typo !== undefined) hints.set(`${parent}/${typo}`, want);
  }
  for (const i of issues) {
    const path = [...base, ...(i.path as Path)];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) {
        const hint = hints.get(`${JSON.stringify(i.path)}/${k}`);
        out.push(loc.key(path, k, `unknown key ${showKey(k)}${hint ? `; did you mean '${hint}'?` : ''}`));
      }
    } else if (
      missing(i) &&
      [...hints.entries()].some(
        ([k, v]) =>
          k.startsWith(`${JSON.stringify(i.path.slice(0, -1))}/`) && v === String(i.path[i.path.length - 1]),
      )
    ) {
    } else out.push(loc.at(path, zodMessage(i)));
  }
  return out;
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
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
    // The first syntax error is the one to fix: later ones are usually its consequences.
    const e = doc.errors[0]!;
    if (e.code === 'BLOCK_AS_IMPLICIT_KEY' || e.code === 'MULTILINE_IMPLICIT_KEY') {
      // A line indented unlike its siblings: point at that line. The library reports the error either at the
      // start of that line or at the value ending the line before it.
      const here = text.lastIndexOf('\n', e.pos[0] - 1) + 1;
      const lineStart = text.slice(here, e.pos[0]).trim() === '' ? here : text.indexOf('\n', e.pos[0]) + 1;
      if (lineStart > 0) {
        const indent = /^[ \t]*/.exec(text.slice(lineStart))![0].length;
        return {
          ok: false,
          errors: [
            loc.offset(
              lineStart + indent,
              'YAML: bad indentation: this line is not aligned with the keys or items around it',
            ),
          ],
        };
      }
    }
    return {
      ok: false,
      errors: [
        loc.offset(e.pos[0], `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`),
      ],
    };
  }
  const structural = structuralErrors(doc, loc);
  if (structural.length > 0) return { ok: false, errors: structural };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail(1, 1, `YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return fail(1, 1, 'a scenario is a mapping with at least `processes:`');
  const parsed = Scenario.safeParse(data);
  if (!parsed.success) return { ok: false, errors: zodErrors(parsed.error.issues, [], loc) };
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
    const before = errors.length;
    checkDevices(s.devices, loc, errors);
    if (errors.length === before) {
      try {
        createSimulator({ devices: s.devices as never });
      } catch (e) {
        errors.push(
          loc.at(
            ['devices'],
            `impossible device configuration: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    }
  }
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
  });
  for (const name of Object.keys(s.expect?.processes ?? {}))
    if (!processes.has(name))
      errors.push(loc.key(['expect', 'processes'], name, `unknown process '${name}'`));
  for (const name of Object.keys(s.expect?.blockedReason ?? {}))
    if (!processes.has(name))
      errors.push(loc.key(['expect', 'blockedReason'], name, `unknown process '${name}'`));
  for (const name of Object.keys(s.expect?.lost ?? {}))
    if (!devices.has(name)) errors.push(loc.key(['expect', 'lost'], name, `unknown device '${name}'`));
  const ctx: StepContext = { loc, errors, devices, processes, profile };
  s.processes.forEach((p, i) => {
    checkSteps(p.steps, ['processes', i, 'steps'], new Set(), ctx, new Map());
  });
  return errors;
}

/**
 * Device parameters that cannot be built, located at the offending field: duplicate names and channel ids,
 * scan types the kernel cannot represent, a loopback from something that is not a DAC, a DMA bus slower than
 * the converter.
 */
function checkDevices(list: readonly DeviceSpec[], loc: Locator, errors: ScenarioError[]): void {
  const names = new Map<string, DeviceSpec>();
  list.forEach((d, i) => {
    if (names.has(d.name))
      errors.push(loc.at(['devices', i, 'name'], `device name '${d.name}' is used twice`));
    names.set(d.name, d);
  });
  list.forEach((d, i) => {
    if (d.kind === 'dummy') {
      if (
        d.maxSampleRateHz !== undefined &&
        d.sampleRateHz !== undefined &&
        d.sampleRateHz > d.maxSampleRateHz
      )
        errors.push(
          loc.at(
            ['devices', i, 'sampleRateHz'],
            `sampleRateHz ${d.sampleRateHz} is above maxSampleRateHz ${d.maxSampleRateHz}`,
          ),
        );
      return;
    }
    const ids = new Set<string>();
    let scanBytes = 0;
    d.channels.forEach((c, j) => {
      if (ids.has(c.id))
        errors.push(loc.at(['devices', i, 'channels', j, 'id'], `channel '${c.id}' is used twice`));
      ids.add(c.id);
      try {
        scanBytes += parseScanType(c.type).storagebits / 8;
      } catch (e) {
        errors.push(
          loc.at(['devices', i, 'channels', j, 'type'], e instanceof Error ? e.message : String(e)),
        );
      }
    });
    const max = d.maxSampleRateHz ?? Math.max(d.sampleRateHz, 125_000_000);
    if (d.sampleRateHz > max)
      errors.push(
        loc.at(
          ['devices', i, 'sampleRateHz'],
          `sampleRateHz ${d.sampleRateHz} is above maxSampleRateHz ${max}`,
        ),
      );
    const bandwidth = d.dma?.bytesPerSecond ?? 1_600_000_000;
    if (scanBytes * max > bandwidth)
      errors.push(
        loc.at(
          d.dma?.bytesPerSecond !== undefined
            ? ['devices', i, 'dma', 'bytesPerSecond']
            : ['devices', i, 'maxSampleRateHz'],
          `DMA bandwidth of ${bandwidth} bytes/s is below what ${scanBytes}-byte scans at ${max} Hz need (${scanBytes * max} bytes/s)`,
        ),
      );
    if (d.kind === 'adc' && d.loopbackFrom !== undefined && names.get(d.loopbackFrom)?.kind !== 'dac')
      errors.push(
        loc.at(['devices', i, 'loopbackFrom'], `loopbackFrom '${d.loopbackFrom}' is not a DAC of this board`),
      );
  });
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
        ctx.loc.key(
          p,
          action,
          `unknown action ${showKey(action)}; actions: ${Object.keys(ACTIONS).join(', ')}`,
        ),
      );
      return;
    }
    const schema = ACTIONS[action as ActionName];
    const parsed = schema.safeParse((raw as Record<string, unknown>)[action]);
    if (!parsed.success) {
      ctx.errors.push(...zodErrors(parsed.error.issues, [...p, action], ctx.loc));
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
  if (e === null || typeof e !== 'object' || Array.isArray(e)) {
    ctx.errors.push(ctx.loc.at(p, "expected 'any' or a mapping of ret, errno, revents, data, minNs, maxNs"));
    return;
  }
  const parsed = ExpectObject.safeParse(e);
  if (!parsed.success) {
    ctx.errors.push(...zodErrors(parsed.error.issues, p, ctx.loc));
    return;
  }
  const o = e as Record<string, unknown>;
  if (typeof o.errno === 'string' && !(o.errno in ERRNO))
    ctx.errors.push(ctx.loc.at([...p, 'errno'], `unknown errno '${o.errno}'`));
  for (const [fd, ev] of Object.entries((o.revents as Record<string, unknown>) ?? {})) {
    checkRef(fd, [...p, 'revents'], names, ctx, vars, fd);
    const bad = badFlag(ev);
    if (bad) ctx.errors.push(ctx.loc.at([...p, 'revents', fd], `unknown flag '${bad}'`));
  }
  const samples = (o.data as { samples?: { device?: string } } | undefined)?.samples;
  if (samples?.device && !ctx.devices.has(samples.device))
    ctx.errors.push(ctx.loc.at([...p, 'data', 'samples', 'device'], `unknown device '${samples.device}'`));
}

function resolveNames(ref: string, vars: Map<string, string[]>): string[] {
  if (!ref.startsWith('$')) return [ref];
  return vars.get(ref.slice(1)) ?? [];
}

/** Checks a name reference; `key` set: the name is a key of the map at `p` (located at that key). */
function checkRef(
  ref: unknown,
  p: Path,
  names: Set<string>,
  ctx: StepContext,
  vars: Map<string, string[]>,
  key?: string,
): void {
  if (typeof ref !== 'string' || /^-?\d+$/.test(ref)) return;
  const at = (msg: string) => (key === undefined ? ctx.loc.at(p, msg) : ctx.loc.key(p, key, msg));
  if (ref.startsWith('$') && !vars.has(ref.slice(1))) {
    ctx.errors.push(at(`'${ref}' is not a foreach variable here`));
    return;
  }
  for (const n of resolveNames(ref, vars))
    if (!names.has(n))
      ctx.errors.push(at(`unknown name '${n}': no earlier step defines it (with as:, out: or into:)`));
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
    case 'ftruncate':
      ref('fd');
      return;
    case 'lseek':
      ref('fd');
      flags('whence');
      return;
    case 'fcntl':
      ref('fd');
      flags('cmd');
      flags('arg');
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
                  ctx.loc.key(
                    [...p, 'arg', 'value'],
                    field,
                    `struct ${codec.name} has no field ${showKey(field)}`,
                  ),
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
                  ctx.loc.key(
                    [...p, 'arg', 'out'],
                    field,
                    `struct ${codec.name} has no field ${showKey(field)}`,
                  ),
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
      define(o.heap as string | undefined, names, vars);
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
