import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.ts';
import { exportHtml } from '../../src/trace/html.ts';
import { runLesson } from './lessons.ts';

const dir = mkdtempSync(join(tmpdir(), 'iio-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

/** The JSON the viewer reads. */
function dataOf(html: string): {
  title: string;
  end: number;
  lanes: { id: string; rows: string[] }[];
  s: string[];
  items: unknown[][];
  chains: unknown[];
} {
  const m = /<script type="application\/json" id="timeline-data">(.*?)<\/script>/s.exec(html);
  return JSON.parse(m![1]!);
}

describe('HTML timeline', () => {
  it('iio-sim run --html writes one self-contained file: no network, no external resource', async () => {
    const out = join(dir, 'lesson2.html');
    const r = await cli(['run', '--quiet', '--html', out, 'scenarios/02-four-dmabufs.yaml']);
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).not.toMatch(/<link\b|\bsrc=|url\(\s*['"]?(https?:|\/\/)|@import/i);
    // The only URL is the SVG namespace, which is a name, not a request.
    expect(html.replaceAll('http://www.w3.org/2000/svg', '')).not.toMatch(/https?:\/\//);
    expect(html).toContain('<title>02-four-dmabufs.yaml: The same with four DMABUFs</title>');
    expect(html).toContain('<p class="sub">profile mainline, seed 1</p>');
    const data = dataOf(html);
    expect(data.lanes.map((l) => l.id)).toEqual([
      'proc:100',
      'dma:sim-adc-dma',
      'lost:sim-adc-dma',
      'blocks:iio:device0',
      'fences',
      'kernel',
    ]);
    expect(data.s).toContain('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL');
    expect(data.chains).toHaveLength(17);
  });

  it('the same scenario and seed give a byte-identical file', async () => {
    const a = join(dir, 'a.html');
    const b = join(dir, 'b.html');
    expect((await cli(['run', '--quiet', '--html', a, 'scenarios/03-dmabufs-vs-latency.yaml'])).code).toBe(0);
    expect((await cli(['run', '--quiet', '--html', b, 'scenarios/03-dmabufs-vs-latency.yaml'])).code).toBe(0);
    const ha = readFileSync(a, 'utf8');
    expect(ha.length).toBeGreaterThan(50_000);
    expect(readFileSync(b, 'utf8')).toBe(ha);
  });

  it('escapes the title, the description and the data so no text can close the script', async () => {
    const run = await runLesson('09-watermark-never-wakes.yaml');
    const html = exportHtml(run.events, {
      title: 'a <b>bold</b> & "quoted" title',
      description: 'line one\n</script><script>alert(1)</script>',
      end: run.result.time,
    });
    expect(html).toContain('<h1>a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; title</h1>');
    expect(html).toContain(
      '<p class="desc">line one\n&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(dataOf(html).end).toBe(run.result.time);
  });

  it('--html to a path that cannot be written is exit 2 with a located message', async () => {
    const out = join(dir, 'no-such-dir', 'x.html');
    const r = await cli(['run', '--quiet', '--html', out, 'scenarios/01-first-capture-read.yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`${out}:1:1: cannot write the HTML timeline (ENOENT)`]);
  });
});

describe('the iio-dmabuf-sim/trace export', () => {
  it('gives the recorder and the HTML and Perfetto exporters', async () => {
    const trace = await import('iio-dmabuf-sim/trace');
    expect(typeof trace.recordTrace).toBe('function');
    expect(typeof trace.exportHtml).toBe('function');
    expect(typeof trace.exportPerfetto).toBe('function');
    expect(typeof trace.buildModel).toBe('function');
    expect(trace.shortRequest('IIO_BUFFER_DMABUF_ENQUEUE_IOCTL')).toBe('ENQUEUE');
  });
});
