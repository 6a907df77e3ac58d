/**
 * Renders each lesson's picture for the docs: runs the scenario as `iio-sim run --html` does, opens the HTML
 * in headless Chromium at the view the lesson's text talks about (and with the event it points at pinned),
 * and saves a PNG to docs/pictures/. Needs Debian's `chromium` (see tools/chromium.ts).
 *
 *   npx tsx tools/render-lessons.ts [LESSON.yaml...]     # all lessons by default
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { main, SCENARIO_DIR } from '../src/cli.ts';
import { type Browser, CHROMIUM_PATH, chromiumAvailable, launchChromium } from './chromium.ts';

/** Where the pictures go. */
export const PICTURE_DIR = resolve(fileURLToPath(import.meta.url), '..', '..', 'docs', 'pictures');

/** What a lesson's picture shows: a time window (ns, default the whole run) and an event to pin. */
export interface LessonView {
  readonly t0?: number;
  readonly t1?: number;
  /** Which item to pin: `kind` and `name` of the model item, starting at or after `after` ns, and which match (0 = first). */
  readonly pin?: {
    readonly kind: string;
    readonly name: string;
    readonly after?: number;
    readonly nth?: number;
  };
}

const ms = (x: number) => Math.round(x * 1e6);

/** The view of each lesson, by file name; lessons not listed show their whole run. */
export const LESSON_VIEWS: Readonly<Record<string, LessonView>> = {
  '01-first-capture-read.yaml': { pin: { kind: 'syscall', name: 'read', after: ms(2) } },
  '02-four-dmabufs.yaml': { t0: 0, t1: ms(17.5), pin: { kind: 'syscall', name: 'ENQUEUE' } },
  '03-dmabufs-vs-latency.yaml': { t0: ms(5), t1: ms(6.6), pin: { kind: 'gap', name: 'overflow 120' } },
  '04-cyclic-dac.yaml': { pin: { kind: 'syscall', name: 'ENQUEUE' } },
  '05-v2-bytes-used-and-flags.yaml': { pin: { kind: 'syscall', name: 'ENQUEUE' } },
  '06-mainline-bytes-used-and-flags.yaml': { pin: { kind: 'syscall', name: 'ENQUEUE' } },
  '07-forgetting-sync.yaml': { pin: { kind: 'syscall', name: 'SYNC START' } },
  '08-closing-in-flight.yaml': { pin: { kind: 'syscall', name: 'nanosleep' } },
  '09-watermark-never-wakes.yaml': { pin: { kind: 'syscall', name: 'poll' } },
  '10-compat-32bit.yaml': { pin: { kind: 'syscall', name: 'ENQUEUE', nth: 1 } },
  '11-dma-error.yaml': { pin: { kind: 'fence', name: 'fence 2:1' } },
  '12-non-coherent-caches.yaml': { pin: { kind: 'kernel', name: 'cache', nth: 1 } },
  '13-why-dmabuf.yaml': {
    t0: ms(16.6),
    t1: ms(18.6),
    pin: { kind: 'syscall', name: 'read', after: ms(16.9) },
  },
};

const PICTURE_CSS =
  '.desc, #toolbar button, #toolbar label, #toolbar .hint, #hint { display: none !important; }';

/** Renders one lesson (a path to its YAML) to a PNG; resolves to the PNG's path. */
export async function renderLesson(
  browser: Browser,
  file: string,
  outDir: string,
  view: LessonView = {},
): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'iio-lesson-'));
  const html = join(tmp, 'timeline.html');
  const lines: string[] = [];
  const code = await main(['run', '--quiet', '--html', html, file], {
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  if (code !== 0) throw new Error(`${file}: iio-sim run exited ${code}: ${lines.join('\n')}`);
  const page = await browser.newPage(1600, 900);
  try {
    const hash = view.t0 !== undefined && view.t1 !== undefined ? `#t0=${view.t0}&t1=${view.t1}` : '';
    await page.goto(`${pathToFileURL(html).href}${hash}`);
    await page.waitForFunction(
      () => (globalThis as unknown as { iioTimeline?: { ready?: boolean } }).iioTimeline?.ready,
    );
    await page.addStyleTag({ content: PICTURE_CSS });
    const height = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { body: { scrollHeight: number } } }).document.body
          .scrollHeight,
    );
    await page.setViewportSize({ width: 1600, height });
    if (view.pin) {
      const found = await page.evaluate((p) => {
        const api = (
          globalThis as unknown as {
            iioTimeline: {
              items: { i: number; kind: string; name: string; start: number }[];
              pin(i: number): void;
            };
          }
        ).iioTimeline;
        const matches = api.items.filter(
          (it) => it.kind === p.kind && it.name === p.name && it.start >= (p.after ?? 0),
        );
        const it = matches[p.nth ?? 0];
        if (it) api.pin(it.i);
        return it !== undefined;
      }, view.pin);
      if (!found) throw new Error(`${file}: no ${view.pin.kind} named ${view.pin.name} to pin`);
      // Room under the timeline for the pinned event's card, which sits at the bottom of the window.
      const tip = await page.locator('#tip').boundingBox();
      await page.setViewportSize({ width: 1600, height: height + Math.ceil(tip?.height ?? 0) + 32 });
      await page.evaluate(() => {
        const api = (globalThis as unknown as { iioTimeline: { pinned(): number; pin(i: number): void } })
          .iioTimeline;
        api.pin(api.pinned());
      });
    }
    const out = join(outDir, `${basename(file).replace(/\.ya?ml$/, '')}.png`);
    await page.screenshot({ path: out });
    return out;
  } finally {
    await page.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Renders the given lessons (default: every lesson) into docs/pictures. */
export async function renderLessons(files: readonly string[]): Promise<string[]> {
  if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`);
  mkdirSync(PICTURE_DIR, { recursive: true });
  const browser = await launchChromium();
  try {
    const out: string[] = [];
    for (const f of files) out.push(await renderLesson(browser, f, PICTURE_DIR, LESSON_VIEWS[basename(f)]));
    return out;
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const files = args.length
    ? args
    : readdirSync(SCENARIO_DIR)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => join(SCENARIO_DIR, f));
  for (const p of await renderLessons(files)) process.stdout.write(`${p}\n`);
}
