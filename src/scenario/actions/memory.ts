/** Actions on the program's own memory (no syscall): storing bytes into a mapping, checking bytes. */
import { z } from 'zod';
import { BytesSpec, bytesOf, MaxLen } from '../values.ts';
import { defineAction, StepError } from './define.ts';

/** Stores bytes into a mapping (the program's own memory access). */
export const fill = defineAction({
  name: 'fill',
  schema: z.strictObject({
    map: z.string(),
    data: BytesSpec,
    offset: z.number().int().nonnegative().optional(),
  }),
  check: (a, c) => c.ref(a.map, ['map']),
  run: async (a, r) => {
    const m = r.mapping(String(a.map));
    r.sys.mem.write(m.addr + (a.offset ?? 0), bytesOf(a.data));
  },
});

/** Checks bytes of a mapping or of a named read buffer against the step's `expect.data` (no syscall). */
export const check = defineAction({
  name: 'check',
  schema: z.strictObject({
    in: z.string(),
    offset: z.number().int().nonnegative().optional(),
    len: MaxLen.optional(),
  }),
  check: (a, c) => c.ref(a.in, ['in']),
  run: async (a, r) => {
    const name = r.name(String(a.in));
    const m = r.state.maps.get(name);
    const b = r.state.buffers.get(name);
    const addr = m?.addr ?? b?.addr;
    if (addr === undefined) throw new StepError(`a mapping or read buffer named '${name}'`, 'none');
    const len = a.len ?? m?.length ?? b!.filled;
    const data = r.expect?.data;
    if (
      m?.dmabuf !== undefined &&
      data &&
      !r.target.checks.unsyncedData &&
      !r.state.cpuAccess.has(m.dmabuf)
    ) {
      r.note(
        'unsynced-access',
        `data of ${name} looked at without SYNC_START: what it holds depends on when the DMA ran and on the platform's caches`,
      );
      return;
    }
    r.checkData(r.sys.mem.read(addr + (a.offset ?? 0), len), r.expect?.data);
  },
});
