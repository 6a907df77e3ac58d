/**
 * The test module real/module (sim_iio.ko) seen from the host, without a kernel:
 * - its pure part (sim_signal.c: signals, scan encoding and layout, sample clock, hash) is compiled for user
 *   space against a few stand-in headers and compared value for value with the simulator's own code;
 * - the default board string is the same in the module, in its README, and in an encoding of
 *   `defaultDevices()` by the README's rules.
 * The compiled comparisons are skipped when no C compiler is installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSample, readScans, type ScanLayout, type ScanType, writeScans } from '../../src/hw/scan.ts';
import { createSignal, type SignalSpec } from '../../src/hw/signal.ts';
import { scansBy, scanTime } from '../../src/hw/timing.ts';
import { REPO_ROOT } from '../../src/real/paths.ts';
import { type DeviceConfig, defaultDevices, parseScanType } from '../../src/sim/devices.ts';

const MODULE = join(REPO_ROOT, 'real', 'module');

/** Minimal stand-ins for the kernel headers sim_signal.c includes. */
const SHIM = `
#pragma once
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef int8_t s8; typedef int16_t s16; typedef int32_t s32; typedef int64_t s64;
#define NSEC_PER_SEC 1000000000ULL
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define clamp(v, lo, hi) ((v) < (lo) ? (lo) : (v) > (hi) ? (hi) : (v))
#define ALIGN(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
static inline u64 mul_u64_u64_div_u64(u64 a, u64 b, u64 d) { return (u64)((unsigned __int128)a * b / d); }
static inline s64 sign_extend64(u64 v, int idx) { int s = 63 - idx; return (s64)(v << s) >> s; }
static inline unsigned long roundup_pow_of_two(unsigned long n) { unsigned long p = 1; while (p < n) p <<= 1; return p; }
static inline bool test_bit(long nr, const unsigned long *a) { return (a[nr / 64] >> (nr % 64)) & 1; }
static inline void put_unaligned_le16(u16 v, u8 *p) { p[0] = v; p[1] = v >> 8; }
static inline void put_unaligned_be16(u16 v, u8 *p) { p[1] = v; p[0] = v >> 8; }
static inline void put_unaligned_le32(u32 v, u8 *p) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static inline void put_unaligned_be32(u32 v, u8 *p) { for (int i = 0; i < 4; i++) p[3 - i] = v >> (8 * i); }
static inline void put_unaligned_le64(u64 v, u8 *p) { for (int i = 0; i < 8; i++) p[i] = v >> (8 * i); }
static inline void put_unaligned_be64(u64 v, u8 *p) { for (int i = 0; i < 8; i++) p[7 - i] = v >> (8 * i); }
static inline u16 get_unaligned_le16(const u8 *p) { return p[0] | p[1] << 8; }
static inline u16 get_unaligned_be16(const u8 *p) { return p[1] | p[0] << 8; }
static inline u32 get_unaligned_le32(const u8 *p) { u32 v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static inline u32 get_unaligned_be32(const u8 *p) { u32 v = 0; for (int i = 0; i < 4; i++) v = v << 8 | p[i]; return v; }
static inline u64 get_unaligned_le64(const u8 *p) { u64 v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }
static inline u64 get_unaligned_be64(const u8 *p) { u64 v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }
`;

/**
 * Reads commands from stdin, one per line, and prints one result line each:
 *   S kind realbits signed a b c d repeat nvals v... ; n...   -> the samples
 *   E signed realbits storagebits shift raw                   -> the storage word
 *   D signed realbits storagebits shift be byte...            -> the decoded value
 *   T t0 rate k t                                             -> scan_time(k) scans_by(t)
 *   H seed n                                                  -> hash32
 *   F kind realbits signed a b c d repeat nvals v... signed2 storage shift rep be stride first count
 *                                                             -> sim_fill_field bytes
 *   L ts nch (signed real storage shift repeat be)... mask n v... -> layout bpd, offsets, then the scan bytes
 */
const HARNESS = `
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include "sim_signal.h"
static int rd(s64 *v) { return scanf("%" SCNd64, v) == 1; }
int main(void) {
  char cmd[4];
  while (scanf("%3s", cmd) == 1) {
    if (cmd[0] == 'S') {
      struct sim_signal sig = {0}; struct sim_scan_type st = {0}; s64 k, rb, sg, rep, nv, cnt;
      rd(&k); rd(&rb); rd(&sg); rd(&sig.a); rd(&sig.b); rd(&sig.c); rd(&sig.d); rd(&rep); rd(&nv);
      sig.kind = (enum sim_sig_kind)k; sig.repeat = rep; sig.nvalues = nv;
      sig.values = nv ? malloc(nv * sizeof(s64)) : NULL;
      for (s64 i = 0; i < nv; i++) rd(&sig.values[i]);
      st.realbits = rb; st.is_signed = sg; st.storagebits = 64; st.repeat = 1;
      sim_signal_bind(&sig, &st);
      rd(&cnt);
      for (s64 i = 0; i < cnt; i++) { s64 n; rd(&n); printf("%s%" PRId64, i ? " " : "", sim_signal_sample(&sig, (u64)n)); }
      printf("\\n"); free(sig.values);
    } else if (cmd[0] == 'E') {
      struct sim_scan_type st = {0}; s64 sg, rb, sb, sh, raw;
      rd(&sg); rd(&rb); rd(&sb); rd(&sh); rd(&raw);
      st.is_signed = sg; st.realbits = rb; st.storagebits = sb; st.shift = sh; st.repeat = 1;
      printf("%" PRIu64 "\\n", sim_encode(raw, &st));
    } else if (cmd[0] == 'D') {
      struct sim_scan_type st = {0}; s64 sg, rb, sb, sh, be, b; u8 bytes[8];
      rd(&sg); rd(&rb); rd(&sb); rd(&sh); rd(&be);
      for (int i = 0; i < sb / 8; i++) { rd(&b); bytes[i] = b; }
      st.is_signed = sg; st.realbits = rb; st.storagebits = sb; st.shift = sh; st.big_endian = be; st.repeat = 1;
      printf("%" PRId64 "\\n", sim_decode(bytes, &st));
    } else if (cmd[0] == 'T') {
      s64 t0, rate, k, t;
      rd(&t0); rd(&rate); rd(&k); rd(&t);
      printf("%" PRId64 " %" PRIu64 "\\n", sim_scan_time(t0, rate, k), sim_scans_by(t0, rate, t));
    } else if (cmd[0] == 'F') {
      struct sim_signal sig = {0}; struct sim_scan_type st = {0}; s64 k, rb, sg, rep, nv, v, stride, first, count;
      rd(&k); rd(&rb); rd(&sg); rd(&sig.a); rd(&sig.b); rd(&sig.c); rd(&sig.d); rd(&rep); rd(&nv);
      sig.kind = (enum sim_sig_kind)k; sig.repeat = rep; sig.nvalues = nv;
      sig.values = nv ? malloc(nv * sizeof(s64)) : NULL;
      for (s64 i = 0; i < nv; i++) rd(&sig.values[i]);
      st.realbits = rb;
      rd(&v); st.is_signed = v; rd(&v); st.storagebits = v; rd(&v); st.shift = v; rd(&v); st.repeat = v; rd(&v); st.big_endian = v;
      rd(&stride); rd(&first); rd(&count);
      sim_signal_bind(&sig, &st);
      u8 *out = calloc(stride * count, 1);
      sim_fill_field(out, stride, count, &sig, first, &st);
      for (s64 i = 0; i < stride * count; i++) printf("%s%u", i ? " " : "", out[i]);
      printf("\\n"); free(out); free(sig.values);
    } else if (cmd[0] == 'H') {
      s64 seed, n; rd(&seed); rd(&n);
      printf("%u\\n", sim_hash32(seed, n));
    } else if (cmd[0] == 'L') {
      static struct sim_chan_cfg ch[SIM_MAX_CHANNELS]; struct sim_layout l; unsigned long mask[1] = {0};
      s64 ts, nch, v, m; int tso; s64 vals[SIM_MAX_CHANNELS]; u8 out[4096];
      struct sim_scan_type tst = { .is_signed = true, .realbits = 64, .storagebits = 64, .repeat = 1 };
      rd(&ts); rd(&nch);
      for (int i = 0; i < nch; i++) {
        rd(&v); ch[i].st.is_signed = v; rd(&v); ch[i].st.realbits = v; rd(&v); ch[i].st.storagebits = v;
        rd(&v); ch[i].st.shift = v; rd(&v); ch[i].st.repeat = v; rd(&v); ch[i].st.big_endian = v;
      }
      rd(&m); mask[0] = (unsigned long)m;
      sim_layout_compute(&l, ch, nch, mask, ts, &tst, &tso);
      for (u32 j = 0; j < l.nfields; j++) { rd(&v); vals[j] = v; }
      sim_write_scan(out, &l, vals);
      printf("%u %d", l.bpd, tso);
      for (u32 j = 0; j < l.nfields; j++) printf(" %u:%u", l.f[j].chan, l.f[j].offset);
      printf(" |");
      for (u32 i = 0; i < l.bpd; i++) printf(" %u", out[i]);
      printf("\\n");
    }
  }
  return 0;
}
`;

const hasCc = spawnSync('cc', ['--version']).status === 0;
const scratch = mkdtempSync(join(tmpdir(), 'iio-sim-module-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let harness: string | null = null;
function build(): string {
  if (harness) return harness;
  const inc = join(scratch, 'include');
  mkdirSync(join(inc, 'linux'), { recursive: true });
  writeFileSync(join(inc, 'shim.h'), SHIM);
  for (const h of ['types', 'kernel', 'math64', 'bitops', 'log2', 'minmax', 'unaligned', 'string', 'time64'])
    writeFileSync(join(inc, 'linux', `${h}.h`), '#include "../shim.h"\n');
  writeFileSync(join(scratch, 'harness.c'), HARNESS);
  const out = join(scratch, 'harness');
  const r = spawnSync(
    'cc',
    [
      '-std=gnu11',
      '-O1',
      '-Wall',
      '-Werror',
      '-Wno-unused-function',
      `-I${inc}`,
      `-I${MODULE}`,
      '-o',
      out,
      join(scratch, 'harness.c'),
      join(MODULE, 'sim_signal.c'),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`compiling sim_signal.c failed:\n${r.stderr}`);
  harness = out;
  return out;
}

function run(lines: string[]): string[] {
  const r = spawnSync(build(), [], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`harness failed: ${r.stderr}`);
  return r.stdout.trimEnd().split('\n');
}

/** The module's signal line of a spec (the README's derivation), with `seed` for noise without one. */
function signalArgs(
  spec: SignalSpec,
  seed: number,
): { kind: number; abcd: number[]; repeat: number; values: number[] } {
  switch (spec.kind) {
    case 'ramp':
      return { kind: 0, abcd: [spec.step ?? 1, spec.offset ?? 0, 0, 0], repeat: 0, values: [] };
    case 'constant':
      return { kind: 1, abcd: [spec.value, 0, 0, 0], repeat: 0, values: [] };
    case 'square':
      return {
        kind: 2,
        abcd: [
          spec.high,
          spec.low,
          spec.periodSamples,
          Math.ceil((spec.dutyCycle ?? 0.5) * spec.periodSamples),
        ],
        repeat: 0,
        values: [],
      };
    case 'noise':
      return {
        kind: 3,
        abcd: [spec.amplitude, spec.seed ?? seed, spec.offset ?? 0, 0],
        repeat: 0,
        values: [],
      };
    case 'samples':
      return { kind: 4, abcd: [0, 0, 0, 0], repeat: spec.repeat === false ? 0 : 1, values: [...spec.values] };
    default:
      throw new Error(`not expressible: ${spec.kind}`);
  }
}

const N_VALUES = [
  0,
  1,
  2,
  3,
  7,
  99,
  100,
  101,
  4095,
  4096,
  4097,
  65535,
  1_000_003,
  2 ** 31 + 5,
  2 ** 40 + 3,
  2 ** 52 + 1,
];

describe.skipIf(!hasCc)('sim_signal.c against the simulator', () => {
  it('every supported signal gives the simulator’s codes, clamped to each format', () => {
    const specs: SignalSpec[] = [
      { kind: 'ramp' },
      { kind: 'ramp', step: 1, offset: 1024 },
      { kind: 'ramp', step: 3, offset: 1000 },
      { kind: 'ramp', step: -7, offset: -5000 },
      { kind: 'ramp', step: 2 ** 40 + 17, offset: 2 ** 52 - 3 },
      { kind: 'constant', value: 34 },
      { kind: 'constant', value: -100000 },
      { kind: 'constant', value: 2 ** 50 },
      { kind: 'square', high: 1000, low: -1000, periodSamples: 100 },
      { kind: 'square', high: 5, low: 70000, periodSamples: 7, dutyCycle: 0.3 },
      { kind: 'square', high: 1, low: 0, periodSamples: 10, dutyCycle: 1 / 3 },
      { kind: 'square', high: 1, low: 0, periodSamples: 3, dutyCycle: 0 },
      { kind: 'square', high: 1, low: 0, periodSamples: 3, dutyCycle: 1 },
      { kind: 'noise', amplitude: 100 },
      { kind: 'noise', amplitude: 0, offset: 9 },
      { kind: 'noise', amplitude: 1_048_575, seed: 0xdeadbeef, offset: -3 },
      { kind: 'noise', amplitude: 500, seed: -12345, offset: 10 },
      { kind: 'samples', values: [1, -2, 3, 40000, -40000] },
      { kind: 'samples', values: [5, 6, 7], repeat: false },
    ];
    const formats = [
      { signed: true, realbits: 12 },
      { signed: false, realbits: 13 },
      { signed: true, realbits: 16 },
      { signed: false, realbits: 1 },
      { signed: true, realbits: 32 },
      { signed: false, realbits: 53 },
      { signed: true, realbits: 53 },
    ];
    const lines: string[] = [];
    const expected: string[] = [];
    for (const spec of specs)
      for (const f of formats) {
        const seed = 0x1234567;
        const a = signalArgs(spec, seed);
        lines.push(
          `S ${a.kind} ${f.realbits} ${f.signed ? 1 : 0} ${a.abcd.join(' ')} ${a.repeat} ${a.values.length} ${a.values.join(' ')} ${N_VALUES.length} ${N_VALUES.join(' ')}`,
        );
        const g = createSignal(spec, f, 1_000_000, seed);
        expected.push(N_VALUES.map((n) => String(g.sample(n))).join(' '));
      }
    expect(run(lines)).toEqual(expected);
  });

  it('samples are encoded and decoded as scan.ts does (sign extension, shift, storage, byte order)', () => {
    const types = [
      'le:s12/16>>0',
      'le:u12/16>>0',
      'be:s12/16>>4',
      'le:u13/16>>0',
      'le:s11/16>>0',
      'le:s8/8>>0',
      'le:u3/8>>5',
      'be:s24/32>>8',
      'le:s32/32>>0',
      'le:u32/32>>0',
      'be:s48/64>>16',
      'le:s64/64>>0',
      'le:u53/64>>11',
    ];
    const raws = [
      0,
      1,
      -1,
      2047,
      -2048,
      2048,
      -2049,
      4095,
      65535,
      -32768,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 40 + 12345,
      -(2 ** 45) - 7,
    ];
    const lines: string[] = [];
    const expected: string[] = [];
    for (const t of types) {
      const st = parseScanType(t);
      for (const raw of raws) {
        lines.push(`E ${st.sign === 's' ? 1 : 0} ${st.realbits} ${st.storagebits} ${st.shift} ${raw}`);
        expected.push(encodeSample(raw, st).toString());
        const bytes = new Uint8Array(st.storagebits / 8);
        const layout: ScanLayout = {
          bytesPerScan: bytes.length,
          fields: [{ channel: 0, offset: 0, type: st }],
        };
        writeScans(bytes, 0, layout, 0, 1, () => raw);
        lines.push(
          `D ${st.sign === 's' ? 1 : 0} ${st.realbits} ${st.storagebits} ${st.shift} ${st.endianness === 'be' ? 1 : 0} ${[...bytes].join(' ')}`,
        );
        expected.push(String(readScans(bytes, 0, layout, 1)[0]![0]));
      }
    }
    expect(run(lines)).toEqual(expected);
  });

  it('the sample clock: scan_time and scans_by as timing.ts (times up to 2^50 ns, 13 days)', () => {
    const cases: [number, number, number, number][] = [];
    for (const rate of [1, 3, 1000, 48_000, 1_000_000, 7_654_321, 125_000_000, 2_147_483_647])
      for (const k of [0, 1, 2, 999, 1_000_000, 123_456_789_012])
        for (const t of [-5, 0, 1, 999, 1000, 1001, 12_345_678, 9_876_543_210_123])
          if (((k + 1) * 1e9) / rate < 2 ** 50) cases.push([1_000_000_007, rate, k, 1_000_000_007 + t]);
    const lines = cases.map(([t0, rate, k, t]) => `T ${t0} ${rate} ${k} ${t}`);
    const expected = cases.map(
      ([t0, rate, k, t]) => `${scanTime({ t0, rate }, k)} ${scansBy({ t0, rate }, t)}`,
    );
    expect(run(lines)).toEqual(expected);
  });

  it('scan layout (rule SCAN-1) and scan bytes: padding zero, repeated fields filled', () => {
    const sets: { types: string[]; mask: number; ts: boolean }[] = [
      { types: ['le:s12/16>>0', 'le:s12/16>>0', 'le:s12/16>>0', 'le:s12/16>>0'], mask: 0b1111, ts: false },
      { types: ['le:s12/16>>0', 'le:s12/16>>0', 'le:s12/16>>0', 'le:s12/16>>0'], mask: 0b0111, ts: false },
      { types: ['le:u8/8>>0', 'le:s32/32>>0'], mask: 0b11, ts: false },
      { types: ['le:s32/32>>0', 'le:u8/8>>0'], mask: 0b11, ts: false },
      { types: ['le:u13/16>>0', 'le:s12/16>>0', 'le:s11/16>>0', 'le:s16/16>>0'], mask: 0b1001, ts: true },
      { types: ['be:s16/16X3>>0', 'le:u8/8>>0', 'le:s64/64>>0'], mask: 0b111, ts: false },
      { types: ['le:u8/8X5>>0', 'le:s14/16>>2'], mask: 0b11, ts: true },
    ];
    const lines: string[] = [];
    const expected: string[] = [];
    for (const s of sets) {
      const st = s.types.map(parseScanType);
      const chans = st.map((t, i) => ({ t, i })).filter(({ i }) => (s.mask >> i) & 1);
      const vals = chans.map(({ i }) => -1000 * (i + 1) + 7);
      lines.push(
        `L ${s.ts ? 1 : 0} ${st.length} ${st.map((t) => `${t.sign === 's' ? 1 : 0} ${t.realbits} ${t.storagebits} ${t.shift} ${t.repeat ?? 1} ${t.endianness === 'be' ? 1 : 0}`).join(' ')} ${s.mask} ${vals.join(' ')}`,
      );
      // SCAN-1, as the kernel computes it
      const len = (t: ScanType) =>
        (t.storagebits / 8) * ((t.repeat ?? 1) > 1 ? 2 ** Math.ceil(Math.log2(t.repeat!)) : 1);
      let bytes = 0;
      let largest = 0;
      const fields = chans.map(({ t, i }) => {
        const l = len(t);
        bytes = Math.ceil(bytes / l) * l;
        const f = { channel: i, offset: bytes, type: t };
        bytes += l;
        largest = Math.max(largest, l);
        return f;
      });
      let tso = -1;
      if (s.ts) {
        bytes = Math.ceil(bytes / 8) * 8;
        tso = bytes;
        bytes += 8;
        largest = Math.max(largest, 8);
      }
      const bpd = Math.ceil(bytes / largest) * largest;
      const scan = new Uint8Array(bpd);
      // the module writes the data fields; the core puts the timestamp there later
      writeScans(
        scan,
        0,
        { bytesPerScan: bpd, fields },
        0,
        1,
        (ch) => vals[chans.findIndex((c) => c.i === ch)]!,
      );
      expected.push(
        `${bpd} ${tso}${fields.map((f) => ` ${f.channel}:${f.offset}`).join('')} |${[...scan].map((b) => ` ${b}`).join('')}`,
      );
    }
    expect(run(lines)).toEqual(expected);
  });

  it('field-by-field generation (the module’s fast path) writes what writeScans() writes', () => {
    const specs: SignalSpec[] = [
      { kind: 'ramp', step: 1, offset: 1024 },
      { kind: 'ramp', step: 5, offset: -3 },
      { kind: 'constant', value: -77 },
      { kind: 'square', high: 9, low: -9, periodSamples: 6, dutyCycle: 0.5 },
      { kind: 'noise', amplitude: 300, seed: 42 },
      { kind: 'samples', values: [3, 1, 4, 1, 5] },
    ];
    const types = [
      'le:s12/16>>0',
      'le:u13/16>>0',
      'be:s12/16>>2',
      'le:s16/16X3>>0',
      'le:u8/8>>0',
      'be:s20/32>>4',
    ];
    const lines: string[] = [];
    const expected: string[] = [];
    for (const spec of specs)
      for (const text of types) {
        const t = parseScanType(text);
        const rep = t.repeat ?? 1;
        const len = (t.storagebits / 8) * (rep > 1 ? 2 ** Math.ceil(Math.log2(rep)) : 1);
        const stride = len + 2;
        const first = 4090;
        const count = 12;
        const a = signalArgs(spec, 7);
        lines.push(
          `F ${a.kind} ${t.realbits} ${t.sign === 's' ? 1 : 0} ${a.abcd.join(' ')} ${a.repeat} ${a.values.length} ${a.values.join(' ')} ${t.sign === 's' ? 1 : 0} ${t.storagebits} ${t.shift} ${rep} ${t.endianness === 'be' ? 1 : 0} ${stride} ${first} ${count}`,
        );
        const g = createSignal(spec, { signed: t.sign === 's', realbits: t.realbits }, 1_000_000, 7);
        const out = new Uint8Array(stride * count);
        writeScans(
          out,
          0,
          { bytesPerScan: stride, fields: [{ channel: 0, offset: 0, type: t }] },
          first,
          count,
          (_c, n) => g.sample(n),
        );
        expected.push([...out].join(' '));
      }
    expect(run(lines)).toEqual(expected);
  });

  it('hash32 (noise) matches rng.ts for integer seeds and indexes', async () => {
    const { hash32 } = await import('../../src/hw/rng.ts');
    const cases: [number, number][] = [];
    for (const seed of [0, 1, -1, 0x632be5ab, 0xffffffff, 2 ** 40 + 1, -(2 ** 50)])
      for (const n of [0, 1, 2, 1000, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1]) cases.push([seed, n]);
    expect(run(cases.map(([s, n]) => `H ${s} ${n}`))).toEqual(cases.map(([s, n]) => String(hash32(s, n))));
  });
});

/** The README's derivation, for the default board's kinds of configuration. */
function encodeBoard(devices: DeviceConfig[]): string {
  const name = (s: string) =>
    [...new TextEncoder().encode(s)]
      .map((b) =>
        /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join('');
  return devices
    .map((d) => {
      if (d.kind === 'dummy') {
        const p = [`dummy:${name(d.name)}`];
        if (d.sampleRateHz !== undefined) p.push(`rate=${d.sampleRateHz}`);
        if (d.maxSampleRateHz !== undefined) p.push(`max_rate=${d.maxSampleRateHz}`);
        return p.join(',');
      }
      const p = [`${d.kind}:${name(d.name)}`, `rate=${d.sampleRateHz}`];
      if (d.maxSampleRateHz !== undefined) p.push(`max_rate=${d.maxSampleRateHz}`);
      if (d.dma?.maxSegmentSize !== undefined) p.push(`dma_max_seg=${d.dma.maxSegmentSize}`);
      if (d.dma?.lengthAlignBytes !== undefined) p.push(`dma_align=${d.dma.lengthAlignBytes}`);
      if (d.dma?.irqLatencyNs !== undefined) p.push(`dma_irq_ns=${d.dma.irqLatencyNs}`);
      if (d.dma?.bytesPerSecond !== undefined) p.push(`dma_bw=${d.dma.bytesPerSecond}`);
      if (d.kind === 'adc' && d.loopbackFrom) p.push(`loopback=${name(d.loopbackFrom)}`);
      for (const c of d.channels) {
        const t =
          typeof c.type === 'string'
            ? c.type
            : `${c.type.endianness}:${c.type.sign}${c.type.realbits}/${c.type.storagebits}${(c.type.repeat ?? 1) > 1 ? `X${c.type.repeat}` : ''}>>${c.type.shift}`;
        let ch = `ch=${c.id}@${t}`;
        if (d.kind === 'adc' && c.signal) {
          const s = c.signal;
          if (s.kind !== 'ramp') throw new Error('this reference encoder only needs ramps');
          ch += `@ramp:${s.step ?? 1}:${s.offset ?? 0}`;
        }
        p.push(ch);
      }
      return p.join(',');
    })
    .join(';');
}

describe('the default board string', () => {
  const source = readFileSync(join(MODULE, 'sim_params.c'), 'utf8');
  const block = /sim_default_devices\[\] =\s*((?:\s*"[^"]*")+);/.exec(source);
  const inModule = [...(block?.[1] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]).join('');
  const readme = readFileSync(join(MODULE, 'README.md'), 'utf8');

  it('is the same in the module and in its README', () => {
    expect(inModule).toMatch(/^adc:sim-adc,/);
    expect(readme).toContain(`\n${inModule}\n`);
  });

  it('is the README encoding of defaultDevices()', () => {
    expect(encodeBoard(defaultDevices())).toBe(inModule);
  });
});
