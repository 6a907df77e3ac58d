/**
 * The package as a user gets it. Slow (about a minute on a quiet machine, most of it the build) but part of
 * `npm test`: `npm pack` (whose `prepack` builds dist/) into a temporary folder, `npm install` of the tarball
 * into a fresh project (`--prefer-offline`: the dependencies come from npm's cache when they are there), then
 * plain Node, a strict TypeScript project and the `iio-sim` bin use it. Where npm cannot install (no registry
 * and nothing cached), the file is one skipped test saying so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/** The environment without what `npm test` passes to its child (npm_config_*, npm_package_*...). */
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
) as NodeJS.ProcessEnv;

function run(cmd: string, args: readonly string[], cwd: string) {
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: ENV, maxBuffer: 64 << 20 });
  return { ...r, ms: performance.now() - started };
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => /\berr(or)?\b/i.test(l)) ?? text.split('\n')[0] ?? '';
}

interface Installed {
  work: string;
  app: string;
  files: string[];
  seconds: { pack: number; install: number };
}

/** Packs the repository and installs the tarball in a new project; a string says why npm could not. */
function packAndInstall(): Installed | string {
  const npmVersion = run('npm', ['--version'], REPO);
  if (npmVersion.status !== 0)
    return `npm does not run (${npmVersion.error?.message ?? firstLine(npmVersion.stderr)})`;
  const work = mkdtempSync(join(tmpdir(), 'iio-package-'));
  const pack = run('npm', ['pack', '--json', '--pack-destination', work], REPO);
  // A build or packing failure is the package's fault: it fails the file, it does not skip it.
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const [packed] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const install = run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, packed.filename),
      `fast-check@${PKG.peerDependencies['fast-check']}`,
    ],
    app,
  );
  if (install.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    return `npm install of the packed tarball failed: ${firstLine(install.stderr)}`;
  }
  return {
    work,
    app,
    files: packed.files.map((f) => f.path),
    seconds: { pack: pack.ms / 1000, install: install.ms / 1000 },
  };
}

const installed = packAndInstall();

if (typeof installed === 'string') it.skip(`package tests skipped: ${installed}`, () => {});

/** Fastest wall time of `times` runs of a command (ms) and its last result. */
function fastest(times: number, cmd: string, args: readonly string[], cwd: string) {
  let last = run(cmd, args, cwd);
  let best = last.ms;
  for (let i = 1; i < times; i++) {
    last = run(cmd, args, cwd);
    best = Math.min(best, last.ms);
  }
  return { ms: Math.round(best), result: last };
}

/** The default ADC's ramp: scan `n`, channel `c` (le:s12/16). */
const RAMP = (n: number, c: number) => ((n + 1024 * c) % 4096) - 2048;

describe.runIf(typeof installed !== 'string')('the packed package (slow: packs, installs, compiles)', () => {
  const { work, app, files, seconds } = installed as Installed;
  const bin = join(app, 'node_modules', '.bin', 'iio-sim');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships LICENSE, the compiled JavaScript with declarations and source maps, and nothing of the repository’s own', () => {
    console.log(
      `package: ${files.length} files; npm pack ${seconds.pack.toFixed(1)} s, npm install ${seconds.install.toFixed(1)} s`,
    );
    expect(files).toContain('LICENSE');
    expect(files).toContain('package.json');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/index.js.map');
    expect(files).toContain('dist/trace/html-viewer.js');
    expect(files).toContain('dist/trace/html-viewer.css');
    expect(files).toContain('scenarios/01-first-capture-read.yaml');
    expect(files).toContain('real/setup/setup.sh');
    expect(
      files.filter((f) => /^(test|\.ci|bench|scratch|src|tools|examples|docs|node_modules)\//.test(f)),
    ).toEqual([]);
    // Every module compiled comes with its declarations and its map.
    const js = files.filter((f) => /^dist\/.*\.js$/.test(f) && f !== 'dist/trace/html-viewer.js');
    expect(js.length).toBeGreaterThan(50);
    expect(js.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
    expect(js.filter((f) => !files.includes(`${f}.map`))).toEqual([]);
    // Every entry point's files are in it.
    const targets = Object.values(PKG.exports).flatMap((t) =>
      typeof t === 'string' ? [t] : [t.types ?? '', t.default ?? ''],
    );
    expect(targets.map((t) => t.replace(/^\.\//, '')).filter((t) => !files.includes(t))).toEqual([]);
    expect(files).toContain(PKG.bin['iio-sim']!.replace(/^\.\//, ''));
  });

  it('installs only what runs: no tsx, esbuild, TypeScript or pino-pretty', () => {
    const present = [
      'tsx',
      'esbuild',
      'typescript',
      'pino-pretty',
      'vitest',
      'eventemitter3',
      'pino',
      'yaml',
      'zod',
    ].filter((p) => existsSync(join(app, 'node_modules', p)));
    expect(present).toEqual(['eventemitter3', 'pino', 'yaml', 'zod']);
  });

  it('plain Node (an .mjs file) imports the API and captures the ramp; the lessons, viewer and exporters are found', () => {
    writeFileSync(
      join(app, 'capture.mjs'),
      `import { createSimulator } from 'iio-dmabuf-sim';
import { enableChannels, openBuffer, setBufferEnabled } from 'iio-dmabuf-sim/user';
import { recordTrace } from 'iio-dmabuf-sim/trace';
import { exportPerfetto } from 'iio-dmabuf-sim/trace/perfetto';
import { exportHtml } from 'iio-dmabuf-sim/trace/html';
import { summaryLines, FenceStats } from 'iio-dmabuf-sim/trace/summary';
import { loadScenario, runScenario, scenarioSimulator } from 'iio-dmabuf-sim/scenario';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const sim = createSimulator({ abi: 'mainline', seed: 1 });
const trace = recordTrace(sim.events, sim.abi);
sim.spawn('capture', async (sys) => {
  await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1']);
  const b = await openBuffer(sys, 0);
  if (typeof b === 'number') return b;
  await setBufferEnabled(sys, 0, true);
  const buf = sys.mem.alloc(4096);
  const n = await sys.read(b.fd, buf, 4096);
  const dv = new DataView(sys.mem.read(buf, n).buffer);
  const samples = [];
  for (let off = 0; off < n; off += 2) samples.push(dv.getInt16(off, true));
  console.log(JSON.stringify({ n, samples }));
  return 0;
});
const result = await sim.run();
trace.detach();
const perfetto = JSON.parse(exportPerfetto(trace.events, { end: result.time }));
const html = exportHtml(trace.events, { end: result.time });
const lesson = createRequire(import.meta.url).resolve('iio-dmabuf-sim/package.json').replace(/package\\.json$/, 'scenarios/01-first-capture-read.yaml');
const loaded = loadScenario(readFileSync(lesson, 'utf8'), lesson);
const lessonSim = scenarioSimulator(loaded.scenario);
const fences = new FenceStats(lessonSim.events);
const outcome = await runScenario(loaded.scenario, lessonSim);
console.log(JSON.stringify({
  status: result.processes[0].status,
  traceEvents: perfetto.traceEvents.length > 0,
  viewer: html.includes('<script>') && html.includes('<style>'),
  lesson: { ok: loaded.ok, failures: outcome.failures.length, summary: summaryLines(outcome.result, fences).length > 0 },
}));
`,
    );
    const r = run(process.execPath, ['capture.mjs'], app);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [capture, rest] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)) as [{ n: number; samples: number[] }, unknown];
    expect(capture.n).toBe(4096);
    const expected = Array.from({ length: 2048 }, (_, i) => RAMP(i >> 1, i & 1));
    expect(capture.samples.slice(0, 8)).toEqual([-2048, -1024, -2047, -1023, -2046, -1022, -2045, -1021]);
    expect(capture.samples).toEqual(expected);
    expect(rest).toEqual({
      status: 'exited',
      traceEvents: true,
      viewer: true,
      lesson: { ok: true, failures: 0, summary: true },
    });
    // require() of the ESM package (Node >= 20.19).
    const cjs = run(
      process.execPath,
      ['-e', "process.stdout.write(typeof require('iio-dmabuf-sim').createSimulator)"],
      app,
    );
    expect([cjs.stdout, cjs.stderr]).toEqual(['function', '']);
  });

  it('a strict TypeScript project that emits JavaScript and declarations compiles against it with zero errors', () => {
    mkdirSync(join(app, 'src'));
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          declaration: true,
          sourceMap: true,
          outDir: 'out',
          rootDir: 'src',
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
        },
        include: ['src'],
      }),
    );
    writeFileSync(
      join(app, 'src', 'main.ts'),
      `import { createSimulator, type RunResult, O_RDWR } from 'iio-dmabuf-sim';
import { checkSetup, type SetupStatus } from 'iio-dmabuf-sim/real';
import { ContractChecker } from 'iio-dmabuf-sim/check';
import { runCampaign, checkQuiescentInvariants } from 'iio-dmabuf-sim/testing';
import { IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, iio_dmabuf } from 'iio-dmabuf-sim/uapi';
import { IIO_BUFFER_DMABUF_ALLOC_IOCTL } from 'iio-dmabuf-sim/uapi/v2';
import { enableChannels, openBuffer, setBufferEnabled } from 'iio-dmabuf-sim/user';
import { allocHeapDmabuf } from 'iio-dmabuf-sim/user/dmabuf';
import { recordTrace } from 'iio-dmabuf-sim/trace';
import { exportPerfetto, type PerfettoOptions } from 'iio-dmabuf-sim/trace/perfetto';
import { exportHtml } from 'iio-dmabuf-sim/trace/html';
import { formatFtrace, traceFences } from 'iio-dmabuf-sim/trace/ftrace';
import { Strace, formatReturn } from 'iio-dmabuf-sim/trace/strace';
import { FenceStats, summaryLines } from 'iio-dmabuf-sim/trace/summary';
import { loadScenario, runScenario, scenarioSimulator, type ScenarioOutcome } from 'iio-dmabuf-sim/scenario';

export async function capture(): Promise<{ result: RunResult; perfetto: string; lines: string[] }> {
  const sim = createSimulator({ abi: 'mainline', seed: 1, platform: 'zcu102' });
  const trace = recordTrace(sim.events, sim.abi);
  const fences = new FenceStats(sim.events);
  const checker = new ContractChecker(sim);
  const ftrace: string[] = [];
  const stop = traceFences(sim.events, (line: string) => ftrace.push(line));
  sim.spawn('capture', async (sys) => {
    await enableChannels(sys, 0, ['in_voltage0']);
    const b = await openBuffer(sys, 0, 0, O_RDWR);
    if (typeof b === 'number') return b;
    await setBufferEnabled(sys, 0, true);
    const buf = sys.mem.alloc(1024);
    return sys.read(b.fd, buf, 1024);
  });
  const result = await sim.run();
  stop();
  trace.detach();
  checker.finish(result);
  checkQuiescentInvariants(sim);
  const options: PerfettoOptions = { end: result.time };
  return { result, perfetto: exportPerfetto(trace.events, options), lines: [...summaryLines(result, fences), ...ftrace] };
}

export function lesson(text: string): Promise<ScenarioOutcome> | string[] {
  const loaded = loadScenario(text, 'lesson.yaml');
  if (!loaded.ok) return loaded.errors.map((e) => e.message);
  return runScenario(loaded.scenario, scenarioSimulator(loaded.scenario));
}

export const used = [
  checkSetup, runCampaign, allocHeapDmabuf, exportHtml, formatFtrace, Strace, formatReturn,
  IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, IIO_BUFFER_DMABUF_ALLOC_IOCTL, iio_dmabuf.size('lp64'),
] as const;
export type Setup = SetupStatus;

const { result, perfetto, lines } = await capture();
console.log(result.processes[0]?.status, result.processes[0]?.value, JSON.parse(perfetto).traceEvents.length > 0, lines.length > 0);
`,
    );
    const tsc = run(process.execPath, [TSC, '-p', 'tsconfig.json'], app);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    expect(existsSync(join(app, 'out', 'main.d.ts'))).toBe(true);
    const r = run(process.execPath, ['out/main.js'], app);
    expect([r.stdout, r.stderr]).toEqual(['exited 1024 true true\n', '']);
  }, 180_000);

  it('the iio-sim bin runs the compiled CLI and answers --version (its start-up time is a row of npm run bench)', () => {
    const node = fastest(3, process.execPath, ['-e', '0'], app);
    const version = fastest(3, bin, ['--version'], app);
    const help = fastest(1, bin, ['--help'], app);
    const npx = run('npx', ['--no-install', 'iio-sim', '--version'], app);
    console.log(
      `iio-sim --version ${version.ms} ms, --help ${help.ms} ms, npx iio-sim --version ${Math.round(npx.ms)} ms (bare node ${node.ms} ms)`,
    );
    expect(version.result.stdout).toBe(`iio-sim ${PKG.version}\n`);
    expect(npx.stdout).toBe(`iio-sim ${PKG.version}\n`);
    expect(help.result.stdout).toMatch(
      /^iio-sim \d+\.\d+\.\d+: a deterministic simulator .*\n\nusage: iio-sim COMMAND/,
    );
    expect(help.result.stdout).toContain('\niio-sim capture ');
    const lesson = run(
      bin,
      ['run', '--quiet', join('node_modules', PKG.name, 'scenarios', '01-first-capture-read.yaml')],
      app,
    );
    expect([lesson.stdout, lesson.stderr, lesson.status]).toEqual([
      `${join('node_modules', PKG.name, 'scenarios', '01-first-capture-read.yaml')}: PASS\n`,
      '',
      0,
    ]);
  }, 120_000);
});
