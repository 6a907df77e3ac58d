/**
 * Reading scenario files (src/scenario/read-file.ts) and the CLI on paths that are no scenario file: only
 * a regular file is read, at most 1 MiB + 1 byte of it, so /dev/zero, /dev/urandom, a FIFO with no
 * writer and a directory are refused at once with one located line and exit 2, and the size limit counts
 * UTF-8 bytes, not characters.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { MAX_SCENARIO_BYTES, readScenarioFile } from '../../src/scenario/read-file.ts';

async function cli(args: readonly string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iio-sim-read-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const GOOD = 'processes:\n  - name: p\n    steps:\n      - sleep: 1ms\n';

describe('readScenarioFile', () => {
  it.each([
    ['/dev/zero', 'a character device'],
    ['/dev/urandom', 'a character device'],
    ['/dev/null', 'a character device'],
  ])('%s is refused without reading: it is %s', (path, kind) => {
    expect(readScenarioFile(path)).toEqual({
      ok: false,
      error: {
        file: path,
        line: 1,
        col: 1,
        message: `cannot read the file: it is ${kind}, not a regular file`,
      },
    });
  });

  it('a FIFO with no writer is refused at once (the open does not wait for a writer)', () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(readScenarioFile(fifo)).toEqual({
      ok: false,
      error: {
        file: fifo,
        line: 1,
        col: 1,
        message: 'cannot read the file: it is a FIFO, not a regular file',
      },
    });
  });

  it('a directory is refused', () => {
    expect(readScenarioFile(dir)).toEqual({
      ok: false,
      error: {
        file: dir,
        line: 1,
        col: 1,
        message: 'cannot read the file: it is a directory, not a regular file',
      },
    });
  });

  it('a missing file names the reason', () => {
    const f = join(dir, 'none.yaml');
    expect(readScenarioFile(f)).toEqual({
      ok: false,
      error: { file: f, line: 1, col: 1, message: 'cannot read the file (no such file)' },
    });
  });

  it('the limit counts bytes: 600,000 é (1.2 MB, 0.6 M characters) is over it', () => {
    const f = join(dir, 'accents.yaml');
    writeFileSync(f, `title: ${'é'.repeat(600_000)}\n${GOOD}`);
    expect(readScenarioFile(f)).toEqual({
      ok: false,
      error: { file: f, line: 1, col: 1, message: `file is larger than ${MAX_SCENARIO_BYTES} bytes` },
    });
  });

  it('a file of exactly the limit is read; one byte more is not', () => {
    const f = join(dir, 'exact.yaml');
    const pad = (n: number) => `${GOOD}#${'x'.repeat(n - GOOD.length - 2)}\n`;
    writeFileSync(f, pad(MAX_SCENARIO_BYTES));
    const r = readScenarioFile(f);
    expect(r.ok && r.text.length).toBe(MAX_SCENARIO_BYTES);
    writeFileSync(f, pad(MAX_SCENARIO_BYTES + 1));
    expect(readScenarioFile(f)).toMatchObject({
      ok: false,
      error: { message: 'file is larger than 1048576 bytes' },
    });
  });

  it('a byte-order mark is dropped', () => {
    const f = join(dir, 'bom.yaml');
    writeFileSync(f, `\uFEFF${GOOD}`);
    expect(readScenarioFile(f)).toEqual({ ok: true, text: GOOD });
  });

  it('loadScenario counts UTF-8 bytes too (text given as a string)', () => {
    const text = `title: ${'é'.repeat(600_000)}\n${GOOD}`;
    expect(text.length).toBeLessThan(MAX_SCENARIO_BYTES);
    expect(loadScenario(text, 'big.yaml')).toEqual({
      ok: false,
      errors: [{ file: 'big.yaml', line: 1, col: 1, message: 'file is larger than 1048576 bytes' }],
    });
  });
});

describe('iio-sim validate and run on paths that are no scenario file', () => {
  it.each(['validate', 'run'])('%s /dev/zero and /dev/urandom: one line each, exit 2', async (command) => {
    const r = await cli([command, '--quiet', '/dev/zero', '/dev/urandom']);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      '/dev/zero:1:1: cannot read the file: it is a character device, not a regular file',
      '/dev/urandom:1:1: cannot read the file: it is a character device, not a regular file',
    ]);
  });

  it('run on a FIFO with no writer: one line, exit 2, no wait', async () => {
    const fifo = join(dir, 'fifo2.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await cli(['run', fifo]);
    expect(r).toEqual({
      code: 2,
      out: [],
      err: [`${fifo}:1:1: cannot read the file: it is a FIFO, not a regular file`],
    });
  });

  it('a file name with control characters is printed escaped', async () => {
    const r = await cli(['validate', join(dir, 'a\nb\u001b[2J.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`${dir}/a\\nb\\u001b[2J.yaml:1:1: cannot read the file (no such file)`]);
  });
});
