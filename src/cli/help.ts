/**
 * `iio-sim --help`: every command and every option (the version comes from package.json, read in cli.ts).
 */

/** One command of the help: its synopsis and what it does. */
export interface HelpCommand {
  readonly name: string;
  readonly synopsis: string;
  readonly text: string;
}

/** The commands, in the order the help lists them. */
export const HELP_COMMANDS: readonly HelpCommand[] = [
  {
    name: 'run',
    synopsis:
      'run FILE|LESSON... [-q] [--no-ftrace] [--no-check] [-T] [--log json|pretty] [--perfetto OUT.json] [--html OUT.html] [--until T] [--seed S] [--abi P] [--platform P] [--max-steps N] [--strace-compat]',
    text: `Runs scenario files and prints an strace-style log (simulated timestamps, decoded structs), ftrace-style
dma_fence lines, a summary and the contract checker's findings. LESSON names a bundled lesson of
scenarios/: its number (\`run 1\`, \`run 01\`) or the start or a word of its name (\`run 01-first-capture-read\`,
\`run cyclic\`). A progress line shows on stderr (a terminal only) when a run takes more than 2 s of wall
time; a warning says when a run stopped at the default limit (10 s of simulated time) with processes
still running.
  -q, --quiet           only the PASS/FAIL lines (and what processes with stdio: inherit write)
  --no-ftrace           no dma_fence lines
  --no-check            no contract checker
  -T, --durations       each syscall's duration, as strace -T
  --strace-compat       the trace as strace 6.1 prints it (no dma_fence lines), for diffing with real strace
  --log json|pretty     also log syscalls, fences and data loss as pino JSON or pretty lines on stderr
  --perfetto OUT.json   write a Perfetto (Chrome JSON) trace
  --html OUT.html       write a self-contained HTML timeline
  --until T             stop at virtual time T (250us, 10ms, 2s, or ns), overriding the scenario's until:
  --seed S              seed of every random choice (0..4294967295), overriding the scenario's seed:
  --abi mainline|v2     ABI profile, overriding the scenario's abi:
  --platform P          CPU cost profile (zcu102, pluto, laptop, ideal), overriding the scenario's platform:
  --max-steps N         stop a run after N scenario steps in all (default 250000; docs/limits.md)`,
  },
  {
    name: 'validate',
    synopsis: 'validate FILE...',
    text: 'Loads scenario files and reports every problem as file:line:col: message (exit 2), or "ok".',
  },
  { name: 'list', synopsis: 'list', text: 'Lists the bundled lessons of scenarios/ with their titles.' },
  {
    name: 'schema',
    synopsis: 'schema',
    text: 'Prints the JSON Schema of scenario files (scenarios/scenario.schema.json is generated from it).',
  },
  {
    name: 'info',
    synopsis: 'info [--devices FILE] [--abi P] [--seed S] [--platform P]',
    text: `Prints what iio_info prints for the simulated board: devices, channels with their scan types, channel,
device and buffer attributes with their values, triggers. A simulated process reads every value through
open()/read() of sysfs, as libiio's local backend does.
  --devices FILE        the board: a YAML list of devices as a scenario's devices: (or a scenario file)`,
  },
  {
    name: 'capture',
    synopsis:
      'capture [DEVICE [CHANNEL...]] [-b N] [-s N] [--dmabuf [-n N]] [--csv] [-o FILE] [--devices FILE] [--abi P] [--seed S] [--platform P]',
    text: `Captures scans from an input device (default sim-adc) as iio_readdev does: a simulated process enables the
channels (default: all), then read()s blocks or cycles DMABUFs, and the scans go to a file or stdout.
Prints what it did on stderr (scans, blocks, scans lost to overflow, simulated time).
  -b, --buffer-size N   scans per block (default 256): the read() size and the fileio block (the buffer's
                        length is set to 2 blocks), or the size of each DMABUF
  -s, --samples N       scans to capture (default: one block)
  --dmabuf              DMABUFs (mainline: system heap + ATTACH; v2: the buffer's ALLOC) instead of read()
  -n, --blocks N        DMABUFs in the ring (default 4); all are queued before the enable
  --csv                 CSV: a header of channel names, then one line of decimal codes per scan
  -o, --output FILE     write to FILE instead of stdout
  --benchmark           iio_rwdev -B: no DEVICE; captures from an AD9361-like ADC (default zcu102) and
                        prints MiB/s in simulated time every 100 ms (= iio-sim throughput; -b counts samples)`,
  },
  {
    name: 'play',
    synopsis:
      'play [DEVICE [CHANNEL...]] [-i FILE] [-b N] [--dmabuf [-n N]] [--csv] [--devices FILE] [--abi P] [--seed S] [--platform P]',
    text: `Plays scans on an output device (default sim-dac) as iio_writedev does: write()s blocks (the last one filled
up with zero scans) or fills and enqueues DMABUFs, waits until the DAC has played them, then checks the
DAC's recorded output against the input (exit 1 when it differs).
  -i, --input FILE      raw scans (or --csv lines) to play; default stdin
  -b, --buffer-size N   scans per write() / fileio block / DMABUF (default 256)
  --dmabuf, -n N, --csv as for capture`,
  },
  {
    name: 'fuzz',
    synopsis:
      'fuzz [--runs N] [--seed S] [--mode all|contract|syscalls] [--max-calls N] [--out FILE] [--path P]',
    text: `The contract and syscall fuzzing campaign; a failure is written as a scenario reproducing it (--out).
--against real [--part lp64|ilp32 --path P --replay-path R] [--vm NAME] compares every history with the
real kernel in QEMU.`,
  },
  {
    name: 'diff',
    synopsis: 'diff FILE... [--vm NAME]',
    text: 'Runs each scenario on the simulator and on the real kernel (QEMU) and compares them call by call.',
  },
  {
    name: 'exec',
    synopsis:
      'exec [--devices FILE|--scenario FILE] [--abi P] [--platform P] [--seed S] [--trace FILE|-] [--no-ftrace] [--strace-compat] [--no-check] [--perfetto OUT.json] [--summary] [--played DAC=FILE] [--at TIME:ACTION] -- PROGRAM [ARGS...]',
    text: `Runs a real Linux program unmodified on the simulated board (a preload library forwards its calls on the
simulated world to a simulated process, in lockstep with virtual time); exits with the program's status.`,
  },
  {
    name: 'kernel',
    synopsis: 'kernel setup [--verbose] | start | stop | status',
    text: 'Sets up (downloads and builds), starts, stops and reports the real Linux kernel VM the oracle uses.',
  },
];

/** The full `--help` text, headed by the package's `version`. */
export function helpText(version: string): string {
  const lines = [
    `iio-sim ${version}: a deterministic simulator of the Linux IIO DMABUF interface`,
    '',
    'usage: iio-sim COMMAND [OPTION...]',
    '       iio-sim --help | -h     this text',
    '       iio-sim --version | -V  the version',
    '',
    'Commands:',
  ];
  for (const c of HELP_COMMANDS) {
    lines.push('', `iio-sim ${c.synopsis}`);
    for (const l of c.text.split('\n')) lines.push(`    ${l}`);
  }
  lines.push('', 'Exit status: 0 when every expectation held, 1 when one failed, 2 for unusable input.');
  return lines.join('\n');
}
