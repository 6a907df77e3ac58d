/**
 * The contract commands as fast-check's ICommand contract wants them: check() answers from the model without
 * changing it (nor the command), and the requests they send are the ioctl table's.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { contractCommands, IoctlCommand, requestNumber } from '../../src/testing/commands.ts';
import { setupContract, teardownContract } from '../../src/testing/contract.ts';
import type { ContractModel, ModelRequest } from '../../src/testing/model.ts';
import * as v2 from '../../src/uapi/iio-v2.ts';
import { ABI_PROFILES, ioctlDef } from '../../src/uapi/ioctls.ts';

const SEED = Number(process.env.FC_SEED ?? 20261124);

/** Enough of the model's state to see any change. */
function modelState(m: ContractModel): string {
  return JSON.stringify({ fds: m.openFds(), maps: m.mapCount(), live: m.liveDmabufs() });
}

describe('contract commands', () => {
  for (const profile of ABI_PROFILES)
    test(`${profile}: check() changes neither the model nor the command and answers the same twice`, async () => {
      const [cmds] = fc.sample(fc.commands(contractCommands(profile), { maxCommands: 150, size: 'max' }), {
        seed: SEED,
        numRuns: 1,
      });
      const { model, real } = await setupContract({ profile });
      let ran = 0;
      for (const c of cmds!) {
        const before = modelState(model);
        const command = JSON.stringify(c);
        const ok = c.check(model);
        expect(c.check(model)).toBe(ok);
        expect(modelState(model)).toBe(before);
        expect(JSON.stringify(c)).toBe(command);
        if (ok) {
          await c.run(model, real);
          ran++;
        }
      }
      await teardownContract(model, real);
      expect(ran).toBeGreaterThan(10);
    });

  test('XPROF-1: each model request sends the number of its ioctl table entry', () => {
    const expected: Record<ModelRequest, number> = {
      GET_FD: ioctlDef('IIO_BUFFER_GET_FD_IOCTL').request,
      HEAP_ALLOC: ioctlDef('DMA_HEAP_IOCTL_ALLOC').request,
      ATTACH: 0x40046992,
      DETACH: 0x40046993,
      ENQUEUE: 0x40106994,
      V2_ALLOC: v2.IIO_BUFFER_DMABUF_ALLOC_IOCTL,
      V2_ENQUEUE: v2.IIO_BUFFER_DMABUF_ENQUEUE_IOCTL,
      SYNC: 0x40086200,
    };
    for (const [req, number] of Object.entries(expected))
      expect(requestNumber(req as ModelRequest)).toBe(number);
  });

  test('names a v2-only request with its profile', () => {
    expect(String(new IoctlCommand('V2_ENQUEUE', { target: { raw: 3 }, flags: 1 }))).toBe(
      'ioctl(IIO_BUFFER_DMABUF_ENQUEUE_IOCTL(v2), 3, flags=1)',
    );
    expect(String(new IoctlCommand('ATTACH', { target: { raw: 3 }, dmabuf: { raw: 5 } }))).toBe(
      'ioctl(IIO_BUFFER_DMABUF_ATTACH_IOCTL, 3, dmabuf=5)',
    );
  });
});
