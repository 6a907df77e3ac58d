/** Actions that repeat steps: `loop` a number of times, `foreach` name of a list (as `$var`). */
import { z } from 'zod';
import { defineAction } from './define.ts';

/** Repeats steps; an `expect: { minNs, maxNs }` on the loop bounds the duration of all its iterations. */
export const loop = defineAction({
  name: 'loop',
  schema: z.strictObject({
    count: z.number().int().positive().max(10_000_000),
    steps: z.array(z.any()).min(1),
  }),
  check: (a, c) => c.steps(a.steps, ['steps']),
  // The loop's own `expect` bounds its whole duration (minNs/maxNs): how throughput is stated in a lesson.
  run: async (a, r) => {
    for (let k = 0; k < a.count; k++) await r.steps(a.steps, `${r.here}#${k}.steps`);
    r.done(0);
  },
});

/** Repeats steps once per name, with `$var` standing for it. */
export const foreach = defineAction({
  name: 'foreach',
  schema: z.strictObject({
    var: z.string().regex(/^[a-z_][a-z0-9_]*$/i),
    in: z.array(z.string()).min(1),
    steps: z.array(z.any()).min(1),
  }),
  check: (a, c) => c.steps(a.steps, ['steps'], { name: a.var, values: a.in }),
  run: async (a, r) => {
    for (const item of a.in)
      await r.steps(a.steps, `${r.here}{${a.var}=${item}}.steps`, { name: a.var, value: item });
  },
});
