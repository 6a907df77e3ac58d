/**
 * `iio-sim info`: what libiio's `iio_info` prints about the simulated board (devices, channels with their
 * scan types, channel, device and buffer attributes with their values, triggers), found the way its local
 * backend finds them: a simulated process lists `/sys/bus/iio/devices` (through {@link listSysfsDir}, the
 * simulator having no getdents64) and reads every value with open()/read().
 */
import type { Sys } from '../sim/process.ts';
import type { Simulator } from '../sim/simulator.ts';
import { errnoName, strerror } from '../uapi/errno.ts';
import { readAttr } from '../user/iio.ts';
import { boardSimulator, type CliIo, type CliOptions, isSysfsDir, listSysfsDir } from './board.ts';
import { readScanElements, type ScanElement, scanElementNames } from './scan-elements.ts';

const DEVICES = '/sys/bus/iio/devices';

/** Files of a device directory that are no attributes: the device's name and its char device number. */
/** Files that are not IIO attributes: libiio leaves out `name`, the driver core's `dev` and `uevent`. */
const NOT_ATTRIBUTES = new Set(['name', 'dev', 'uevent']);

/** A channel as iio_info shows it: from its scan element and/or its `<dir>_<id>_<attr>` files. */
interface InfoChannel {
  /** `in_voltage0`. */
  readonly stem: string;
  readonly element?: ScanElement;
  readonly attrs: string[];
}

/** The value of an attribute as iio_info prints it: `value: 42`, or `ERROR: strerror (-errno)`. */
async function shown(sys: Sys, path: string): Promise<string> {
  const v = await readAttr(sys, path);
  if (typeof v === 'number') return `ERROR: ${strerror(-v)} (${errnoName(-v) ?? v})`;
  return `value: ${v.replace(/\n$/, '')}`;
}

/** Device-level names in `dir` with the channel stems they belong to (longest stem first). */
function splitAttributes(
  names: readonly string[],
  stems: readonly string[],
): { channel: Map<string, string[]>; device: string[] } {
  const byLength = [...stems].sort((a, b) => b.length - a.length);
  const channel = new Map<string, string[]>();
  const device: string[] = [];
  for (const n of names) {
    const stem = byLength.find((s) => n.startsWith(`${s}_`));
    if (stem) channel.set(stem, [...(channel.get(stem) ?? []), n.slice(stem.length + 1)]);
    else if (/^(in|out)_/.test(n)) {
      // A channel with attributes but no scan element: its stem is the name up to the last `_`.
      const s = n.slice(0, n.lastIndexOf('_'));
      channel.set(s, [...(channel.get(s) ?? []), n.slice(s.length + 1)]);
    } else device.push(n);
  }
  return { channel, device };
}

function channelLine(ch: InfoChannel): string {
  const input = ch.stem.startsWith('in_');
  const id = ch.stem.replace(/^(in|out)_/, '');
  const e = ch.element;
  const scan = e ? `, index: ${e.index}, format: ${e.typeText}` : '';
  return `\t\t\t${id}: (${input ? 'input' : 'output'}${scan})`;
}

async function attrLines(sys: Sys, dir: string, names: readonly string[], indent: string): Promise<string[]> {
  const out: string[] = [];
  for (const [i, n] of names.entries())
    out.push(`${indent}attr ${String(i).padStart(2)}: ${n} ${await shown(sys, `${dir}/${n}`)}`);
  return out;
}

/** The lines of one `iio:deviceN`. */
async function deviceLines(sys: Sys, sim: Simulator, node: string): Promise<string[]> {
  const dir = `${DEVICES}/${node}`;
  const entries = listSysfsDir(sim, dir) ?? [];
  const name = await readAttr(sys, `${dir}/name`);
  const buffers = entries.filter((n) => /^buffer\d+$/.test(n) && isSysfsDir(sim, `${dir}/${n}`));
  const out = [
    `\t${node}: ${typeof name === 'string' ? name.trim() : '(no name)'}${buffers.length ? ' (buffer capable)' : ''}`,
  ];
  const elements = buffers.length > 0 ? await readScanElements(sys, dir, scanElementNames(sim, dir)) : [];
  const scan = Array.isArray(elements) ? elements : [];
  const files = entries.filter((n) => !isSysfsDir(sim, `${dir}/${n}`) && !NOT_ATTRIBUTES.has(n));
  const { channel, device } = splitAttributes(
    files,
    scan.map((e) => e.name),
  );
  const channels: InfoChannel[] = scan.map((e) => ({
    stem: e.name,
    element: e,
    attrs: channel.get(e.name) ?? [],
  }));
  for (const [stem, attrs] of channel) if (!scan.some((e) => e.name === stem)) channels.push({ stem, attrs });
  out.push(`\t\t${channels.length} channels found:`);
  for (const ch of channels) {
    out.push(channelLine(ch));
    out.push(`\t\t\t${ch.attrs.length} channel-specific attributes found:`);
    for (const [i, a] of ch.attrs.entries())
      out.push(`\t\t\t\tattr ${String(i).padStart(2)}: ${a} ${await shown(sys, `${dir}/${ch.stem}_${a}`)}`);
  }
  out.push(`\t\t${device.length} device-specific attributes found:`);
  out.push(...(await attrLines(sys, dir, device, '\t\t\t\t')));
  for (const b of buffers) {
    const attrs = (listSysfsDir(sim, `${dir}/${b}`) ?? []).filter((n) => !/_(en|index|type)$/.test(n));
    out.push(`\t\t${b}: ${attrs.length} buffer-specific attributes found:`);
    out.push(...(await attrLines(sys, `${dir}/${b}`, attrs, '\t\t\t\t')));
  }
  if (entries.includes('trigger')) {
    const t = await readAttr(sys, `${dir}/trigger/current_trigger`);
    out.push(
      `\t\tCurrent trigger: ${typeof t === 'string' ? t.trim() || '(none)' : `ERROR: ${strerror(-t)}`}`,
    );
  } else out.push('\t\tNo trigger on this device');
  return out;
}

/** Sorts `iio:device10` after `iio:device9`. */
function byNumber(a: string, b: string): number {
  return Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')) || a.localeCompare(b);
}

/**
 * The `iio_info`-style report of the board of `sim`, produced by a simulated process: its lines, in order.
 * Runs the simulator until the process is done.
 */
export async function boardInfo(sim: Simulator): Promise<string[]> {
  const out: string[] = [];
  sim.spawn('iio_info', async (sys) => {
    const all = listSysfsDir(sim, DEVICES) ?? [];
    const nodes = all.filter((n) => n.startsWith('iio:device')).sort(byNumber);
    const triggers = all.filter((n) => n.startsWith('trigger')).sort(byNumber);
    out.push(`IIO context has ${nodes.length + triggers.length} devices:`);
    for (const node of nodes) out.push(...(await deviceLines(sys, sim, node)));
    for (const t of triggers) {
      const name = await readAttr(sys, `${DEVICES}/${t}/name`);
      out.push(`\t${t}: ${typeof name === 'string' ? name.trim() : '(no name)'}`);
      out.push('\t\t0 channels found:');
    }
    return 0;
  });
  await sim.run();
  return out;
}

/** `iio-sim info [--devices FILE] [--abi P] [--seed S] [--platform P]`. */
export async function infoCommand(_args: readonly string[], opts: CliOptions, io: CliIo): Promise<number> {
  const sim = boardSimulator('info', opts, io);
  if (!sim) return 2;
  const lines = await boardInfo(sim);
  io.out(
    `iio-sim: simulated board (profile ${sim.abi}, seed ${sim.options.seed ?? 1}), read by a simulated process at ${(sim.now / 1e6).toFixed(3)} ms`,
  );
  for (const l of lines) io.out(l);
  return 0;
}
