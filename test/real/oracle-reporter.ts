/**
 * Vitest reporter of the oracle run (vitest.real.config.ts): which rulebook rules were checked on the real
 * kernel. A rule counts when a test whose title names it (e.g. `ENQ-5: ...`) passed after running at least
 * one program on Linux 7.3 (`meta.oracleRuns`, set by test/helpers.ts). Prints "N of 430 rules checked on
 * Linux 7.3", the list, and the skip reasons; writes the same as JSON to `IIO_SIM_ORACLE_REPORT` when set.
 *
 * The rulebook is `../shared/reference/kernel-semantics.md` beside the repository (or `IIO_SIM_RULEBOOK`):
 * its rule IDs are the first cells of its table rows.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RULE_ID = /\b(?:V2-)?[A-Z][A-Z0-9]*-\d+\b(?!\.\.)/g;

/** The rule IDs of the rulebook in order, or null when it is not there. */
export function rulebookIds(
  path = process.env.IIO_SIM_RULEBOOK ?? join(ROOT, '../shared/reference/kernel-semantics.md'),
): string[] | null {
  if (!existsSync(path)) return null;
  const ids: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\|\s*((?:V2-)?[A-Z][A-Z0-9]*-\d+)\s*\|/.exec(line);
    if (m && !ids.includes(m[1]!)) ids.push(m[1]!);
  }
  return ids;
}

/** The rule IDs a test title names (a range such as `FD-1..12` in a suite title names none). */
export function ruleIdsOf(title: string): string[] {
  return [...new Set(title.match(RULE_ID) ?? [])];
}

/** Sorts rule IDs by area, then number. */
function byRule(a: string, b: string): number {
  const [, aa = '', an = '0'] = /^(.*)-(\d+)$/.exec(a) ?? [];
  const [, ba = '', bn = '0'] = /^(.*)-(\d+)$/.exec(b) ?? [];
  return aa === ba ? Number(an) - Number(bn) : aa < ba ? -1 : 1;
}

/** What one oracle run checked. */
export interface OracleSummary {
  readonly rulebookSize: number | null;
  /** Rules with at least one test that passed on the real kernel. */
  readonly checked: string[];
  /** Rules named by tests that ran but none passed on the real kernel (skipped or failed). */
  readonly notChecked: string[];
  readonly tests: { passed: number; failed: number; skipped: number; passedWithoutRules: number };
  /** Skip notes and how many tests each skipped. */
  readonly skipReasons: Record<string, number>;
  /** Assertions left out on the real kernel by simOnly(), and how many tests had each. */
  readonly simOnly: Record<string, number>;
  /** Failed tests as `file > title`. */
  readonly failures: string[];
  /** Rule IDs in titles that the rulebook does not have. */
  readonly unknownIds: string[];
}

/** The summary of a finished run's modules. */
export function summarize(modules: readonly TestModule[], rulebook: string[] | null): OracleSummary {
  const known = rulebook ? new Set(rulebook) : null;
  const checked = new Set<string>();
  const named = new Set<string>();
  const unknown = new Set<string>();
  const tests = { passed: 0, failed: 0, skipped: 0, passedWithoutRules: 0 };
  const skipReasons: Record<string, number> = {};
  const simOnly: Record<string, number> = {};
  const failures: string[] = [];
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const ids = ruleIdsOf(ownTitle(t));
      for (const id of ids) (known && !known.has(id) ? unknown : named).add(id);
      const r = t.result();
      const meta = t.meta();
      for (const why of meta.oracleSimOnly ?? []) simOnly[why] = (simOnly[why] ?? 0) + 1;
      if (r.state === 'passed' && meta.oracleRuns) {
        tests.passed++;
        const good = ids.filter((id) => !known || known.has(id));
        if (good.length === 0) tests.passedWithoutRules++;
        for (const id of good) checked.add(id);
      } else if (r.state === 'failed') {
        tests.failed++;
        failures.push(`${relative(ROOT, m.moduleId)} > ${t.fullName}`);
      } else if (r.state === 'skipped' || r.state === 'passed') {
        tests.skipped++;
        const note = (r.state === 'skipped' ? r.note : undefined) ?? 'skipped';
        skipReasons[note] = (skipReasons[note] ?? 0) + 1;
      }
    }
  }
  return {
    rulebookSize: rulebook?.length ?? null,
    checked: [...checked].sort(byRule),
    notChecked: [...named].filter((id) => !checked.has(id)).sort(byRule),
    tests,
    skipReasons,
    simOnly,
    failures,
    unknownIds: [...unknown].sort(byRule),
  };
}

/** The test's own title, or the nearest suite title naming a rule when it names none. */
function ownTitle(t: TestCase): string {
  if (ruleIdsOf(t.name).length > 0) return t.name;
  for (let p: TestCase['parent'] | undefined = t.parent; p && p.type === 'suite'; p = p.parent)
    if (ruleIdsOf(p.name).length > 0) return p.name;
  return t.name;
}

/** The summary as the text the reporter prints. */
export function formatSummary(s: OracleSummary): string {
  const lines: string[] = [];
  const of = s.rulebookSize === null ? '' : ` of ${s.rulebookSize}`;
  lines.push(`${s.checked.length}${of} rules checked on Linux 7.3`);
  lines.push(`  ${s.checked.join(' ')}`);
  lines.push(
    `tests: ${s.tests.passed} passed on the real kernel (${s.tests.passedWithoutRules} naming no rule), ${s.tests.failed} failed, ${s.tests.skipped} skipped`,
  );
  if (s.notChecked.length > 0)
    lines.push(
      `rules named by tests but not checked on the real kernel (${s.notChecked.length}): ${s.notChecked.join(' ')}`,
    );
  const reasons = Object.entries(s.skipReasons).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) {
    lines.push('skipped:');
    for (const [why, n] of reasons) lines.push(`  ${String(n).padStart(4)}  ${why}`);
  }
  const timeOnly = Object.entries(s.simOnly).sort((a, b) => b[1] - a[1]);
  if (timeOnly.length > 0) {
    lines.push('assertions left to the simulator (simOnly):');
    for (const [why, n] of timeOnly) lines.push(`  ${String(n).padStart(4)}  ${why}`);
  }
  if (s.failures.length > 0) {
    lines.push(`failed (${s.failures.length}):`);
    for (const f of s.failures) lines.push(`  ${f}`);
  }
  if (s.unknownIds.length > 0)
    lines.push(`IDs in titles the rulebook does not have: ${s.unknownIds.join(' ')}`);
  return lines.join('\n');
}

/** The reporter: prints the summary at the end of the run. */
export default class OracleReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const s = summarize(modules, rulebookIds());
    console.log(`\noracle: ${formatSummary(s)}\n`);
    const out = process.env.IIO_SIM_ORACLE_REPORT;
    if (out) writeFileSync(out, `${JSON.stringify(s, null, 2)}\n`);
  }
}
