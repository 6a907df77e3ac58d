/**
 * Child process of `npm run bench`'s memory rows: runs one capture `scale` times as long as the 1x one and
 * prints its peak RSS (bench/peak-rss.ts) as JSON. Each measurement needs a process of its own (peak RSS
 * never goes down).
 *   tsx bench/memory.ts api SCALE          DMABUF 4 x 4 KiB through the API helpers (pollfds, syncDmabuf,
 *                                          enqueueDmabuf), 16 MiB per unit of scale
 *   tsx bench/memory.ts cli SCALE FILE     `iio-sim run FILE --quiet --no-ftrace` of a scenario written for SCALE
 */
import { writeFileSync } from 'node:fs';
import { main } from '../src/cli.ts';
import { dmabufCapture, timeCapture } from './paths.ts';
import { peakRssKiB } from './peak-rss.ts';

/** Blocks of the 1x runs: 4096 x 4 KiB = 16 MiB through the API helpers, 1024 x 4 KiB in the scenario. */
const API_BLOCKS = 4096;
const SCENARIO_LOOPS = 256;

/** A lesson-2 style scenario: 4 DMABUFs of 4 KiB, `loops` passes of poll, SYNC, check, SYNC, ENQUEUE. */
export function scenarioText(loops: number): string {
  return `title: bench memory
abi: mainline
processes:
  - name: capture
    steps:
      - enable_channels: { device: sim-adc, channels: [in_voltage0, in_voltage1, in_voltage2, in_voltage3] }
      - buffer_fd: { device: sim-adc, as: buf, chardev: adc }
      - foreach:
          var: b
          in: [dbuf0, dbuf1, dbuf2, dbuf3]
          steps:
            - heap_alloc: { size: 4096, as: $b, map: true, heap: heap }
            - attach: { buffer: buf, dmabuf: $b }
      - enable_buffer: { device: sim-adc }
      - foreach: { var: b, in: [dbuf0, dbuf1, dbuf2, dbuf3], steps: [{ enqueue: { buffer: buf, dmabuf: $b, bytes_used: 4096 } }] }
      - loop:
          count: ${loops}
          steps:
            - foreach:
                var: b
                in: [dbuf0, dbuf1, dbuf2, dbuf3]
                steps:
                  - poll: { fds: [{ fd: $b, events: POLLOUT }], timeout: 100 }
                    expect: { ret: 1 }
                  - sync: { dmabuf: $b, phase: start, dir: read }
                  - check: { in: $b }
                    expect: { data: { samples: { device: sim-adc, channels: [in_voltage0, in_voltage1, in_voltage2, in_voltage3] } } }
                  - sync: { dmabuf: $b, phase: end, dir: read }
                  - enqueue: { buffer: buf, dmabuf: $b, bytes_used: 4096 }
      - enable_buffer: { device: sim-adc, on: false }
expect:
  processes: { capture: exited }
`;
}

async function child(kind: string, scale: number, file: string | undefined): Promise<void> {
  let simulatedNs = 0;
  if (kind === 'api') {
    const r = await timeCapture(dmabufCapture(API_BLOCKS * scale * 4096, 4096, 'mainline'), 'mainline');
    simulatedNs = r.simulatedNs;
  } else if (kind === 'cli' && file) {
    writeFileSync(file, scenarioText(SCENARIO_LOOPS * scale));
    const lines: string[] = [];
    const code = await main(['run', file, '--quiet', '--no-ftrace'], {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    if (code !== 0) throw new Error(`iio-sim run: exit ${code}: ${lines.join('\n')}`);
  } else throw new Error('usage: tsx bench/memory.ts api|cli SCALE [FILE]');
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapAfterGcKiB = gc ? Math.round(process.memoryUsage().heapUsed / 1024) : Number.NaN;
  console.log(JSON.stringify({ kind, scale, maxRssKiB: peakRssKiB(), heapAfterGcKiB, simulatedNs }));
}

if (process.argv[1]?.endsWith('memory.ts'))
  await child(process.argv[2] ?? '', Number(process.argv[3] ?? 1), process.argv[4]);
