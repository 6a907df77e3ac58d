/**
 * The shape of the source tree (issue 16): no import circle among `src/` files (type imports included),
 * at most two functions over 80 lines, and the ABI profile chosen once: its name is compared in at most one
 * place in `src/kernel` and `src/hw`. Parsed with the TypeScript compiler, so comments and strings do not
 * count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({
  path,
  name: relative(SRC, path),
  ast: ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2023, true),
}));

/** Relative imports and re-exports of each file, resolved to absolute paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const st of f.ast.statements) {
      if (!ts.isImportDeclaration(st) && !ts.isExportDeclaration(st)) continue;
      const spec = st.moduleSpecifier;
      if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('.'))
        deps.push(resolve(dirname(f.path), spec.text));
    }
    graph.set(f.path, deps);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(relative(SRC, w));
    } while (w !== v);
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Every function-like node with its line count, as `file:line name (n lines)`. */
function functionLengths(): { where: string; lines: number }[] {
  const out: { where: string; lines: number }[] = [];
  for (const f of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const first = f.ast.getLineAndCharacterOfPosition(n.getStart()).line;
        const last = f.ast.getLineAndCharacterOfPosition(n.getEnd()).line;
        const name = n.name?.getText() ?? '<anonymous>';
        out.push({ where: `${f.name}:${first + 1} ${name}`, lines: last - first + 1 });
      }
      ts.forEachChild(n, visit);
    };
    visit(f.ast);
  }
  return out;
}

const PROFILE_NAMES = new Set(['mainline', 'v2']);

/** Comparisons of a value with an ABI profile name (`=== 'v2'`, `case 'mainline':`) in `dirs`. */
function profileTests(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files.filter((x) => dirs.some((d) => x.name.startsWith(`${d}/`)))) {
    const isName = (e: ts.Node) => ts.isStringLiteralLike(e) && PROFILE_NAMES.has(e.text);
    const visit = (n: ts.Node): void => {
      const compared =
        (ts.isBinaryExpression(n) &&
          [
            ts.SyntaxKind.EqualsEqualsEqualsToken,
            ts.SyntaxKind.ExclamationEqualsEqualsToken,
            ts.SyntaxKind.EqualsEqualsToken,
            ts.SyntaxKind.ExclamationEqualsToken,
          ].includes(n.operatorToken.kind) &&
          (isName(n.left) || isName(n.right))) ||
        (ts.isCaseClause(n) && isName(n.expression));
      if (compared) out.push(`${f.name}:${f.ast.getLineAndCharacterOfPosition(n.getStart()).line + 1}`);
      ts.forEachChild(n, visit);
    };
    visit(f.ast);
  }
  return out;
}

describe('source structure (issue 16)', () => {
  it('has no import circle among src/ files, type imports included', () => {
    expect(cycles(importGraph())).toEqual([]);
  });

  it('has at most two functions over 80 lines', () => {
    const long = functionLengths().filter((f) => f.lines > 80);
    expect(long.length, long.map((f) => `${f.where} (${f.lines} lines)`).join('\n')).toBeLessThanOrEqual(2);
  });

  it('compares the ABI profile name in at most one place in src/kernel and src/hw', () => {
    expect(profileTests(['kernel', 'hw']).length).toBeLessThanOrEqual(1);
  });

  it('finds what it looks for (the checks are not vacuous)', () => {
    const g = new Map([
      ['/a', ['/b']],
      ['/b', ['/a']],
    ]);
    expect(cycles(g)).toHaveLength(1);
    expect(functionLengths().length).toBeGreaterThan(500);
    expect(profileTests(['scenario', 'testing', 'sim', 'check']).length).toBeGreaterThan(0);
  });
});
