/**
 * One self-contained HTML file per run: the timeline model (see `model.ts`) as JSON, the viewer's script and
 * style inline, no network access. Lanes for each process (syscalls named by request, time asleep hatched,
 * signals and exits), each DMA channel (transfers, IRQs, errors, lost data), each buffer's block queue
 * (queued, DMA, IRQ pending, done, with the user), the fences, kernel instants and contract findings; arrows
 * ENQUEUE -> transfer -> IRQ -> fence -> wake-up. The same events and seed give a byte-identical file.
 */
import { readFileSync } from 'node:fs';
import { buildModel, type ModelItem, type TimelineModel } from './model.ts';
import type { TimelineEvent } from './timeline.ts';

/** Options of {@link exportHtml}. */
export interface HtmlOptions {
  /** The page's title (default `iio-dmabuf-sim timeline`). */
  title?: string;
  /** One line under the title (profile, seed). */
  subtitle?: string;
  /** A paragraph under it (a lesson's description). */
  description?: string;
  /** End of the run, ns: calls still blocked are drawn to here. Default: the last time recorded. */
  end?: number;
}

const VIEWER_JS = new URL('./html-viewer.js', import.meta.url);
const VIEWER_CSS = new URL('./html-viewer.css', import.meta.url);

/** Text for an HTML element or attribute. */
function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** The model as the viewer reads it: strings interned, items as arrays. */
function viewerData(m: TimelineModel, o: HtmlOptions): unknown {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const s = (x: string) => {
    let i = index.get(x);
    if (i === undefined) {
      i = strings.length;
      strings.push(x);
      index.set(x, i);
    }
    return i;
  };
  const item = (it: ModelItem) => [
    it.lane,
    it.row,
    it.start,
    it.end,
    it.instant ? 1 : 0,
    s(it.kind),
    s(it.name),
    s(it.title),
    s(it.style),
    it.parent ?? -1,
    it.lines,
    it.args,
  ];
  const items = m.items.map(item);
  return {
    title: o.title ?? 'iio-dmabuf-sim timeline',
    start: m.start,
    end: m.end,
    lanes: m.lanes.map((l) => ({ id: l.id, group: l.group, title: l.title, rows: l.rows })),
    s: strings,
    items,
    chains: m.chains.map((c) => [c.items, c.links.map((l) => [l.from, l.to, l.fromTime, l.toTime])]),
    counters: m.counters.map((c) => [c.lane, c.name, c.points.flat()]),
  };
}

const LEGEND: readonly [string, string][] = [
  ['#ef6c00', 'ENQUEUE'],
  ['#00897b', 'SYNC'],
  ['#5c6bc0', 'poll / read'],
  ['#90a4ae', 'other syscall'],
  ['repeating-linear-gradient(45deg,#78909c 0 2px,#eceff1 2px 5px)', 'asleep in the call'],
  ['repeating-linear-gradient(45deg,#c62828 0 2px,#ffebee 2px 5px)', 'blocked to the end'],
  ['#fdd835', 'wake-up latency'],
  ['#1e88e5', 'DMA transfer'],
  ['#d32f2f', 'DMA error / lost data'],
  ['#ff8f00', 'transfer aborted'],
  ['#8e24aa', 'IRQ'],
  ['#ffca28', 'block queued'],
  ['#43a047', 'block done'],
  ['#a5d6a7', 'block with the user'],
  ['#80cbc4', 'fence, init to signal (◆)'],
];

/** Serialises timeline events as a self-contained HTML page with an interactive SVG timeline. */
export function exportHtml(events: readonly TimelineEvent[], options: HtmlOptions = {}): string {
  const model = buildModel(events, options.end === undefined ? {} : { end: options.end });
  const json = JSON.stringify(viewerData(model, options)).replace(/</g, '\\u003c');
  const title = options.title ?? 'iio-dmabuf-sim timeline';
  const legend = LEGEND.map(([c, t]) => `<span><i style="background:${c}"></i>${escapeHtml(t)}</span>`).join(
    '',
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="iio-dmabuf-sim">
<title>${escapeHtml(title)}</title>
<style>
${readFileSync(VIEWER_CSS, 'utf8')}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${options.subtitle ? `<p class="sub">${escapeHtml(options.subtitle)}</p>\n` : ''}${options.description ? `<p class="desc">${escapeHtml(options.description.trim())}</p>\n` : ''}<div id="toolbar"><button data-act="fit" title="whole run (0)">Fit</button><button data-act="in" title="zoom in (+)">+</button><button data-act="out" title="zoom out (-)">−</button><label><input type="checkbox" id="arrows" checked> arrows</label><span id="range"></span><span class="hint">wheel: zoom · drag: pan · hover: details · click: pin and highlight the chain</span></div>
<div id="legend">${legend}</div>
<div id="hint" class="hint"></div>
</header>
<main id="view"><svg id="timeline" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(title)}"></svg></main>
<div id="tip" hidden></div>
<script type="application/json" id="timeline-data">${json}</script>
<script>
${readFileSync(VIEWER_JS, 'utf8')}</script>
</body>
</html>
`;
}
