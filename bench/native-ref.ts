/**
 * The native reference of the benchmarks: bench/native.c built with the system's `cc`, timed once for all three
 * loops, then kept running as `native serve` to time one loop again on request without a fork each time
 * (a simulated capture right after a fork measured 15-18% slower, with about five times the page faults of
 * the copy-on-write a fork leaves on the parent's pages).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** ns per syscall of each native loop. */
export interface Native {
  readonly read512: number;
  readonly read16k: number;
  readonly dmabufLoop: number;
}

/** The native reference: its first timing of all three loops, and a server timing one loop on request. */
export interface NativeRef {
  readonly ns: Native | null;
  readonly server: NativeServer | null;
  readonly note: string;
}

/**
 * Builds bench/native.c into `dir`, times all three loops once (`iterations` each, 100,000 by default) and
 * starts `native serve`; null figures (with the reason) when there is no C compiler or it fails.
 */
export function native(dir: string, iterations = 100_000): NativeRef {
  const exe = join(dir, 'native');
  try {
    execFileSync('cc', ['-O2', '-o', exe, join(HERE, 'native.c')], { stdio: 'pipe' });
  } catch (e) {
    return {
      ns: null,
      server: null,
      note: `native reference skipped: cc failed or is absent (${(e as Error).message.split('\n')[0]})`,
    };
  }
  const ns = JSON.parse(execFileSync(exe, [String(iterations)], { encoding: 'utf8' })) as Native;
  return {
    ns,
    server: new NativeServer(exe),
    note: 'native: read(2) from /dev/zero; DMABUF loop = poll(2) on a ready eventfd + 3 ioctl(FIONREAD)',
  };
}

/** A `native serve` child: one loop timed per request (one request at a time), answered as a JSON line. */
export class NativeServer {
  readonly #child: ChildProcess;
  #buffered = '';
  #waiting: ((line: string) => void) | null = null;

  /** The child's process id (the same for every request). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  constructor(exe: string) {
    this.#child = spawn(exe, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    // A write after the child ended fails with EPIPE; time() reports the exit instead.
    this.#child.stdin!.on('error', () => {});
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => {
      this.#buffered += chunk;
      const nl = this.#buffered.indexOf('\n');
      if (nl < 0 || !this.#waiting) return;
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      const w = this.#waiting;
      this.#waiting = null;
      w(line);
    });
  }

  /** ns per syscall of loop `which` (`iterations`, by default 20,000, median of 5: about 0.1-0.2 s). */
  time(which: keyof Native, iterations = 20_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (code: number | null) => reject(new Error(`native serve exited (${code})`));
      if (this.#child.exitCode !== null) return failed(this.#child.exitCode);
      this.#child.once('exit', failed);
      this.#waiting = (line) => {
        this.#child.off('exit', failed);
        const ns = (JSON.parse(line) as Partial<Native>)[which];
        if (typeof ns === 'number') resolve(ns);
        else reject(new Error(`native serve answered ${line}`));
      };
      this.#child.stdin!.write(`${which} ${iterations}\n`);
    });
  }

  /** Ends the child (its stdin closed). */
  close(): void {
    this.#child.stdin!.end();
  }
}
