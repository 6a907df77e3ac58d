/**
 * The scenario action table (src/scenario/actions/): one entry per step key, from which the step schema,
 * the JSON Schema of scenario files, the loader's checks and the interpreter all derive.
 */
import { describe, expect, it } from 'vitest';
import { ACTION_TABLE, actionNamed } from '../../src/scenario/actions/table.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { COMMON_KEYS, Step, scenarioJsonSchema } from '../../src/scenario/schema.ts';

const names = ACTION_TABLE.map((a) => a.name);

describe('ACTION_TABLE', () => {
  it('names every action once, in the order of the README', () => {
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'open',
      'close',
      'dup',
      'dup2',
      'read',
      'write',
      'pread',
      'lseek',
      'fcntl',
      'ioctl',
      'mmap',
      'munmap',
      'poll',
      'sleep',
      'compute',
      'memfd_create',
      'ftruncate',
      'kill',
      'sigaction',
      'attr',
      'enable_channels',
      'enable_buffer',
      'buffer_fd',
      'heap_alloc',
      'iio_alloc',
      'attach',
      'detach',
      'enqueue',
      'sync',
      'fill',
      'check',
      'loop',
      'foreach',
    ]);
  });

  it('actionNamed finds each entry and nothing else (not even inherited property names)', () => {
    for (const a of ACTION_TABLE) expect(actionNamed(a.name)).toBe(a);
    for (const n of ['toString', 'constructor', 'label', 'expect', 'Open'])
      expect(actionNamed(n)).toBeUndefined();
  });

  it('no action is named like a key every step may carry', () => {
    for (const k of COMMON_KEYS) expect(names).not.toContain(k);
  });
});

describe('what derives from the table', () => {
  it('the step schema accepts one action with its value plus label and expect, per entry', () => {
    expect(Step.safeParse({ sleep: '1ms', label: 'x', expect: 'any' }).success).toBe(true);
    expect(Step.safeParse({ sleep: '1ms', close: 3 }).success).toBe(false);
    expect(Step.safeParse({ nosuch: 1 }).success).toBe(false);
  });

  it('the JSON Schema has one step alternative per entry, in table order', () => {
    const schema = scenarioJsonSchema() as {
      $defs: Record<string, { anyOf?: { properties?: Record<string, unknown> }[] }>;
    };
    const stepUnion = Object.values(schema.$defs).find(
      (d) => d.anyOf?.length === ACTION_TABLE.length && d.anyOf[0]?.properties?.open !== undefined,
    );
    expect(stepUnion?.anyOf?.map((alt) => Object.keys(alt.properties ?? {})[0])).toEqual(names);
  });

  it('the loader lists the table in its unknown-action message and checks each step with its entry', () => {
    const r = loadScenario(
      'processes:\n  - name: p\n    steps:\n      - opn: { path: /dev/null }\n',
      't.yaml',
    );
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual([
      `processes.0.steps.0.opn: unknown action 'opn'; actions: ${names.join(', ')}`,
    ]);
    const bad = loadScenario('processes:\n  - name: p\n    steps:\n      - dup: { fd: nofd }\n', 't.yaml');
    expect(bad.ok ? [] : bad.errors.map((e) => e.message)).toEqual([
      "processes.0.steps.0.dup.fd: unknown name 'nofd': no earlier step defines it (with as:, out: or into:)",
    ]);
  });
});
