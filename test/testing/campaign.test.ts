/**
 * What a campaign generates and reports is fixed by its seed: speed work on the simulator and the checks must
 * leave it alone. The figures here are those of the version before that work (same runs, same syscall counts,
 * the same failure text); a change of the fuzzed programs or of the checks changes them on purpose.
 */
import { expect, test } from 'vitest';
import type { Simulator } from '../../src/sim/simulator.ts';
import { runCampaign } from '../../src/testing/campaign.ts';
import { FuzzFailure, runFuzzProgram } from '../../src/testing/fuzz.ts';
import { DMA_BUF_IOCTL_SYNC } from '../../src/uapi/dma-buf.ts';

test('the campaign of seed 1 with 3 runs per part: the same parts, runs and syscalls', async () => {
  const r = await runCampaign({ runs: 3, seed: 1 });
  expect(r.parts.map((p) => [p.name, p.runs, p.syscalls, p.ok])).toEqual([
    ['contract mainline LP64', 3, 364, true],
    ['contract mainline ILP32', 3, 298, true],
    ['contract v2 LP64', 3, 424, true],
    ['contract v2 ILP32', 3, 350, true],
    ['syscall fuzzing', 3, 46, true],
  ]);
  expect([r.ok, r.syscalls]).toEqual([true, 1482]);
});

test('a fuzzed program that fails reports every call before it with its result', async () => {
  // An ioctl result that is neither a value nor an errno (a kernel bug the fuzzer must catch).
  const injected = (sim: Simulator) => {
    const orig = sim.kernel.sys.ioctl.bind(sim.kernel.sys);
    sim.kernel.sys.ioctl = (task, fd, req, arg) =>
      req >>> 0 === DMA_BUF_IOCTL_SYNC ? 0.5 : orig(task, fd, req, arg);
  };
  const failure = await runFuzzProgram(
    [
      { sys: 'close', fd: 5 },
      { sys: 'advance', ns: 1000 },
      { sys: 'open', path: '/dev/iio:device0', flags: 2 },
      { sys: 'poll', fds: [], ptr: null, nfds: 0, timeout: -1 },
      { sys: 'read', fd: 0, buf: { addr: 'unmapped' }, len: 16 },
      { sys: 'ioctl', fd: 0, req: DMA_BUF_IOCTL_SYNC, arg: { bytes: [1, 0, 0, 0, 0, 0, 0, 0] } },
      { sys: 'close', fd: 0 },
    ],
    { prepare: injected },
  ).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(FuzzFailure);
  const log = [
    'close(5) = -1 EBADF',
    '... 1000 ns pass',
    'open("/dev/iio:device0", 0x2) = 0',
    'poll([] at pollfds, 0, -1) = -1 EINTR',
    'read(0, <unmapped>, 16) = 0',
    'ioctl(0, 0x40086200, [8 bytes]) = 0.5',
  ];
  expect((failure as FuzzFailure).log).toEqual(log);
  expect((failure as FuzzFailure).message).toBe(
    [
      'ioctl(0, 0x40086200, [8 bytes]) returned 0.5, not a value or an errno',
      ...log.map((l, i) => `    ${i + 1}. ${l}`),
    ].join('\n'),
  );
});
