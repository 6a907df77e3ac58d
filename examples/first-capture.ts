/**
 * First capture with read(): enable the four channels of sim-adc, get the buffer fd, enable the buffer,
 * read 4096 scans, and print the syscall log, the first scans and the run's statistics.
 * Run: npm run capture
 */
import { createSimulator } from '../src/index.ts';
import { recordTrace } from '../src/trace/recorder.ts';
import { enableChannels, iioSysfsDir, openBuffer, readAttr, setBufferEnabled } from '../src/user/iio.ts';

const sim = createSimulator();
const trace = recordTrace(sim.events, sim.abi, { durations: true });
const SCANS = 4096;

sim.spawn('first-capture', async (sys) => {
  console.log(`device: ${String(await readAttr(sys, `${iioSysfsDir(0)}/name`)).trim()}`);
  await enableChannels(sys, 0, ['in_voltage0', 'in_voltage1', 'in_voltage2', 'in_voltage3']);
  const b = await openBuffer(sys, 0);
  if (typeof b === 'number') throw new Error(`IIO_BUFFER_GET_FD_IOCTL failed: ${b}`);
  await setBufferEnabled(sys, 0, true);
  const buf = sys.mem.alloc(SCANS * 8);
  let got = 0;
  while (got < SCANS * 8) {
    const n = await sys.read(b.fd, buf + got, SCANS * 8 - got);
    if (n < 0) throw new Error(`read failed: ${n}`);
    got += n;
  }
  await setBufferEnabled(sys, 0, false);
  const dv = new DataView(sys.mem.read(buf, got).buffer);
  console.log('\nscan  in_voltage0  in_voltage1  in_voltage2  in_voltage3');
  for (const s of [0, 1, 2, 3, 2047, 2048, 4095]) {
    const v = [0, 1, 2, 3].map((c) => String(dv.getInt16(s * 8 + 2 * c, true)).padStart(11));
    console.log(`${String(s).padStart(4)} ${v.join('  ')}`);
  }
  return got / 8;
});

const result = await sim.run();
trace.detach();
console.log('\nsyscall and hardware log:');
for (const line of trace.lines) console.log(`  ${line}`);
const p = result.processes[0]!;
const adc = result.stats.devices['sim-adc']!;
console.log(
  `\n${p.name}: ${p.status}, captured ${p.value} scans in ${(result.time / 1e6).toFixed(3)} ms of simulated time; ` +
    `${p.syscalls} syscalls, ${p.copiedBytes} bytes copied to user space, ${adc.scansLost} scans lost to overflow`,
);
