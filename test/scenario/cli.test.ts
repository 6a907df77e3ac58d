/**
 * The `iio-sim` CLI (src/cli.ts) on scenario files written to a temporary directory: every kind of bad
 * input gives one located line per problem on stderr (`file:line:col: message`) and exit status 2, never
 * a stack trace; `validate`, `list`, `schema`; `run` exit statuses, failure lines and byte-identical output.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main, SCENARIO_DIR } from '../../src/cli.ts';
import { scenarioJsonSchema } from '../../src/scenario/schema.ts';

interface CliResult {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

async function cli(args: readonly string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

let dir = '';
let fileNo = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iio-sim-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `content` to a new file in the temp dir and returns its path. */
function scenarioFile(content: string | Uint8Array, ext = 'yaml'): string {
  fileNo += 1;
  const file = join(dir, `s${fileNo}.${ext}`);
  writeFileSync(file, content);
  return file;
}

/** 1-based line and column of the `n`-th occurrence of `needle` in `text`. */
function at(text: string, needle: string, n = 1): [number, number] {
  let i = -1;
  for (let k = 0; k < n; k++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`test bug: '${needle}' (#${n}) is not in the text`);
  }
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  return [line, i - before.lastIndexOf('\n')];
}

/** `s` as a literal inside a RegExp. */
function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lines that betray a JavaScript exception escaping to the user. */
function assertNoStackTrace(lines: readonly string[]): void {
  for (const l of lines) {
    expect(l, 'stack frame').not.toMatch(/^\s+at /m);
    expect(l, 'JS error prefix').not.toMatch(/^(\w*Error|Uncaught|node:internal)/m);
  }
}

const P = 'processes:\n  - name: p\n    steps:\n';
const SLEEP = '      - sleep: 1ms\n';
const OPEN_N = '      - open: { path: /dev/null, as: n }\n';

/** An expected error: the position (a column list accepts any of them) and what the message must say. */
interface Want {
  readonly at: readonly [number, number | readonly number[] | null];
  readonly msg: RegExp;
}
interface BadCase {
  readonly kind: string;
  readonly text: string | Uint8Array;
  readonly want: readonly Want[];
}

function w(pos: readonly [number, number | readonly number[] | null], msg: RegExp): Want {
  return { at: pos, msg };
}

/** Builds a case whose single error sits at the `n`-th `needle` of `text`. */
function one(kind: string, text: string, needle: string, msg: RegExp, n = 1): BadCase {
  return { kind, text, want: [w(at(text, needle, n), msg)] };
}

const bomb = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
  'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
].join('\n');

/** Deterministic pseudo-random bytes (xorshift32), with NULs sprinkled in. */
function garbage(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // NULs at every 7th byte from index 3; no other control byte, so the first offending byte is at index 3.
    out[i] = i % 7 === 3 ? 0 : (x & 0xff) < 0x20 ? 0x20 + (x & 0x1f) : x & 0xff;
  }
  return out;
}

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49]);

const BAD: BadCase[] = [
  // --- YAML and JSON syntax ---
  (() => {
    const text = 'seed: 1\nprocesses: [{ name: p, steps: [{ sleep: 1ms }] }\n';
    return { kind: 'unclosed flow sequence', text, want: [w([3, 1], /^YAML: .*\]/)] };
  })(),
  (() => {
    const text = `${P}      - open: { path: /dev/null, as: n\n${SLEEP}`;
    return { kind: 'unclosed flow mapping in a step', text, want: [w([5, 7], /^YAML: .*\}/)] };
  })(),
  (() => {
    const text = 'processes:\n  - name: p\n   steps:\n      - sleep: 1ms\n';
    return { kind: 'bad indentation: key indented less', text, want: [w([3, [1, 4]], /^YAML: /)] };
  })(),
  (() => {
    const text = 'processes:\n  - name: p\n     steps:\n      - sleep: 1ms\n';
    return { kind: 'bad indentation: key indented more', text, want: [w([3, [1, 6]], /^YAML: /)] };
  })(),
  (() => {
    const text = `${P}${SLEEP}     - sleep: 2ms\n`;
    return { kind: 'bad indentation: list item indented less', text, want: [w([5, [1, 6]], /^YAML: /)] };
  })(),
  one('duplicate top-level key', `seed: 1\nseed: 2\n${P}${SLEEP}`, 'seed', /unique|duplicate/i, 2),
  one(
    'duplicate key in a flow mapping',
    `${P}      - open: { path: /dev/null, path: /dev/zero }\n`,
    'path',
    /unique|duplicate/i,
    2,
  ),
  { kind: 'tab indentation', text: 'processes:\n\t- name: p\n', want: [w([2, 1], /tab/i)] },
  {
    kind: 'tab indentation inside the steps',
    text: 'processes:\n  - name: p\n    steps:\n\t- sleep: 1ms\n',
    want: [w([4, 1], /tab/i)],
  },
  (() => {
    const text = '{\n  "seed": 1,\n  "processes": [\n    { "name": "p" "steps": [] }\n  ]\n}\n';
    return {
      kind: 'JSON syntax error (missing comma)',
      text,
      want: [w(at(text, '"steps"'), /^YAML: |JSON/)],
    };
  })(),
  {
    kind: 'a collection as a mapping key',
    text: `? [${'a'.repeat(30)}, ${'b'.repeat(30)}, ${'c'.repeat(30)}]\n: x\n${P}${SLEEP}`,
    want: [w([1, [1, 3]], /key/)],
  },
  {
    kind: 'a quoted key with a newline escape',
    text: `"proc\\nesses": []\n${P}${SLEEP}`,
    want: [w([1, 1], /unknown key/)],
  },
  one('undefined alias', `seed: *x\n${P}${SLEEP}`, '*x', /alias/i),
  one('two YAML documents', `${P}${SLEEP}---\ntitle: x\n`, '---', /document/),
  { kind: 'YAML alias bomb (billion laughs)', text: `${bomb}\n${P}${SLEEP}`, want: [w([1, 1], /alias/i)] },
  // --- file-level problems ---
  { kind: 'empty file', text: '', want: [w([1, 1], /empty/)] },
  { kind: 'whitespace-only file', text: '  \n\n\t \n', want: [w([1, 1], /empty/)] },
  { kind: 'comment-only file', text: '# nothing here\n', want: [w([1, 1], /mapping|processes/)] },
  { kind: 'binary: a PNG header', text: PNG, want: [w([2, 1], /binary/)] },
  {
    kind: 'binary: NUL bytes in a text file',
    text: 'processes:\n  - name: p\u0000\u0001\u0002\n',
    want: [w([2, 12], /binary/)],
  },
  { kind: 'binary: random bytes with NULs', text: garbage(4096, 42), want: [w([1, 4], /binary/)] },
  { kind: 'a top-level list', text: `- name: p\n  steps:\n${SLEEP}`, want: [w([1, 1], /mapping/)] },
  { kind: 'a top-level scalar', text: 'hello\n', want: [w([1, 1], /mapping/)] },
  {
    kind: 'file larger than 1 MiB',
    text: `title: ${'x'.repeat(1 << 20)}\n${P}${SLEEP}`,
    want: [w([1, 1], /larger than/)],
  },
  {
    kind: 'nesting deeper than the parser can take',
    text: `title: ${'['.repeat(1000)}${']'.repeat(1000)}\n${P}${SLEEP}`,
    want: [w([1, null], /./)],
  },
  // --- types and ranges ---
  one('wrong type: seed: "x"', `seed: "x"\n${P}${SLEEP}`, '"x"', /expected number/),
  one('wrong type: steps is a mapping', 'processes:\n  - name: p\n    steps: { sleep: 1ms }\n', '{', /array/),
  one('negative seed', `seed: -1\n${P}${SLEEP}`, '-1', />=\s*0|too small|nonnegative/i),
  one('seed above 2^32-1', `seed: 4294967296\n${P}${SLEEP}`, '4294967296', /<=\s*4294967295|too big/i),
  one('unknown ABI profile', `abi: v3\n${P}${SLEEP}`, 'v3', /mainline.*v2/),
  one('empty processes list', 'processes: []\n', '[]', />=\s*1|too small/i),
  one('missing processes', 'title: hello\n', 'title', /processes/),
  one(
    'process name too long',
    'processes:\n  - name: a-very-long-process-name\n    steps:\n      - sleep: 1ms\n',
    'a-very-long',
    /1 to 15/,
  ),
  {
    kind: 'duplicate process names',
    text: 'processes:\n  - name: p\n    steps: [{ sleep: 1ms }]\n  - name: p\n    steps: [{ sleep: 1ms }]\n',
    want: [w([4, 11], /process name 'p' is used twice/)],
  },
  one(
    'negative count in expect.liveObjects',
    `${P}${SLEEP}expect:\n  liveObjects: { file: -1 }\n`,
    '-1',
    />=\s*0|too small/i,
  ),
  // --- unknown keys ---
  one(
    'unknown top-level key (typo)',
    `title: t\nproceses: []\n${P}${SLEEP}`,
    'proceses',
    /unknown key 'proceses'/,
  ),
  one(
    'unknown key inside an action',
    `${P}      - open: { path: /dev/null, as: n, mode: 3 }\n`,
    'mode',
    /unknown key 'mode'/,
  ),
  one(
    "unknown key in a step's expect",
    `${P}${SLEEP}        expect: { rett: 0 }\n`,
    'rett',
    /unknown key 'rett'/,
  ),
  one(
    'unknown key in a device',
    `devices:\n  - { kind: dummy, name: d, rate: 5 }\n${P}${SLEEP}`,
    'rate',
    /unknown key 'rate'/,
  ),
  (() => {
    const text =
      '{\n  "processes": [\n    { "name": "p", "steps": [ { "sleep": "1ms" } ], "bogus": 1 }\n  ]\n}\n';
    return {
      kind: 'JSON scenario with an unknown key',
      text,
      want: [w(at(text, '"bogus"'), /unknown key 'bogus'/)],
    };
  })(),
  one(
    '__proto__ key at the top',
    `__proto__: { polluted: 1 }\n${P}${SLEEP}`,
    '__proto__',
    /'__proto__' is not allowed/,
  ),
  one(
    '__proto__ key inside an action',
    `${P}      - open: { path: /dev/null, __proto__: { flags: 1 } }\n`,
    '__proto__',
    /'__proto__' is not allowed/,
  ),
  one(
    'constructor key inside an action',
    `${P}      - open: { path: /dev/null, constructor: 1 }\n`,
    'constructor',
    /'constructor' is not allowed/,
  ),
  // --- steps ---
  one('a step with no action', `${P}      - label: nothing\n`, 'label', /no action/),
  one(
    'a step with two actions',
    `${P}      - sleep: 1ms\n        compute: 1ms\n`,
    'sleep',
    /several actions \(sleep, compute\)/,
  ),
  one('an unknown action', `${P}      - frobnicate: 1\n`, 'frobnicate', /unknown action 'frobnicate'/),
  one('a step that is not a mapping', `${P}      - 42\n`, '42', /a step is a mapping/),
  one(
    'an fd name used before its definition',
    `${P}      - read: { fd: buf, len: 8 }\n      - open: { path: /dev/null, as: buf }\n`,
    'buf',
    /unknown name 'buf'/,
  ),
  one(
    'an unknown fd name inside a loop',
    `${P}      - loop:\n          count: 2\n          steps:\n            - close: nofd\n`,
    'nofd',
    /unknown name 'nofd'/,
  ),
  one('$var outside a foreach', `${P}      - close: $b\n`, '$b', /'\$b' is not a foreach variable/),
  one(
    'a $var of no enclosing foreach',
    `${P}      - foreach: { var: b, in: [x], steps: [ { close: $c } ] }\n`,
    '$c',
    /'\$c' is not a foreach variable/,
  ),
  one('an unknown mapping name in munmap', `${P}      - munmap: { map: m }\n`, 'm }', /unknown name 'm'/),
  // --- devices, processes, ioctls, structs, flags, errnos, signals ---
  one(
    'unknown device in enable_channels',
    `${P}      - enable_channels: { device: sim-adcx, channels: [in_voltage0] }\n`,
    'sim-adcx',
    /unknown device 'sim-adcx'/,
  ),
  one(
    'unknown device in a dmaError fault',
    `faults:\n  - at: 1ms\n    dmaError: { device: nope }\n${P}${SLEEP}`,
    'nope',
    /unknown device 'nope'/,
  ),
  one(
    'unknown device in a lateIrq fault',
    `faults:\n  - at: 1ms\n    lateIrq: { device: nope, by: 1us }\n${P}${SLEEP}`,
    'nope',
    /unknown device 'nope'/,
  ),
  one(
    'unknown device in a removeDevice fault',
    `faults:\n  - at: 1ms\n    removeDevice: { device: nope }\n${P}${SLEEP}`,
    'nope',
    /unknown device 'nope'/,
  ),
  one(
    'unknown device in a samples check',
    `${P}${OPEN_N}      - read: { fd: n, len: 8 }\n        expect: { data: { samples: { device: ghost, channels: [a] } } }\n`,
    'ghost',
    /unknown device 'ghost'/,
  ),
  one(
    'unknown device in expect.lost',
    `${P}${SLEEP}expect:\n  lost: { ghost: 0 }\n`,
    'ghost',
    /unknown device 'ghost'/,
  ),
  one(
    'unknown site in a kernelFault',
    `faults:\n  - at: 1ms\n    kernelFault: { site: kmalloc }\n${P}${SLEEP}`,
    'at',
    /kernelFault: \{site, nth\?, times\?, errno\?\}/,
  ),
  one(
    'unknown errno in a kernelFault',
    `faults:\n  - at: 1ms\n    kernelFault: { site: dma_buf_attach, errno: ENOPE }\n${P}${SLEEP}`,
    'ENOPE',
    /unknown errno 'ENOPE'/,
  ),
  one(
    'an errno other than ENOMEM on a kernelFault allocation site',
    `faults:\n  - at: 1ms\n    kernelFault: { site: iio_dma_fence_alloc, errno: EIO }\n${P}${SLEEP}`,
    'EIO',
    /iio_dma_fence_alloc is an allocation: it fails with ENOMEM only/,
  ),
  one(
    'a kernelFault nth of 0',
    `faults:\n  - at: 1ms\n    kernelFault: { site: dma_buf_attach, nth: 0 }\n${P}${SLEEP}`,
    '0 }',
    /nth/,
  ),
  one(
    'unknown kind of fault',
    `faults:\n  - at: 1ms\n    explode: { device: sim-adc }\n${P}${SLEEP}`,
    'at',
    /dmaError|lateIrq|removeDevice|explode/,
  ),
  one(
    'unknown process in a kill step',
    `${P}      - kill: { process: ghost }\n`,
    'ghost',
    /unknown process 'ghost'/,
  ),
  one(
    'unknown process in a kill fault',
    `faults:\n  - at: 1ms\n    kill: { process: ghost }\n${P}${SLEEP}`,
    'ghost',
    /unknown process 'ghost'/,
  ),
  one(
    'unknown process in expect.processes',
    `${P}${SLEEP}expect:\n  processes: { ghost: exited }\n`,
    'ghost',
    /unknown process 'ghost'/,
  ),
  one(
    'unknown process in expect.blockedReason',
    `${P}${SLEEP}expect:\n  blockedReason: { ghost: poll }\n`,
    'ghost',
    /unknown process 'ghost'/,
  ),
  one(
    'ioctl name of the other profile (v2 ALLOC in mainline)',
    `${P}${OPEN_N}      - ioctl: { fd: n, request: IIO_BUFFER_DMABUF_ALLOC_IOCTL }\n`,
    'IIO_BUFFER_DMABUF_ALLOC_IOCTL',
    /unknown ioctl 'IIO_BUFFER_DMABUF_ALLOC_IOCTL' in the mainline profile/,
  ),
  one(
    'ioctl name of the other profile (mainline ATTACH in v2)',
    `abi: v2\n${P}${OPEN_N}      - ioctl: { fd: n, request: IIO_BUFFER_DMABUF_ATTACH_IOCTL }\n`,
    'IIO_BUFFER_DMABUF_ATTACH_IOCTL',
    /unknown ioctl 'IIO_BUFFER_DMABUF_ATTACH_IOCTL' in the v2 profile/,
  ),
  one(
    'unknown struct',
    `${P}${OPEN_N}      - ioctl: { fd: n, request: 1, arg: { struct: iio_foo } }\n`,
    'iio_foo',
    /unknown struct 'iio_foo'/,
  ),
  one(
    'unknown struct field',
    `${P}${OPEN_N}      - ioctl: { fd: n, request: 1, arg: { struct: iio_dmabuf, value: { fdd: 3 } } }\n`,
    'fdd',
    /struct iio_dmabuf has no field 'fdd'/,
  ),
  one(
    'unknown struct field in out',
    `${P}${OPEN_N}      - ioctl: { fd: n, request: 1, arg: { struct: iio_dmabuf, out: { fdd: x } } }\n`,
    'fdd',
    /struct iio_dmabuf has no field 'fdd'/,
  ),
  one(
    'unknown flag name in open',
    `${P}      - open: { path: /dev/null, flags: O_RDWR|O_BOGUS, as: n }\n`,
    'O_RDWR|O_BOGUS',
    /unknown flag 'O_BOGUS'/,
  ),
  one(
    'unknown flag name in poll events',
    `${P}${OPEN_N}      - poll: { fds: [{ fd: n, events: POLLFOO }] }\n`,
    'POLLFOO',
    /unknown flag 'POLLFOO'/,
  ),
  one(
    'unknown lseek whence name',
    `${P}${OPEN_N}      - lseek: { fd: n, offset: 0, whence: SEEK_BOGUS }\n`,
    'SEEK_BOGUS',
    /SEEK_BOGUS/,
  ),
  one(
    'unknown fcntl command name',
    `${P}${OPEN_N}      - fcntl: { fd: n, cmd: F_BOGUS }\n`,
    'F_BOGUS',
    /F_BOGUS/,
  ),
  one(
    'unknown errno name in expect',
    `${P}${SLEEP}        expect: { errno: EFOO }\n`,
    'EFOO',
    /unknown errno 'EFOO'/,
  ),
  one(
    'unknown signal name',
    `${P}      - sigaction: { signal: SIGFOO }\n`,
    'SIGFOO',
    /unknown signal 'SIGFOO'/,
  ),
  one(
    'invalid hex bytes in write data',
    `${P}${OPEN_N}      - write: { fd: n, data: { hex: zz } }\n`,
    'zz',
    /hex/,
  ),
  // --- durations ---
  one('bad duration string', `${P}      - sleep: 1 minute\n`, '1 minute', /duration|ns\|us/),
  one('bad duration unit', `until: 10min\n${P}${SLEEP}`, '10min', /duration|ns\|us/),
  one(
    'duration too large to represent',
    `until: 99999999999999999999s\n${P}${SLEEP}`,
    '99999999999999999999s',
    /duration|too (big|large)|range/i,
  ),
  one(
    'startAt too large to represent',
    'processes:\n  - name: p\n    startAt: 99999999999999999999s\n    steps:\n      - sleep: 1ms\n',
    '99999999999999999999s',
    /duration|too (big|large)|range/i,
  ),
  // --- impossible device parameters ---
  one(
    'DMA bandwidth below the data rate',
    'devices:\n  - { kind: dummy, name: dum }\n  - kind: adc\n    name: fast\n    sampleRateHz: 1000000\n' +
      '    channels: [{ id: voltage0, type: "le:s16/16>>0" }]\n    dma: { bytesPerSecond: 1000 }\n' +
      `${P}${SLEEP}`,
    '1000 }',
    /bandwidth/,
  ),
  one(
    'loopbackFrom a device that is not a DAC',
    'devices:\n  - { kind: dummy, name: dum }\n  - kind: adc\n    name: a\n    sampleRateHz: 1000\n' +
      '    loopbackFrom: dum\n    channels: [{ id: voltage0, type: "le:s16/16>>0" }]\n' +
      `${P}${SLEEP}`,
    'dum\n',
    /not a DAC/,
  ),
  one(
    'duplicate device names',
    `devices:\n  - { kind: dummy, name: dum }\n  - { kind: dummy, name: dum }\n${P}${SLEEP}`,
    'dum }',
    /'dum' is used twice/,
    2,
  ),
  one(
    'malformed scan type string',
    `devices:\n  - { kind: adc, name: a, sampleRateHz: 1000, channels: [{ id: voltage0, type: "le:s16-16" }] }\n${P}${SLEEP}`,
    '"le:s16-16"',
    /scan type/,
  ),
  one(
    'scan type with impossible storage bits',
    'devices:\n  - { kind: dummy, name: dum }\n' +
      `  - { kind: adc, name: a, sampleRateHz: 1000, channels: [{ id: voltage0, type: "le:s12/24>>0" }] }\n${P}${SLEEP}`,
    '"le:s12/24>>0"',
    /storagebits/,
  ),
  // --- huge sizes ---
  one(
    'read len 2^40',
    `${P}${OPEN_N}      - read: { fd: n, len: 1099511627776 }\n`,
    '1099511627776',
    /<=|too big/i,
  ),
  one(
    'heap_alloc size above 1 GiB',
    `${P}      - heap_alloc: { size: 2147483648, as: h }\n`,
    '2147483648',
    /<=|too big/i,
  ),
  one(
    'iio_alloc size 2^40',
    `abi: v2\n${P}      - buffer_fd: { device: sim-adc, as: b }\n      - iio_alloc: { buffer: b, size: 1099511627776, as: h }\n`,
    '1099511627776',
    /<=|too big/i,
  ),
  one(
    'mmap length 2^40',
    `${P}${OPEN_N}      - mmap: { fd: n, length: 1099511627776 }\n`,
    '1099511627776',
    /<=|too big/i,
  ),
  one(
    'loop count of a billion',
    `${P}      - loop: { count: 1000000000, steps: [{ sleep: 1ms }] }\n`,
    '1000000000',
    /<=|too big/i,
  ),
  // --- line endings ---
  one(
    'CRLF line endings',
    'seed: x\r\nprocesses:\r\n  - name: p\r\n    steps:\r\n      - sleep: 1ms\r\n',
    'x',
    /number/,
  ),
  // --- several problems: one line each ---
  (() => {
    const text = `seed: x\nabi: v3\n${P}${SLEEP}`;
    return {
      kind: 'two schema errors',
      text,
      want: [w(at(text, 'x'), /expected number/), w(at(text, 'v3'), /mainline/)],
    };
  })(),
  (() => {
    const text =
      'processes:\n  - name: a\n    steps:\n      - close: nofd\n' +
      '  - name: b\n    steps:\n      - kill: { process: ghost }\n        expect: { errno: EFOO }\n';
    return {
      kind: 'three semantic errors in two processes',
      text,
      want: [
        w(at(text, 'nofd'), /unknown name 'nofd'/),
        w(at(text, 'EFOO'), /unknown errno 'EFOO'/),
        w(at(text, 'ghost'), /unknown process 'ghost'/),
      ],
    };
  })(),
];

describe('bad scenario input: one located line per problem, exit 2, no stack trace', () => {
  it('covers at least twenty kinds of bad input', () => {
    expect(new Set(BAD.map((c) => c.kind)).size).toBe(BAD.length);
    expect(BAD.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of BAD) {
    it.each(['validate', 'run'])(`${c.kind} (%s)`, async (command) => {
      const file = scenarioFile(c.text);
      const r = await cli([command, file]);
      assertNoStackTrace([...r.err, ...r.out]);
      expect(r.out).toEqual([]);
      expect(r.code).toBe(2);
      for (const l of r.err) expect(l).not.toContain('\n');
      const re = new RegExp(`^${escapeRe(file)}:(\\d+):(\\d+): (.+)$`);
      const got = r.err.map((l) => {
        const m = re.exec(l);
        expect(m, `'${l}' is not file:line:col: message`).not.toBeNull();
        return { line: Number(m![1]), col: Number(m![2]), message: m![3]!, raw: l };
      });
      expect(got.map((g) => g.raw)).toHaveLength(c.want.length);
      // Compared in position order (the order of the lines is not part of the contract).
      got.sort((a, b) => a.line - b.line || a.col - b.col);
      const wants = [...c.want].sort((a, b) => a.at[0] - b.at[0] || Number(a.at[1]) - Number(b.at[1]));
      wants.forEach((want, i) => {
        const g = got[i]!;
        const [line, col] = want.at;
        const cols = typeof col === 'number' ? [col] : (col ?? [g.col]);
        expect({ line: g.line, colOk: cols.includes(g.col) }, g.raw).toEqual({ line, colOk: true });
        expect(g.message, g.raw).toMatch(want.msg);
      });
    });
  }

  it('a missing file is exit 2 with a located line', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    for (const command of ['validate', 'run']) {
      const r = await cli([command, file]);
      expect(r).toEqual({ code: 2, out: [], err: [`${file}:1:1: cannot read the file (no such file)`] });
    }
  });

  it('a directory instead of a file is exit 2 with a located line', async () => {
    const sub = join(dir, 'a-directory.yaml');
    mkdirSync(sub, { recursive: true });
    const r = await cli(['validate', sub]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^${escapeRe(sub)}:1:1: cannot read the file`));
  });

  it('the alias bomb is refused by its alias count, before anything is expanded', async () => {
    const file = scenarioFile(`${bomb}\n${P}${SLEEP}`);
    const r = await cli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([
      `${file}:1:1: YAML: Excessive alias count indicates a resource exhaustion attack`,
    ]);
  });

  it('a __proto__ key does not pollute Object.prototype', async () => {
    await cli(['validate', scenarioFile(`__proto__: { polluted: 1 }\n${P}${SLEEP}`)]);
    await cli(['validate', scenarioFile(`{ "__proto__": { "polluted": 1 }, "processes": [] }`, 'json')]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the bin exits 2 with the located line on stderr and no stack trace', () => {
    const file = scenarioFile(`seed: -1\n${P}${SLEEP}`);
    const r = spawnSync(process.execPath, [resolve('bin/iio-sim.js'), 'validate', file], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l !== '' && !/^npm warn/.test(l))).toEqual([
      `${file}:1:7: seed: Too small: expected number to be >=0`,
    ]);
  });

  it('the bin prints no Node warning for a collection used as a key: one located line only', () => {
    const file = scenarioFile(`? [a, b]\n: 1\n${P}${SLEEP}`);
    const r = spawnSync(process.execPath, [resolve('bin/iio-sim.js'), 'validate', file], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l !== '' && !/^npm warn/.test(l));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${escapeRe(file)}:1:[13]: `));
  });
});

describe('good input in other shapes', () => {
  it('a JSON scenario is accepted', async () => {
    const file = scenarioFile(
      JSON.stringify({ seed: 3, processes: [{ name: 'p', steps: [{ sleep: '1ms' }] }] }, null, 2),
      'json',
    );
    expect(await cli(['validate', file])).toEqual({ code: 0, out: [`${file}: ok`], err: [] });
  });

  it('a UTF-8 file with µs durations and a non-ASCII title is accepted and runs', async () => {
    const file = scenarioFile(
      Buffer.from('title: "Température"\nprocesses:\n  - name: p\n    steps:\n      - sleep: 10µs\n', 'utf8'),
    );
    expect(await cli(['validate', file])).toEqual({ code: 0, out: [`${file}: ok`], err: [] });
    const r = await cli(['run', file]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toContain(': Température (profile mainline, seed 1)');
  });

  it('a UTF-8 byte order mark is accepted', async () => {
    const file = scenarioFile(Buffer.from(`\ufeff${P}${SLEEP}`, 'utf8'));
    expect(await cli(['validate', file])).toEqual({ code: 0, out: [`${file}: ok`], err: [] });
  });
});

const lessons = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('validate, list, schema', () => {
  it('validate accepts every bundled lesson', async () => {
    const files = lessons.map((f) => join(SCENARIO_DIR, f));
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(await cli(['validate', ...files])).toEqual({
      code: 0,
      out: files.map((f) => `${f}: ok`),
      err: [],
    });
  });

  it('validate with good and bad files reports both and exits 2', async () => {
    const good = scenarioFile(`${P}${SLEEP}`);
    const bad = scenarioFile(`seed: x\n${P}${SLEEP}`);
    const r = await cli(['validate', good, bad]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([`${good}: ok`]);
    expect(r.err).toEqual([`${bad}:1:7: seed: Invalid input: expected number, received string`]);
  });

  it('list prints every lesson with its title, and nothing else', async () => {
    const r = await cli(['list']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out).toHaveLength(lessons.length);
    lessons.forEach((f, i) => {
      const title = (parse(readFileSync(join(SCENARIO_DIR, f), 'utf8')) as { title: string }).title;
      expect(title).toBeTruthy();
      expect(r.out[i]).toMatch(new RegExp(`^${f.replace(/\./g, '\\.')}\\s+`));
      expect(r.out[i]!.endsWith(` ${title}`), r.out[i]).toBe(true);
    });
    for (const l of r.out) expect(l).not.toContain('INVALID');
  });

  it('schema prints the committed scenarios/scenario.schema.json byte for byte', async () => {
    const r = await cli(['schema']);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    const committed = readFileSync(join(SCENARIO_DIR, 'scenario.schema.json'), 'utf8');
    expect(committed.endsWith('}\n')).toBe(true);
    expect(committed.endsWith('\n\n')).toBe(false);
    // The bin writes each line followed by '\n'.
    expect(`${r.out.join('\n')}\n`).toBe(committed);
    expect(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`).toBe(committed);
  });
});

describe('run', () => {
  const passing = `title: quick\nplatform: ideal\n${P}${SLEEP}        expect: { ret: 0, minNs: 1ms }\n`;

  it('exits 0 and prints PASS when every expectation holds', async () => {
    const file = scenarioFile(passing);
    expect(await cli(['run', '--quiet', file])).toEqual({ code: 0, out: [`${file}: PASS`], err: [] });
    const loud = await cli(['run', file]);
    expect(loud.code).toBe(0);
    expect(loud.out[0]).toBe(`# ${file.split('/').pop()}: quick (profile mainline, seed 1)`);
    expect(loud.out.at(-1)).toBe(`${file}: PASS`);
  });

  it('exits 1 and names the process, step, expected and got when an expectation fails', async () => {
    const file = scenarioFile(
      `platform: ideal\n${P}${SLEEP}      - sleep: 2ms\n        label: nap\n        expect: { ret: 1 }\n${SLEEP}`,
    );
    const r = await cli(['run', '--quiet', file]);
    expect(r).toEqual({
      code: 1,
      out: [`${file}: FAIL: process p, steps[1] sleep (nap): expected 1, got 0 (at 3.000 ms)`],
      err: [],
    });
  });

  it('a failure in a loop names the iteration; a run-level failure names what was expected', async () => {
    const file = scenarioFile(
      'platform: ideal\nprocesses:\n  - name: worker\n    steps:\n' +
        '      - loop: { count: 3, steps: [{ open: { path: /nope }, expect: { errno: ENOENT } }, { open: { path: /dev/null } , expect: { ret: 3 } }] }\n' +
        'expect:\n  processes: { worker: killed }\n',
    );
    const r = await cli(['run', '--quiet', file]);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([]);
    expect(r.out).toEqual([
      `${file}: FAIL: process worker, steps[0] loop#1.steps[1] open: expected 3, got 4 (at 0.000 ms)`,
      `${file}: FAIL: process worker, end of run: expected killed, got exited (returned) (at 0.000 ms)`,
    ]);
  });

  it('an unexpected negative return fails the step by default', async () => {
    const file = scenarioFile(`platform: ideal\n${P}      - open: { path: /dev/nope }\n`);
    const r = await cli(['run', '--quiet', file]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${file}: FAIL: process p, steps[0] open: expected success (>= 0), got -ENOENT (at 0.000 ms)`,
    ]);
  });

  it('exit status is the worst over the files: pass + fail = 1, fail + bad = 2', async () => {
    const ok = scenarioFile(passing);
    const failing = scenarioFile(`platform: ideal\n${P}${SLEEP}        expect: { ret: 1 }\n`);
    const bad = scenarioFile(`seed: x\n${P}${SLEEP}`);
    expect((await cli(['run', '--quiet', ok, failing])).code).toBe(1);
    const r = await cli(['run', '--quiet', failing, bad]);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([`${failing}: FAIL: process p, steps[0] sleep: expected 1, got 0 (at 1.000 ms)`]);
    expect(r.err).toEqual([`${bad}:1:7: seed: Invalid input: expected number, received string`]);
  });

  it('the same file and seed give byte-identical output (trace, fences, summary)', async () => {
    const file = scenarioFile(`
seed: 11
platform: { base: zcu102, wakeLatencyNs: 30000, wakeJitterNs: 20000 }
faults:
  - at: 3ms
    dmaError: { device: sim-adc }
processes:
  - name: dma
    steps:
      - enable_channels: { device: sim-adc, channels: [in_voltage0, in_voltage1] }
      - buffer_fd: { device: sim-adc, as: buf }
      - foreach: { var: b, in: [d0, d1], steps: [{ heap_alloc: { size: 4096, as: $b } }, { attach: { buffer: buf, dmabuf: $b } }] }
      - foreach: { var: b, in: [d0, d1], steps: [{ enqueue: { buffer: buf, dmabuf: $b, bytes_used: 4096 } }] }
      - enable_buffer: { device: sim-adc }
      - loop:
          count: 6
          steps:
            - foreach:
                var: b
                in: [d0, d1]
                steps:
                  - poll: { fds: [{ fd: $b, events: POLLIN }], timeout: 100 }
                    expect: { ret: 1 }
                  - enqueue: { buffer: buf, dmabuf: $b, bytes_used: 4096 }
      - enable_buffer: { device: sim-adc, on: false }
  - name: other
    steps:
      - loop: { count: 30, steps: [{ sleep: 200us }, { compute: 50us }] }
`);
    const a = await cli(['run', file]);
    const b = await cli(['run', file]);
    expect(a.code).toBe(0);
    expect(a.out.length).toBeGreaterThan(50);
    expect(b.out.join('\n')).toBe(a.out.join('\n'));
    expect(b.err).toEqual(a.err);
  });

  it('--perfetto to a path that cannot be written is exit 2 with a message, not an exception', async () => {
    const file = scenarioFile(passing);
    const out = join(dir, 'no-such-dir', 'trace.json');
    let r: CliResult | undefined;
    let thrown: unknown;
    try {
      r = await cli(['run', '--quiet', '--perfetto', out, file]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeUndefined();
    expect(r?.code).toBe(2);
    expect(r?.err.join('\n')).toContain(out);
    assertNoStackTrace(r?.err ?? []);
  });
});

describe('usage errors', () => {
  const usage = /^usage: iio-sim /m;

  it('an unknown command is exit 2 with a usage line', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err[0]).toBe("iio-sim: unknown command 'frobnicate'");
    expect(r.err.join('\n')).toMatch(usage);
  });

  it.each(['run', 'validate'])('%s without files is exit 2 with a usage line', async (command) => {
    const r = await cli([command]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('no scenario file given');
    expect(r.err.join('\n')).toMatch(usage);
  });

  it('no command at all is exit 2 with a usage line', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect([...r.err, ...r.out].join('\n')).toMatch(usage);
  });

  it('--help is exit 0 with the usage on stdout', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(usage);
  });

  it('an unknown option is exit 2 with a usage line', async () => {
    const r = await cli(['run', '--bogus', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^iio-sim: .*--bogus/);
    expect(r.err.join('\n')).toMatch(usage);
  });

  it('--log with an unknown format is exit 2', async () => {
    const r = await cli(['run', '--log', 'xml', scenarioFile(`${P}${SLEEP}`)]);
    expect(r).toEqual({ code: 2, out: [], err: ["iio-sim: --log takes json or pretty, not 'xml'"] });
  });
});
