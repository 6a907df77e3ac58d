/**
 * The `ioctl` action: a request by name (in the scenario's ABI profile) or number, and an argument built in
 * the process's memory: nothing, a raw address, an `int`, a uapi struct, a string, or an unmapped address.
 * `out` binds what the kernel wrote back (an int, or struct fields) as fd names.
 */
import { z } from 'zod';
import { ioctlRequestNames, ioctlRequestNumber } from '../../uapi/names.ts';
import { flagNamed, flagValue, STRUCTS } from '../symbols.ts';
import { Ref, showKey, Word32 } from '../values.ts';
import { type ActionCheck, type ActionRun, defineAction } from './define.ts';

const IoctlArg = z.union([
  z.null(),
  z.number().int(),
  z.strictObject({ int: z.union([Word32, z.string()]), out: z.string().optional() }),
  z.strictObject({
    struct: z.string(),
    value: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
    /** Bind struct fields after the call: field name -> fd name (e.g. the heap's `fd`). */
    out: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({ string: z.string() }),
  z.strictObject({ unmapped: z.literal(true) }),
]);

type Arg = z.infer<typeof IoctlArg>;
type StructArg = Extract<Arg, { struct: string }>;

/** An address no process maps: the kernel's copy from it faults (-EFAULT). */
const UNMAPPED_ADDR = 0x1000;

/** The codec of a uapi struct by kernel name (not an inherited property such as `constructor`). */
function structNamed(name: string) {
  return Object.hasOwn(STRUCTS, name) ? STRUCTS[name] : undefined;
}

/** Struct fields the struct has, and the names its values and `out` use. */
function checkStruct(arg: StructArg, c: ActionCheck): void {
  const codec = structNamed(arg.struct);
  if (!codec) {
    c.error(
      ['arg', 'struct'],
      `unknown struct '${String(arg.struct)}'; known: ${Object.keys(STRUCTS).join(', ')}`,
    );
    return;
  }
  const noField = (field: string) => `struct ${codec.name} has no field ${showKey(field)}`;
  for (const [field, v] of Object.entries(arg.value ?? {})) {
    if (!codec.fieldNames.includes(field)) c.errorAtKey(['arg', 'value'], field, noField(field));
    else if (
      typeof v === 'string' &&
      !/^-?\d+$/.test(v) &&
      !v.split('|').every((f) => flagNamed(f.trim()) !== undefined)
    )
      c.ref(v, ['arg', 'value', field]);
  }
  for (const [field, name] of Object.entries(arg.out ?? {})) {
    if (!codec.fieldNames.includes(field)) c.errorAtKey(['arg', 'out'], field, noField(field));
    c.define(name);
  }
}

/** Builds the argument in the process's memory: its address, and what to bind once the call succeeded. */
function buildArg(arg: Arg | undefined, r: ActionRun): { addr: number; after: (() => void) | null } {
  const mem = r.sys.mem;
  const value = (v: unknown): number | bigint => {
    if (typeof v === 'number') return v;
    const s = String(v);
    if (/^-?\d+$/.test(s)) return BigInt(s);
    const fd = r.fdNamed(s);
    if (fd !== undefined) return fd;
    return flagValue(s);
  };
  if (typeof arg === 'number') return { addr: arg, after: null };
  if (arg && 'int' in arg) {
    const addr = mem.alloc(4);
    mem.writeInt(addr, Number(value(arg.int)));
    const out = arg.out;
    return { addr, after: typeof out === 'string' ? () => r.bind(out, mem.readInt(addr)) : null };
  }
  if (arg && 'struct' in arg) {
    const codec = structNamed(arg.struct)!;
    const fields: Record<string, number | bigint> = {};
    for (const [k, v] of Object.entries(arg.value ?? {})) fields[k] = value(v);
    const addr = mem.allocStruct(codec, fields as never);
    const out = arg.out;
    const after = out
      ? () => {
          const got = mem.readStruct(addr, codec);
          for (const [field, name] of Object.entries(out)) r.bind(name, Number(got[field]));
        }
      : null;
    return { addr, after };
  }
  if (arg && 'string' in arg) return { addr: mem.allocString(String(arg.string)), after: null };
  if (arg && 'unmapped' in arg) return { addr: UNMAPPED_ADDR, after: null };
  return { addr: 0, after: null };
}

/** ioctl(2) on a named fd; `as` names the return value as an fd (v2 ALLOC, UDMABUF_CREATE). */
export const ioctl = defineAction({
  name: 'ioctl',
  schema: z.strictObject({
    fd: Ref,
    request: z.union([z.string(), Word32]),
    arg: IoctlArg.optional(),
    /** Bind the return value as an fd (v2 ALLOC, UDMABUF_CREATE). */
    as: z.string().optional(),
  }),
  check: (a, c) => {
    c.ref(a.fd, ['fd']);
    if (typeof a.request === 'string' && !ioctlRequestNames(c.profile).includes(a.request))
      c.error(['request'], `unknown ioctl '${a.request}' in the ${c.profile} profile (or give the number)`);
    const arg = a.arg;
    if (arg && typeof arg === 'object') {
      if ('int' in arg && typeof arg.int === 'string') c.ref(arg.int, ['arg', 'int']);
      if ('struct' in arg) checkStruct(arg, c);
      if ('int' in arg && typeof arg.out === 'string') c.define(arg.out);
    }
    c.define(a.as);
  },
  run: async (a, r) => {
    const request =
      typeof a.request === 'number'
        ? a.request
        : (ioctlRequestNumber(String(a.request), r.target.abi) as number);
    const { addr, after } = buildArg(a.arg, r);
    const ret = await r.sys.ioctl(r.fd(a.fd), request, addr);
    r.done(ret);
    if (ret >= 0) after?.();
    r.bind(a.as, ret);
  },
});
