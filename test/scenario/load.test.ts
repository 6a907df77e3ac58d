/**
 * The scenario loader (src/scenario/load.ts) on its own: what loads, the exact errors (file, line, column,
 * message) of the checks the schema cannot express, durations, and robustness: no input makes it throw,
 * every error is one located line inside the file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCENARIO_DIR } from '../../src/cli.ts';
import { formatError, type ScenarioError } from '../../src/scenario/errors.ts';
import { type LoadResult, loadScenario, MAX_SCENARIO_BYTES } from '../../src/scenario/load.ts';
import { parseDuration } from '../../src/scenario/values.ts';

const lessons = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const lessonText = (f: string) => readFileSync(join(SCENARIO_DIR, f), 'utf8');

/** 1-based line and column of the `n`-th occurrence of `needle` in `text`. */
function at(text: string, needle: string, n = 1): { line: number; col: number } {
  let i = -1;
  for (let k = 0; k < n; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`test bug: '${needle}' (#${n}) is not in the text`);
  }
  const before = text.slice(0, i);
  return { line: before.split('\n').length, col: i - before.lastIndexOf('\n') };
}

function errorsOf(r: LoadResult): ScenarioError[] {
  if (r.ok) throw new Error('expected the scenario to be refused');
  return r.errors;
}

function expectOk(text: string): void {
  const r = loadScenario(text, 't.yaml');
  expect(r.ok ? [] : r.errors.map(formatError)).toEqual([]);
}

/** Asserts exactly one error, at the `n`-th `needle`, whose message matches `msg`. */
function expectOneError(text: string, needle: string, msg: RegExp, n = 1): void {
  const errors = errorsOf(loadScenario(text, 't.yaml'));
  expect(errors.map(formatError)).toHaveLength(1);
  const e = errors[0]!;
  expect({ line: e.line, col: e.col }, formatError(e)).toEqual(at(text, needle, n));
  expect(e.message).toMatch(msg);
}

const P = 'processes:\n  - name: p\n    steps:\n';

describe('what loads', () => {
  it.each(lessons)('bundled lesson %s loads, with a title', (f) => {
    const r = loadScenario(lessonText(f), f);
    expect(r.ok ? 'ok' : r.errors.map(formatError)).toBe('ok');
    if (r.ok) {
      expect(r.file).toBe(f);
      expect(typeof r.scenario.title).toBe('string');
    }
  });

  it.each(lessons)('lesson %s written as JSON loads to the same scenario', (f) => {
    const yaml = loadScenario(lessonText(f), f);
    const json = loadScenario(JSON.stringify(parse(lessonText(f)), null, 2), `${f}.json`);
    expect(json.ok && yaml.ok).toBe(true);
    if (json.ok && yaml.ok) expect(json.scenario).toEqual(yaml.scenario);
  });

  it('names come from as:, into:, out: (int and struct), chardev:, and foreach variables, and stay defined after a loop', () => {
    expectOk(`${P}      - open: { path: /dev/iio:device0, flags: O_RDWR, as: chr }
      - ioctl: { fd: chr, request: IIO_BUFFER_GET_FD_IOCTL, arg: { int: 0, out: b0 } }
      - open: { path: /dev/dma_heap/system, flags: [O_RDWR, O_CLOEXEC], as: heap }
      - ioctl: { fd: heap, request: DMA_HEAP_IOCTL_ALLOC, arg: { struct: dma_heap_allocation_data, value: { len: 4096, fd_flags: "O_RDWR|O_CLOEXEC" }, out: { fd: hb } } }
      - dup: { fd: hb, as: hb2 }
      - dup2: { fd: hb2, to: 20, as: hb3 }
      - mmap: { fd: hb3, length: 4096, prot: PROT_READ|PROT_WRITE, flags: MAP_SHARED, as: m }
      - fill: { map: m, data: abc }
      - munmap: { map: m }
      - memfd_create: { name: x, flags: 0x2, as: mf }
      - open: { path: /dev/udmabuf, as: u }
      - ioctl: { fd: u, request: UDMABUF_CREATE, arg: { struct: udmabuf_create, value: { memfd: mf, size: 4096 } }, as: ub }
      - buffer_fd: { device: sim-adc, as: buf, chardev: chr2 }
      - loop: { count: 2, steps: [{ heap_alloc: { size: 4096, as: inloop } }] }
      - foreach: { var: b, in: [d0, d1], steps: [{ heap_alloc: { size: 4096, as: $b } }, { attach: { buffer: buf, dmabuf: $b } }] }
      - read: { fd: chr2, len: 8, into: r }
        expect: any
      - check: { in: r }
      - poll: { fds: [{ fd: d0, events: POLLIN }, { fd: inloop, events: [POLLOUT] }, { fd: 7, events: 1 }] }
        expect: { revents: { d0: POLLIN, inloop: 0 } }
      - foreach:
          var: b
          in: [d0, d1]
          steps:
            - loop: { count: 2, steps: [{ sync: { dmabuf: $b, phase: start, dir: rw } }] }
            - detach: { buffer: buf, dmabuf: $b }
      - close: ub
      - close: 3
`);
  });

  it('devices are known by name and as iio:deviceN, for the default board and for a custom one', () => {
    expectOk(`${P}      - enable_buffer: { device: iio:device0 }
      - enable_buffer: { device: sim-dac }
      - enable_buffer: { device: iio:device2 }
      - enable_buffer: { device: sim-dummy }
`);
    const custom = `devices:\n  - { kind: dummy, name: dum }\n${P}      - enable_buffer: { device: iio:device0 }\n      - enable_buffer: { device: dum }\n`;
    expectOk(custom);
    const text = `devices:\n  - { kind: dummy, name: dum }\n${P}      - enable_buffer: { device: iio:device1 }\n      - enable_buffer: { device: sim-adc }\n`;
    const errors = errorsOf(loadScenario(text, 't.yaml'));
    expect(errors.map((e) => [e.line, e.col, e.message])).toEqual([
      [
        at(text, 'iio:device1').line,
        at(text, 'iio:device1').col,
        expect.stringMatching(/unknown device 'iio:device1'/),
      ],
      [at(text, 'sim-adc').line, at(text, 'sim-adc').col, expect.stringMatching(/unknown device 'sim-adc'/)],
    ]);
  });

  it('ioctl names are checked against the profile; numbers are always accepted', () => {
    expectOk(
      `abi: v2\n${P}      - buffer_fd: { device: sim-adc, as: b }\n      - ioctl: { fd: b, request: IIO_BUFFER_DMABUF_ALLOC_IOCTL, arg: { struct: iio_dmabuf_alloc_req, value: { size: 4096 } }, as: d }\n      - ioctl: { fd: d, request: DMA_BUF_IOCTL_SYNC, arg: { struct: dma_buf_sync, value: { flags: DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ } } }\n`,
    );
    expectOk(
      `${P}      - buffer_fd: { device: sim-adc, as: b }\n      - ioctl: { fd: b, request: 0x40106992, arg: null }\n        expect: any\n`,
    );
    expectOneError(
      `${P}      - buffer_fd: { device: sim-adc, as: b }\n      - ioctl: { fd: b, request: IIO_BUFFER_DMABUF_ALLOC_IOCTL }\n`,
      'IIO_BUFFER_DMABUF_ALLOC_IOCTL',
      /^processes\.0\.steps\.1\.ioctl\.request: unknown ioctl 'IIO_BUFFER_DMABUF_ALLOC_IOCTL' in the mainline profile/,
    );
  });

  it('a name defined in one process is unknown in another', () => {
    const text =
      'processes:\n  - name: a\n    steps:\n      - open: { path: /dev/null, as: n }\n  - name: b\n    steps:\n      - close: n\n';
    expectOneError(text, 'n\n', /^processes\.1\.steps\.0\.close: unknown name 'n'/);
  });
});

describe('exact errors', () => {
  it('an error names the file, line, column and message, and formatError joins them', () => {
    const r = loadScenario(`seed: -1\n${P}      - sleep: 1ms\n`, 'dir/my.yaml');
    expect(errorsOf(r)).toEqual([
      { file: 'dir/my.yaml', line: 1, col: 7, message: 'seed: Too small: expected number to be >=0' },
    ]);
    expect(formatError(errorsOf(r)[0]!)).toBe('dir/my.yaml:1:7: seed: Too small: expected number to be >=0');
  });

  it('an undefined fd name in an int argument and a struct value; an unknown flag in revents', () => {
    const open = '      - open: { path: /dev/null, as: n }\n';
    expectOneError(
      `${P}${open}      - ioctl: { fd: n, request: 1, arg: { int: nofd } }\n`,
      'nofd',
      /ioctl\.arg\.int: unknown name 'nofd'/,
    );
    expectOneError(
      `${P}${open}      - ioctl: { fd: n, request: 1, arg: { struct: iio_dmabuf, value: { fd: nofd } } }\n`,
      'nofd',
      /ioctl\.arg\.value\.fd: unknown name 'nofd'/,
    );
    expectOneError(
      `${P}${open}      - poll: { fds: [{ fd: n, events: POLLIN }] }\n        expect: { revents: { n: POLLFOO } }\n`,
      'POLLFOO',
      /unknown flag 'POLLFOO'/,
    );
  });

  it('an undefined fd name as a revents key is located at the key', () => {
    expectOneError(
      `${P}      - open: { path: /dev/null, as: n }\n      - poll: { fds: [{ fd: n, events: POLLIN }] }\n        expect: { revents: { m: POLLIN } }\n`,
      'm: POLLIN',
      /expect\.revents\.m: unknown name 'm'/,
    );
  });

  it('step expectations: not a mapping, ret, minNs, label', () => {
    const sleep = '      - sleep: 1ms\n';
    expectOneError(`${P}${sleep}        expect: 5\n`, '5', /expected 'any' or a mapping/);
    expectOneError(`${P}${sleep}        expect: { ret: x }\n`, 'x }', /ret: expected an integer or 'fd'/);
    expectOneError(`${P}${sleep}        expect: { minNs: soon }\n`, 'soon', /minNs: expected a duration/);
    expectOneError(
      `${P}${sleep}        expect: { maxNs: 99999999999999999999s }\n`,
      '99999999999999999999s',
      /maxNs: expected a duration/,
    );
    expectOneError(`${P}${sleep}        label: 5\n`, '5', /label: expected a string/);
  });

  it('expect.data is validated like the rest: unknown keys, bad hex, byte range, samples fields', () => {
    const check = '      - heap_alloc: { size: 64, as: h }\n      - check: { in: h }\n';
    expectOneError(`${P}${check}        expect: { data: { bogus: 1 } }\n`, 'bogus', /unknown key 'bogus'/);
    expectOneError(`${P}${check}        expect: { data: { hex: "zz" } }\n`, '"zz"', /hex|pattern|invalid/i);
    expectOneError(`${P}${check}        expect: { data: { fill: 300 } }\n`, '300', /<=\s*255|too big/i);
    expectOneError(
      `${P}${check}        expect: { data: { samples: { device: sim-adc, channel: [in_voltage0] } } }\n`,
      'channel:',
      /unknown key 'channel'|channels/,
    );
  });

  it('an unknown flag name as an fcntl argument is refused', () => {
    expectOneError(
      `${P}      - open: { path: /dev/null, as: n }\n      - fcntl: { fd: n, cmd: F_SETFL, arg: O_BOGUS }\n`,
      'O_BOGUS',
      /O_BOGUS/,
    );
  });

  it('a lateIrq delay too large to represent is refused', () => {
    expectOneError(
      `faults:\n  - at: 1ms\n    lateIrq: { device: sim-adc, by: 99999999999999999999s }\n${P}      - sleep: 1ms\n`,
      '99999999999999999999s',
      /duration|too (big|large)|range/i,
    );
  });

  it('a malformed ioctl argument says which forms are accepted', () => {
    expectOneError(
      `${P}      - open: { path: /dev/null, as: n }\n      - ioctl: { fd: n, request: 1, arg: { foo: 1 } }\n`,
      '{ foo',
      /int|struct|string|unmapped/,
    );
  });

  it('errors of different processes are all reported, each once', () => {
    const text =
      'processes:\n  - name: a\n    steps:\n      - close: x1\n      - close: x2\n  - name: b\n    steps:\n      - close: x3\n';
    const errors = errorsOf(loadScenario(text, 't.yaml'));
    expect(errors.map((e) => `${e.line}:${e.col}`).sort()).toEqual(
      ['x1', 'x2', 'x3'].map((n) => `${at(text, n).line}:${at(text, n).col}`).sort(),
    );
  });

  it.each(['toString', 'hasOwnProperty', 'valueOf'])(
    'a step key named like an Object method (%s) is an unknown action, not a crash',
    (key) => {
      expectOneError(
        `${P}      - ${key}: 1\n`,
        key,
        new RegExp(`unknown action '${key}'; actions: open, close`),
      );
    },
  );

  it.each(['constructor', 'toString'])(
    'an ioctl struct named like an Object property (%s) is an unknown struct, not a crash',
    (name) => {
      const open = `${P}      - open: { path: /dev/null, as: n }\n`;
      expectOneError(
        `${open}      - ioctl: { fd: n, request: 1, arg: { struct: ${name}, value: { a: 1 } } }\n`,
        `${name}, value`,
        new RegExp(`unknown struct '${name}'; known: `),
      );
    },
  );

  it('an ADC channel whose code is wider than a signal can carry is located at that channel', () => {
    const text =
      'devices:\n  - { kind: adc, name: a, sampleRateHz: 1000, channels: [{ id: voltage0, type: "le:s64/64>>0" }] }\n' +
      `${P}      - sleep: 1ms\n`;
    expectOneError(
      text,
      '"le:s64/64>>0"',
      /^devices\.0\.channels\.0\.type: cannot generate this channel's samples: realbits must be an integer in 1\.\.53, got 64$/,
    );
  });

  it('a text longer than MAX_SCENARIO_BYTES is refused before parsing', () => {
    expect(MAX_SCENARIO_BYTES).toBe(1 << 20);
    const body = `${P}      - sleep: 1ms\n`;
    const fits = `${body}#${'x'.repeat(MAX_SCENARIO_BYTES - body.length - 2)}\n`;
    expect(fits.length).toBe(MAX_SCENARIO_BYTES);
    expectOk(fits);
    const errors = errorsOf(loadScenario(`${fits}#`, 'big.yaml'));
    expect(errors).toEqual([
      { file: 'big.yaml', line: 1, col: 1, message: `file is larger than ${MAX_SCENARIO_BYTES} bytes` },
    ]);
  });
});

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [1234, 1234],
    ['250ns', 250],
    ['10us', 10_000],
    ['10µs', 10_000],
    ['1.5ms', 1_500_000],
    ['2s', 2_000_000_000],
    ['0.000001s', 1_000],
  ] as const)('%s is %d ns', (d, ns) => {
    expect(parseDuration(d)).toBe(ns);
  });

  it.each(['', '10', 'ms', '1 ms', '-1ms', '10min', '1e3ns', '99999999999999999999s'])(
    "'%s' is not a duration",
    (d) => {
      expect(parseDuration(d)).toBeNull();
    },
  );
});

describe('robustness: never throws, every error is one line inside the file', () => {
  const check = (text: string) => {
    let r: LoadResult;
    try {
      r = loadScenario(text, 'f.yaml');
    } catch (e) {
      throw new Error(`loadScenario threw on ${JSON.stringify(text.slice(0, 200))}: ${String(e)}`);
    }
    if (r.ok) return;
    expect(r.errors.length).toBeGreaterThan(0);
    const lines = text.split('\n').length;
    for (const e of r.errors) {
      expect(e.file).toBe('f.yaml');
      expect(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines, formatError(e)).toBe(true);
      expect(Number.isInteger(e.col) && e.col >= 1, formatError(e)).toBe(true);
      expect(e.message.length).toBeGreaterThan(0);
      expect(e.message).not.toMatch(/[\r\n]/);
    }
  };

  it('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => check(s)),
      { numRuns: 300 },
    );
  });

  it('lessons with random edits (YAML punctuation inserted, ranges deleted)', () => {
    const texts = lessons.map(lessonText);
    const punct = fc.constantFrom(
      ':',
      '-',
      '[',
      ']',
      '{',
      '}',
      '&a',
      '*a',
      '!',
      '|',
      '>',
      "'",
      '"',
      '%',
      '@',
      '`',
      '#',
      ',',
      '\t',
      '\n',
      ' ',
      '$x',
      '<<',
    );
    fc.assert(
      fc.property(
        fc.nat(texts.length - 1),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(20), punct), {
          minLength: 1,
          maxLength: 5,
        }),
        (k, edits) => {
          let t = texts[k]!;
          for (const [where, del, ins] of edits) {
            const i = Math.floor(where * t.length);
            t = t.slice(0, i) + ins + t.slice(i + del);
          }
          check(t);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary JSON values, and scenario-shaped objects with wrong leaves', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => check(JSON.stringify(v))),
      { numRuns: 200 },
    );
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 1 }),
      fc.constantFrom('__proto__', 'constructor', '$b', 'sim-adc'),
    );
    fc.assert(
      fc.property(
        leaf,
        leaf,
        leaf,
        fc.constantFrom('open', 'read', 'ioctl', 'poll', 'loop', 'foreach', 'enqueue', 'bogus'),
        (a, b, c, action) =>
          check(
            JSON.stringify({
              seed: a,
              processes: [{ name: 'p', steps: [{ [action]: { fd: b, len: c, steps: [b], in: a, var: c } }] }],
              expect: { processes: { p: b } },
            }),
          ),
      ),
      { numRuns: 300 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
