/**
 * `npm run build` (also run by `prepack`): compiles src/ into dist/ as the package ships it. ESM JavaScript
 * with source maps (sources inlined: the package does not ship src/) and `.d.ts` declarations, from
 * tsconfig.build.json; then the files read at run time next to their module (the HTML viewer's script and
 * style) are copied, and the declarations' `.ts` import paths become `.js` so that every TypeScript version
 * and resolver reads them.
 *
 * The output is built in a fresh folder and then swapped in, so bin/iio-sim.js never sees a half-built dist/
 * (it falls back to the sources while dist/ is missing or older than src/). It writes to stderr only, so
 * that `npm pack --json` still prints JSON alone.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');

/** A relative module path ending in `.ts` in a declaration's `from '...'`, `import('...')` or `import '...'`. */
const TS_SPECIFIER = /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g;

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** Builds dist/; returns the number of files written. */
export function build(): number {
  const started = new Date();
  const out = join(ROOT, `dist.building-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], {
      stdio: ['ignore', 2, 2],
    });
    for (const file of filesUnder(SRC).filter((f) => !f.endsWith('.ts'))) {
      mkdirSync(dirname(join(out, file)), { recursive: true });
      copyFileSync(join(SRC, file), join(out, file));
    }
    for (const file of filesUnder(out).filter((f) => f.endsWith('.d.ts'))) {
      const path = join(out, file);
      const text = readFileSync(path, 'utf8');
      const rewritten = text.replace(TS_SPECIFIER, '$1$2$3.js$2');
      if (rewritten !== text) writeFileSync(path, rewritten);
    }
    // Node cannot load a `.ts` path and older TypeScript refuses one: none may be left in what ships.
    const left = filesUnder(out).filter(
      (f) =>
        /\.(js|d\.ts)$/.test(f) && new RegExp(TS_SPECIFIER.source).test(readFileSync(join(out, f), 'utf8')),
    );
    if (left.length > 0) throw new Error(`.ts import paths left in ${left.join(', ')}`);
    // Stamped with the start of the build: a source saved while tsc ran counts as newer than dist/.
    utimesSync(join(out, 'cli.js'), started, started);
    const old = join(ROOT, `dist.old-${process.pid}`);
    rmSync(old, { recursive: true, force: true });
    try {
      renameSync(DIST, old);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    renameSync(out, DIST);
    rmSync(old, { recursive: true, force: true });
    return filesUnder(DIST).length;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const n = build();
    process.stderr.write(`dist/: ${n} files\n`);
  } catch (e) {
    process.stderr.write(`build failed: ${(e as Error).message.split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}
