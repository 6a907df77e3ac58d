/**
 * The HTML timeline in a real browser: Debian's Chromium, headless, through playwright-core. Where the
 * browser is not installed the suite is one skipped test saying so (CI installs it: apt-get install -y
 * chromium).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { exportHtml } from '../../src/trace/html.ts';
import { type Browser, CHROMIUM_PATH, chromiumAvailable, launchChromium } from '../../tools/chromium.ts';
import { renderLesson } from '../../tools/render-lessons.ts';
import { runScenarioText } from './lessons.ts';
import { decodePng, imageStats } from './png.ts';

const available = chromiumAvailable();

if (!available)
  it.skip(`browser tests skipped: no Chromium at ${CHROMIUM_PATH} (install it: apt-get install -y chromium)`, () => {});

interface Api {
  ready?: boolean;
  rendered: number;
  items: { i: number; kind: string; name: string; start: number }[];
  chains: { items: number[] }[];
  view(t0: number, t1: number): void;
  fit(): void;
}

async function openTimeline(page: Page, file: string): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(
    () => (globalThis as unknown as { iioTimeline?: Api }).iioTimeline?.ready === true,
  );
  expect(errors).toEqual([]);
}

describe.runIf(available)('HTML timeline in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iio-browser-'));
  let browser: Browser;
  const lesson2 = join(dir, 'lesson2.html');

  beforeAll(async () => {
    const r = await main(['run', '--quiet', '--html', lesson2, 'scenarios/02-four-dmabufs.yaml'], {
      out: () => {},
      err: () => {},
    });
    expect(r).toBe(0);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lesson 02: lanes for the process, DMA channel, block queue and fences, and the arrows between them', async () => {
    const page = await browser.newPage(1400, 900);
    await openTimeline(page, lesson2);
    const lanes = await page.$$eval('#timeline rect.lane-bg', (els) =>
      els.map((e) => e.getAttribute('data-lane')),
    );
    expect(lanes).toEqual([
      'proc:100',
      'dma:sim-adc-dma',
      'lost:sim-adc-dma',
      'blocks:iio:device0',
      'fences',
      'kernel',
    ]);
    const titles = await page.$$eval('#timeline text.lane-title', (els) => els.map((e) => e.textContent));
    expect(titles).toEqual([
      'capture [100]',
      'DMA sim-adc-dma (iio:device0)',
      'lost scans, sim-adc-dma',
      'iio:device0 block queue',
      'dma_fence',
      'kernel',
    ]);
    expect(await page.locator('#timeline [data-kind="transfer"]').count()).toBe(17);
    expect(await page.locator('#timeline [data-kind="fence"]').count()).toBe(20);
    // 16 blocks completed: ENQUEUE -> transfer -> IRQ -> fence -> wake-up, 4 arrows each; the last block
    // was aborted by the disable: ENQUEUE -> transfer -> fence.
    const arrows = await page.$$eval('#timeline path.arrow', (els) =>
      els.map((e) => [e.getAttribute('data-from'), e.getAttribute('data-to')]),
    );
    expect(arrows).toHaveLength(16 * 4 + 2);
    await page.close();
  });

  it('lesson 02: clicking an ENQUEUE pins it and highlights its transfer, its fence and the arrow between', async () => {
    const page = await browser.newPage(1400, 900);
    await openTimeline(page, lesson2);
    // The first ENQUEUE is 1 µs long: zoom to 50..65 µs so that it is wide enough to click.
    await page.evaluate(() =>
      (globalThis as unknown as { iioTimeline: Api }).iioTimeline.view(50_000, 65_000),
    );
    const enqueue = page.locator('#timeline rect[data-name="ENQUEUE"]').first();
    await enqueue.click();
    expect(await enqueue.getAttribute('class')).toContain('pinned');
    const hl = await page.$$eval('#timeline .hl', (els) =>
      els.map((e) => `${e.getAttribute('data-kind')}:${e.getAttribute('data-name')}`),
    );
    expect(hl).toContain('transfer:block 1');
    expect(hl).toContain('fence:fence 1:1');
    expect(hl.filter((h) => h.startsWith('transfer:') || h.startsWith('fence:'))).toEqual([
      'transfer:block 1',
      'fence:fence 1:1',
    ]);
    expect(await page.locator('#timeline path.arrow.hl').count()).toBeGreaterThanOrEqual(1);
    const tip = page.locator('#tip');
    expect(await tip.isVisible()).toBe(true);
    expect(await tip.textContent()).toContain(
      'ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=6, flags=0, bytes_used=32768}) = 0',
    );
    await page.keyboard.press('Escape');
    expect(await page.locator('#timeline .hl').count()).toBe(0);
    await page.close();
  });

  it("hovering shows the strace line of a syscall, the ftrace line of the fence it made, and a fence's lines", async () => {
    const page = await browser.newPage(1400, 900);
    await openTimeline(page, lesson2);
    await page.evaluate(() =>
      (globalThis as unknown as { iioTimeline: Api }).iioTimeline.view(4_100_000, 4_200_000),
    );
    await page.locator('#timeline rect[data-name="SYNC START"]').first().hover();
    expect(await page.locator('#tip').textContent()).toContain(
      'ioctl(6, DMA_BUF_IOCTL_SYNC, {flags=DMA_BUF_SYNC_START|DMA_BUF_SYNC_READ}) = 0',
    );
    await page.locator('#timeline rect[data-name="ENQUEUE"]').first().hover();
    const enqueueTip = await page.locator('#tip').textContent();
    expect(enqueueTip).toContain(
      'ioctl(4, IIO_BUFFER_DMABUF_ENQUEUE_IOCTL, {fd=6, flags=0, bytes_used=32768}) = 0',
    );
    expect(enqueueTip).toContain(
      'capture-100     [001] .....     0.004186: dma_fence_init: driver=iio timeline=iio context=1 seqno=2',
    );
    await page.locator('#timeline rect[data-name="fence 1:2"]').hover();
    expect(await page.locator('#tip').textContent()).toContain(
      'dma_fence_init: driver=iio timeline=iio context=1 seqno=2',
    );
    await page.close();
  });

  it('the wheel zooms around the pointer and dragging pans', async () => {
    const page = await browser.newPage(1400, 900);
    await openTimeline(page, lesson2);
    const range = () => page.locator('#range').textContent();
    const before = await range();
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.move(box.x + 700, box.y + 200);
    await page.mouse.wheel(0, -500);
    await page.waitForFunction(
      (b) =>
        (
          globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }
        ).document.getElementById('range').textContent !== b,
      before,
    );
    const zoomed = await range();
    expect(zoomed).toMatch(/ms shown\)$/);
    await page.mouse.move(box.x + 700, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x + 500, box.y + 200, { steps: 5 });
    await page.mouse.up();
    expect(await range()).not.toBe(zoomed);
    await page.close();
  });

  it('takes a screenshot that is not blank', async () => {
    const page = await browser.newPage(1400, 900);
    await openTimeline(page, lesson2);
    const stats = imageStats(decodePng(await page.screenshot({ fullPage: true })));
    expect(stats.colours).toBeGreaterThan(50);
    expect(stats.inked).toBeGreaterThan(0.1);
    await page.close();
  });

  it('a 10-second capture of thousands of blocks renders zoomed out in bins (a bounded number of elements) and in detail when zoomed in', async () => {
    const run = await runScenarioText(LONG_CAPTURE, 'long.yaml');
    const file = join(dir, 'long.html');
    const html = exportHtml(run.events, { end: run.result.time });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, html);
    const page = await browser.newPage(1400, 900);
    await openTimeline(page, file);
    // Responsiveness is held structurally (a bounded number of drawn elements), not by a wall-clock limit.
    await page.evaluate(() => (globalThis as unknown as { iioTimeline: Api }).iioTimeline.fit());
    const transfers = run.events.filter((e) => e.kind === 'transfer').length;
    expect(transfers).toBeGreaterThan(2000);
    expect(await page.locator('#timeline .agg').count()).toBeGreaterThan(0);
    expect(await page.locator('#timeline [data-i]').count()).toBeLessThan(3000);
    await page.evaluate(() => (globalThis as unknown as { iioTimeline: Api }).iioTimeline.view(5e9, 5.02e9));
    expect(await page.locator('#timeline [data-kind="transfer"]').count()).toBeGreaterThan(3);
    await page.close();
  });

  it('renders a lesson picture (tools/render-lessons.ts) that is not blank', async () => {
    const png = await renderLesson(browser, 'scenarios/11-dma-error.yaml', dir, {
      pin: { kind: 'fence', name: 'fence 2:1' },
    });
    const stats = imageStats(decodePng(readFileSync(png)));
    expect(stats.colours).toBeGreaterThan(50);
    expect(stats.inked).toBeGreaterThan(0.1);
  });
});

/** Lesson 02's loop for 10 simulated seconds: 2400 blocks of 32 KiB through four DMABUFs. */
const LONG_CAPTURE = `title: ten seconds
abi: mainline
# The capture as it rendered before zcu102 became non-coherent: no cache-maintenance markers.
platform: { base: zcu102, coherentDma: true }
until: 11s
processes:
  - name: capture
    steps:
      - enable_channels: { device: sim-adc, channels: [in_voltage0, in_voltage1, in_voltage2, in_voltage3] }
      - buffer_fd: { device: sim-adc, as: buf }
      - foreach:
          var: b
          in: [d0, d1, d2, d3]
          steps: [{ heap_alloc: { size: 32768, as: $b, map: true } }, { attach: { buffer: buf, dmabuf: $b } }]
      - enable_buffer: { device: sim-adc }
      - foreach: { var: b, in: [d0, d1, d2, d3], steps: [{ enqueue: { buffer: buf, dmabuf: $b, bytes_used: 32768 } }] }
      - loop:
          count: 600
          steps:
            - foreach:
                var: b
                in: [d0, d1, d2, d3]
                steps:
                  - poll: { fds: [{ fd: $b, events: POLLIN }], timeout: 100 }
                    expect: { ret: 1 }
                  - sync: { dmabuf: $b, phase: start, dir: read }
                  - sync: { dmabuf: $b, phase: end, dir: read }
                  - enqueue: { buffer: buf, dmabuf: $b, bytes_used: 32768 }
      - enable_buffer: { device: sim-adc, on: false }
`;
