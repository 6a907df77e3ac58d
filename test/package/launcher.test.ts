/**
 * bin/iio-sim.js, the launcher, in a copy of the package's layout whose two CLIs only say which one ran: the
 * compiled dist/ while it is at least as new as everything in src/, the sources through tsx otherwise, dist/
 * alone where there is no src/ (the installed package), and `--version` without loading either.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

describe('bin/iio-sim.js', () => {
  const root = mkdtempSync(join(tmpdir(), 'iio-launcher-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist'));
  mkdirSync(join(root, 'src', 'trace'), { recursive: true });
  copyFileSync(join(REPO, 'bin', 'iio-sim.js'), join(root, 'bin', 'iio-sim.js'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'x', version: '9.8.7', type: 'module' }));
  const cli = (which: string) =>
    `export async function cliEntry(): Promise<void> { process.stdout.write('${which} ' + process.argv.slice(2).join(' ')); }\n`;
  writeFileSync(join(root, 'dist', 'cli.js'), cli('dist').replace(': Promise<void>', ''));
  writeFileSync(join(root, 'src', 'cli.ts'), cli('src'));
  writeFileSync(join(root, 'src', 'trace', 'html-viewer.css'), 'body {}\n');

  const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
  const launch = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'iio-sim.js'), ...args], { encoding: 'utf8' });
    return [r.stdout, r.stderr, r.status];
  };
  const T = 1_700_000_000;

  it('runs dist/ when it is newer than every file and folder in src/', () => {
    for (const p of ['src', 'src/trace', 'src/cli.ts', 'src/trace/html-viewer.css']) at(p, T);
    at('dist/cli.js', T + 10);
    expect(launch('list', '-q')).toEqual(['dist list -q', '', 0]);
  });

  it('runs the sources through tsx when a file in src/ is newer than dist/, or dist/ is missing', () => {
    at('src/trace/html-viewer.css', T + 20);
    expect(launch('list')).toEqual(['src list', '', 0]);
    at('src/trace/html-viewer.css', T);
    at('src/trace', T + 20); // a file added or removed there
    expect(launch('list')).toEqual(['src list', '', 0]);
    rmSync(join(root, 'dist', 'cli.js'));
    expect(launch('list')).toEqual(['src list', '', 0]);
    writeFileSync(join(root, 'dist', 'cli.js'), cli('dist').replace(': Promise<void>', ''));
  });

  it('runs dist/ where there is no src/, as in the installed package', () => {
    rmSync(join(root, 'src'), { recursive: true });
    expect(launch('run', 'f.yaml')).toEqual(['dist run f.yaml', '', 0]);
  });

  it('answers --version from package.json without loading the CLI', () => {
    expect(launch('--version')).toEqual(['iio-sim 9.8.7\n', '', 0]);
  });
});

describe('iio-sim --version', () => {
  it('prints the version in package.json, exit 0', async () => {
    const out: string[] = [];
    const code = await main(['--version'], { out: (l) => out.push(l), err: (l) => out.push(`err: ${l}`) });
    expect([code, out]).toEqual([0, [`iio-sim ${version}`]]);
  });
});
