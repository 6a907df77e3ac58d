/**
 * Located errors of scenario files: `file:line:col: message`, positions found in the YAML document by the
 * path of the value (or key) at fault, and zod issues turned into such errors with the accepted forms and
 * "did you mean" hints.
 */
import { type Document, isMap, isScalar, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { showKey } from './values.ts';

/** A located problem in a scenario file. */
export interface ScenarioError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** Formats an error as one line (control characters in the file name and the message are escaped). */
export function formatError(e: ScenarioError): string {
  return `${escapeControl(e.file)}:${e.line}:${e.col}: ${escapeControl(e.message)}`;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Escapes line breaks and every other C0 and C1 control character (ESC, CSI, DEL...) as `\n` or `\u001b`,
 * so that text taken from a scenario (a label, a name, a path) stays on its line and cannot drive a
 * terminal: it cannot forge a `PASS` line or clear the screen.
 */
export function escapeControl(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what must be escaped
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    Object.hasOwn(SHORT_ESCAPES, c)
      ? SHORT_ESCAPES[c]!
      : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A path inside the scenario document (`['processes', 0, 'steps', 3, 'open']`). */
export type DocPath = readonly (string | number)[];

/** Locates errors in one parsed document: at a path, at a key of a mapping, at a node or an offset. */
export class Locator {
  readonly #doc: Document;
  readonly #lc: LineCounter;
  readonly #file: string;

  constructor(doc: Document, lc: LineCounter, file: string) {
    this.#doc = doc;
    this.#lc = lc;
    this.#file = file;
  }

  /** The error at the deepest node of `path` that exists. */
  at(path: DocPath, message: string): ScenarioError {
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
  key(path: DocPath, key: string, message: string): ScenarioError {
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

/** What each union accepts, for messages, by the last path component that names it. */
const UNION_FORMS: Record<string, string> = {
  faults:
    'a fault: {at, dmaError: {device, residue?}}, {at, lateIrq: {device, by}}, {at, kill: {process, signal?}}, {at, removeDevice: {device}} or {at, kernelFault: {site, nth?, times?, errno?}}',
  arg: 'an ioctl arg: null, a number, {int, out?}, {struct, value?, out?}, {string} or {unmapped: true}',
  platform:
    'a platform: zcu102, pluto, laptop, ideal, or {base?, syscallNs?, copyPsPerByte?, uncachedReadPsPerByte?, cpuReadPsPerByte?, cacheCleanNsPerLine?, cacheInvalidateNsPerLine?, dmaMapNsPerPage?, memoryBytesPerSecond?, wakeLatencyNs?, wakeJitterNs?, coherentDma?}',
  devices: "'default' or a list of devices",
  expect: "'any' or {ret?, errno?, revents?, data?, minNs?, maxNs?}",
  data: 'a string, {hex} or {fill, len}',
  timeout: 'milliseconds (a C int; negative: no timeout) or a duration of at most 1000000s',
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
      (typeof last === 'string' && Object.hasOwn(UNION_FORMS, last) && UNION_FORMS[last]) ||
      (parent === 'faults' ? UNION_FORMS.faults : undefined);
    if (form) return `expected ${form}`;
    if (last === 'at' || last === 'until' || last === 'startAt' || last === 'by')
      return 'expected a duration: integer nanoseconds or a number with ns, us, ms or s';
    return 'none of the accepted forms matches';
  }
  return issue.message;
}

/** Turns zod issues at `base` into located errors; unknown keys are located at each key. */
export function zodErrors(issues: readonly z.core.$ZodIssue[], base: DocPath, loc: Locator): ScenarioError[] {
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
    const path = [...base, ...(i.path as DocPath)];
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
