/**
 * Loading a scenario file: YAML (or JSON) parsing with line and column positions, schema validation, and
 * the checks a schema cannot express (check.ts). Every problem becomes one line `file:line:col: message`.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { checkScenario } from './check.ts';
import { type DocPath, Locator, type ScenarioError, zodErrors } from './errors.ts';
import { MAX_SCENARIO_BYTES } from './read-file.ts';
import { Scenario } from './schema.ts';
import { showKey } from './values.ts';

/** A scenario that loaded, or the errors that stopped it. */
export type LoadResult =
  | {
      ok: true;
      scenario: Scenario;
      file: string;
      /** A located error at a path of the document (a run stopped at a limit reports its step with it). */
      locate(path: DocPath, message: string): ScenarioError;
    }
  | { ok: false; errors: ScenarioError[] };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Deepest nesting of mappings and lists a scenario may have (a loop in a loop takes two levels each). */
export const MAX_NESTING = 100;
const TOO_DEEP = `nested deeper than ${MAX_NESTING} levels of mappings and lists`;

export { MAX_SCENARIO_BYTES } from './read-file.ts';

/** A failure with one error. */
function failAt(error: ScenarioError): LoadResult {
  return { ok: false, errors: [error] };
}

/**
 * Structural problems the YAML library lets through: keys that are not plain scalars, keys that could
 * pollute prototypes, and aliases to anchors that do not exist. One located error each.
 */
function structuralErrors(doc: Document, loc: Locator): ScenarioError[] {
  const out: ScenarioError[] = [];
  const anchors = new Set<string>();
  let deep = false;
  const walk = (node: unknown, depth: number): void => {
    if (deep) return;
    if ((isMap(node) || isSeq(node)) && depth > MAX_NESTING) {
      deep = true;
      out.push(loc.node(node, TOO_DEEP));
      return;
    }
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
        walk(pair.value, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item, depth + 1);
    }
  };
  walk(doc.contents, 1);
  return out;
}

/** Text that is no scenario at all: too large, binary, or empty. */
function unusableText(text: string, file: string): ScenarioError | null {
  // UTF-16 code units never outnumber UTF-8 bytes: the byte count is needed only for texts within the limit.
  if (text.length > MAX_SCENARIO_BYTES || Buffer.byteLength(text, 'utf8') > MAX_SCENARIO_BYTES)
    return { file, line: 1, col: 1, message: `file is larger than ${MAX_SCENARIO_BYTES} bytes` };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary input is what this detects
  const binary = /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/.exec(text);
  if (binary) {
    const before = text.slice(0, binary.index);
    return {
      file,
      line: before.split('\n').length,
      col: binary.index - before.lastIndexOf('\n'),
      message: 'binary data: a scenario is a YAML or JSON text file',
    };
  }
  if (text.trim() === '')
    return { file, line: 1, col: 1, message: 'empty file: a scenario needs at least `processes:`' };
  return null;
}

/** The first YAML syntax error, located (it is the one to fix: later ones are usually its consequences). */
function syntaxError(doc: Document, text: string, loc: Locator): ScenarioError {
  const e = doc.errors[0]!;
  if (e.code === 'BLOCK_AS_IMPLICIT_KEY' || e.code === 'MULTILINE_IMPLICIT_KEY') {
    // A line indented unlike its siblings: point at that line. The library reports the error either at the
    // start of that line or at the value ending the line before it.
    const here = text.lastIndexOf('\n', e.pos[0] - 1) + 1;
    const lineStart = text.slice(here, e.pos[0]).trim() === '' ? here : text.indexOf('\n', e.pos[0]) + 1;
    if (lineStart > 0) {
      const indent = /^[ \t]*/.exec(text.slice(lineStart))![0].length;
      return loc.offset(
        lineStart + indent,
        'YAML: bad indentation: this line is not aligned with the keys or items around it',
      );
    }
  }
  // The parser's own recursion gave out: the document is nested far deeper than any scenario may be.
  if (/call stack/i.test(e.message)) return loc.offset(e.pos[0], TOO_DEEP);
  return loc.offset(
    e.pos[0],
    `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`,
  );
}

/** Parses YAML text into plain data, with the locator of its document, or the errors that stop it. */
function parseYaml(
  text: string,
  file: string,
): { data: unknown; loc: Locator } | { errors: ScenarioError[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const loc = new Locator(doc, lc, file);
  if (doc.errors.length > 0) return { errors: [syntaxError(doc, text, loc)] };
  const structural = structuralErrors(doc, loc);
  if (structural.length > 0) return { errors: structural };
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }), loc };
  } catch (e) {
    return {
      errors: [{ file, line: 1, col: 1, message: `YAML: ${e instanceof Error ? e.message : String(e)}` }],
    };
  }
}

/** Parses and validates scenario text. `file` names it in errors. */
export function loadScenario(text: string, file: string): LoadResult {
  const unusable = unusableText(text, file);
  if (unusable) return failAt(unusable);
  const yaml = parseYaml(text, file);
  if ('errors' in yaml) return { ok: false, errors: yaml.errors };
  const { data, loc } = yaml;
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    return failAt({ file, line: 1, col: 1, message: 'a scenario is a mapping with at least `processes:`' });
  const parsed = Scenario.safeParse(data);
  if (!parsed.success) return { ok: false, errors: zodErrors(parsed.error.issues, [], loc) };
  const errors = checkScenario(parsed.data, loc);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, scenario: parsed.data, file, locate: (path, message) => loc.at(path, message) };
}
