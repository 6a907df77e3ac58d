/*
 * The timeline viewer inlined into every HTML export (src/trace/html.ts). Plain browser JavaScript, no
 * dependencies: it reads the model from the `timeline-data` script element and draws it as SVG. Wheel zooms
 * around the pointer, dragging pans, hovering shows an event's strace/ftrace lines, a click pins an event and
 * highlights its chain (ENQUEUE -> transfer -> IRQ -> fence -> wake-up). When zoomed out, a row holding more
 * events than pixels is drawn as bins (the most common kind of each few pixels), so a run of thousands of
 * blocks stays responsive. `window.iioTimeline` exposes the view for scripts and tests.
 */
(() => {
  const data = JSON.parse(document.getElementById('timeline-data').textContent);
  const S = data.s;
  const svg = document.getElementById('timeline');
  const tip = document.getElementById('tip');
  const rangeEl = document.getElementById('range');
  const hintEl = document.getElementById('hint');
  const LABEL_W = 240;
  const AXIS_H = 28;
  const PAD_R = 18;
  const LANE_PAD = 4;
  const BIN = 3;
  const MAX_ARROWS = 240;

  const items = data.items.map((a, i) => ({
    i,
    lane: a[0],
    row: a[1],
    start: a[2],
    end: a[3],
    instant: a[4] === 1,
    kind: S[a[5]],
    name: S[a[6]],
    title: S[a[7]],
    style: S[a[8]],
    parent: a[9],
    lines: a[10],
    args: a[11],
  }));

  /** Per lane and row: parent slices and instants sorted by start, and the longest slice. */
  const rows = data.lanes.map((l) => l.rows.map(() => ({ slices: [], instants: [], maxDur: 0 })));
  const kids = new Map();
  for (const it of items) {
    if (it.parent >= 0) {
      if (!kids.has(it.parent)) kids.set(it.parent, []);
      kids.get(it.parent).push(it);
      continue;
    }
    const r = rows[it.lane][it.row];
    if (it.instant) r.instants.push(it);
    else {
      r.slices.push(it);
      r.maxDur = Math.max(r.maxDur, it.end - it.start);
    }
  }
  for (const lane of rows)
    for (const r of lane) {
      r.slices.sort((a, b) => a.start - b.start || a.i - b.i);
      r.instants.sort((a, b) => a.start - b.start || a.i - b.i);
    }

  const chains = data.chains.map((c) => ({ items: c[0], links: c[1] }));
  const chainsOf = new Map();
  chains.forEach((c, n) => {
    for (const i of c.items) {
      if (!chainsOf.has(i)) chainsOf.set(i, []);
      chainsOf.get(i).push(n);
    }
  });
  const counters = data.counters.map((c) => ({ lane: c[0], name: c[1], points: c[2] }));

  const rowHeight = (group) => (group === 'process' ? 22 : group === 'counter' ? 34 : 16);
  const layout = [];
  let totalH = AXIS_H;
  for (const l of data.lanes) {
    const h = rowHeight(l.group);
    const head = l.rows.length > 1 || l.rows[0] ? 16 : 0;
    layout.push({ top: totalH, head, rowH: h, height: head + l.rows.length * h + 2 * LANE_PAD });
    totalH += layout[layout.length - 1].height;
  }
  totalH += 8;

  const state = { t0: data.start, t1: data.end, pinned: -1, width: 800, arrows: true, drag: null };
  const span = () => Math.max(1, state.t1 - state.t0);
  const plotW = () => Math.max(50, state.width - LABEL_W - PAD_R);
  const xOf = (t) => LABEL_W + ((t - state.t0) / span()) * plotW();
  const tOf = (x) => state.t0 + ((x - LABEL_W) / plotW()) * span();
  const rowTop = (lane, row) => layout[lane].top + LANE_PAD + layout[lane].head + row * layout[lane].rowH;

  const esc = (s) =>
    String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

  /** Seconds with nanoseconds, as strace -ttt prints simulated time. */
  function fmtSeconds(ns) {
    const s = Math.floor(ns / 1e9);
    return `${s}.${String(Math.round(ns - s * 1e9)).padStart(9, '0')} s`;
  }

  /** A duration in the unit that reads best. */
  function fmtDur(ns) {
    const a = Math.abs(ns);
    if (a >= 1e9) return `${+(ns / 1e9).toFixed(3)} s`;
    if (a >= 1e6) return `${+(ns / 1e6).toFixed(3)} ms`;
    if (a >= 1e3) return `${+(ns / 1e3).toFixed(3)} µs`;
    return `${ns} ns`;
  }

  function lowerBound(list, t) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].start < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Items of `list` (sorted by start) that overlap the view. */
  function visible(list, maxDur) {
    const out = [];
    const from = lowerBound(list, state.t0 - maxDur);
    for (let k = from; k < list.length; k++) {
      const it = list[k];
      if (it.start > state.t1) break;
      if (it.end >= state.t0) out.push(it);
    }
    return out;
  }

  function niceStep(target) {
    const p = 10 ** Math.floor(Math.log10(target));
    for (const m of [1, 2, 5, 10]) if (m * p >= target) return m * p;
    return 10 * p;
  }

  function drawAxis(out) {
    const step = niceStep(span() / Math.max(2, plotW() / 110));
    const first = Math.ceil(state.t0 / step) * step;
    out.push(`<g class="axis">`);
    for (let t = first; t <= state.t1; t += step) {
      const x = xOf(t).toFixed(1);
      out.push(`<line class="tick" x1="${x}" x2="${x}" y1="${AXIS_H - 6}" y2="${totalH}"/>`);
      out.push(
        `<text class="tick-label" x="${x}" y="${AXIS_H - 10}" text-anchor="middle">${fmtDur(t)}</text>`,
      );
    }
    out.push('</g>');
  }

  function drawLaneFrames(out) {
    data.lanes.forEach((l, n) => {
      const g = layout[n];
      out.push(
        `<rect class="lane-bg ${n % 2 ? 'b' : 'a'}" data-lane="${esc(l.id)}" data-group="${l.group}" x="0" y="${g.top}" width="${state.width}" height="${g.height}"/>`,
      );
      const multi = g.head > 0;
      const ty = multi ? g.top + LANE_PAD + 11 : g.top + g.height / 2 + 4;
      out.push(`<text class="lane-title" x="8" y="${ty}">${esc(l.title)}</text>`);
      if (multi)
        l.rows.forEach((r, k) => {
          const y = rowTop(n, k) + g.rowH / 2 + 4;
          out.push(`<text class="row-title" x="${LABEL_W - 8}" y="${y}" text-anchor="end">${esc(r)}</text>`);
        });
    });
  }

  /** Draws one slice and its children; records its box for arrows. */
  function drawSlice(it, geo, out) {
    const g = layout[it.lane];
    const x0 = Math.max(LABEL_W - 2, xOf(it.start));
    const x1 = Math.min(state.width, xOf(it.end));
    const w = Math.max(2, x1 - x0);
    const y = rowTop(it.lane, it.row) + 2;
    const h = g.rowH - 4;
    const attrs = `data-i="${it.i}" data-kind="${it.kind}" data-name="${esc(it.name)}"`;
    out.push(
      `<rect class="item ${it.style}" ${attrs} x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}"/>`,
    );
    geo.set(it.i, { x0, x1: x0 + w, y: y + h / 2 });
    for (const k of kids.get(it.i) ?? []) {
      if (k.end < state.t0 || k.start > state.t1) continue;
      const kx0 = Math.max(x0, xOf(k.start));
      const kw = Math.max(1.5, Math.min(x1, xOf(k.end)) - kx0);
      out.push(
        `<rect class="item ${k.style}" data-i="${k.i}" data-kind="${k.kind}" data-name="${esc(k.name)}" x="${kx0.toFixed(1)}" y="${y}" width="${kw.toFixed(1)}" height="${h}"/>`,
      );
      geo.set(k.i, { x0: kx0, x1: kx0 + kw, y: y + h / 2 });
    }
    if (it.kind === 'fence' && !it.style.includes('fence-pending')) {
      const mx = xOf(it.end);
      if (mx >= LABEL_W && mx <= state.width) {
        const cy = y + h / 2;
        const err = it.style.includes('fence-error') ? ' err' : '';
        out.push(`<path class="fence-mark${err}" d="M${mx.toFixed(1)} ${cy - 6}l6 6l-6 6l-6 -6z"/>`);
      }
    }
    const label = it.name;
    if (w > label.length * 6.3 + 8) {
      const dark =
        it.kind === 'syscall' ? ' halo' : /blk-user|blk-queued|wakeup|fence/.test(it.style) ? ' dark' : '';
      const lx = Math.max(x0, LABEL_W) + 4;
      out.push(
        `<text class="slice-label${dark}" x="${lx.toFixed(1)}" y="${y + h / 2 + 4}">${esc(label)}</text>`,
      );
    }
  }

  function drawInstant(it, geo, out) {
    const x = xOf(it.instant ? it.start : it.end);
    const y = rowTop(it.lane, it.row) + 1;
    const attrs = `data-i="${it.i}" data-kind="${it.kind}" data-name="${esc(it.name)}"`;
    const d =
      it.kind === 'exit'
        ? `M${x - 5} ${y}h10v10h-10z`
        : it.kind === 'finding'
          ? `M${x} ${y}l7 0l-7 13l-7 -13z`
          : `M${x - 5} ${y}h10l-5 9z`;
    out.push(`<path class="item ${it.style}" ${attrs} d="${d}"/>`);
    geo.set(it.i, { x0: x, x1: x, y: y + 5 });
  }

  /** Coverage of each BIN-pixel bin by style; time a child (a sleep) covers counts for it, not its parent. */
  function binCoverage(list, withKids) {
    const nb = Math.ceil(plotW() / BIN) + 1;
    const cov = new Array(nb);
    const add = (style, a, b, weight) => {
      const x0 = Math.max(0, xOf(a) - LABEL_W);
      const x1 = Math.min(plotW(), Math.max(x0, xOf(b) - LABEL_W));
      for (let k = Math.floor(x0 / BIN); k <= Math.floor(x1 / BIN) && k < nb; k++) {
        const part = Math.max(0, Math.min(x1, (k + 1) * BIN) - Math.max(x0, k * BIN)) + 0.001;
        cov[k] ??= new Map();
        cov[k].set(style, (cov[k].get(style) ?? 0) + part * weight);
      }
    };
    for (const it of list) {
      add(it.style, it.start, it.end, 1);
      if (withKids)
        for (const k of kids.get(it.i) ?? []) {
          add(k.style, k.start, k.end, 1);
          add(it.style, k.start, k.end, -1);
        }
    }
    return cov;
  }

  /** A bin's mix: up to three styles with their share, rounded to eighths so that equal bins merge. */
  function binMix(m) {
    if (!m) return [];
    const parts = [...m].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const total = parts.reduce((t, [, v]) => t + v, 0);
    return parts
      .slice(0, 3)
      .map(([st, v]) => [st, Math.round((v / total) * 8) / 8])
      .filter(([, q], n) => q > 0 || n === 0);
  }

  /**
   * A row holding more events than pixels, drawn as bins of BIN pixels: each bin stacks the styles that
   * cover it in proportion (ticks: instants, the most common kind only, as a short mark); equal neighbouring
   * bins merge into one run.
   */
  function drawBins(list, lane, row, out, ticks) {
    const g = layout[lane];
    const cov = binCoverage(list, !ticks);
    const y = rowTop(lane, row) + 2;
    const h = ticks ? 5 : g.rowH - 4;
    let runStart = -1;
    let runMix = [];
    let runKey = '';
    const flush = (k) => {
      if (runStart < 0) return;
      const x = LABEL_W + runStart * BIN;
      const spec = `${lane},${row},${Math.floor(tOf(x))},${Math.ceil(tOf(LABEL_W + k * BIN))}`;
      const sum = runMix.reduce((t, [, q]) => t + q, 0) || 1;
      let top = y;
      for (const [st, q] of runMix) {
        const hh = ticks ? h : (h * q) / sum;
        out.push(
          `<rect class="agg ${st}" data-agg="${spec}" x="${x}" y="${top.toFixed(1)}" width="${(k - runStart) * BIN}" height="${hh.toFixed(1)}"/>`,
        );
        top += hh;
        if (ticks) break;
      }
      runStart = -1;
    };
    for (let k = 0; k < cov.length; k++) {
      const mix = binMix(cov[k]);
      const key = mix.map(([st, q]) => `${st}:${ticks ? 1 : q}`).join('|');
      if (key !== runKey || !key) flush(k);
      if (key && runStart < 0) {
        runStart = k;
        runMix = mix;
      }
      runKey = key;
    }
    flush(cov.length);
  }

  /** A step counter, scaled to the values it takes in the view so that each step shows. */
  function drawCounter(c, out) {
    const g = layout[c.lane];
    const top = rowTop(c.lane, 0) + 3;
    const h = g.rowH - 6;
    const p = c.points;
    const valueAt = (t) => {
      let v = 0;
      for (let k = 0; k < p.length && p[k] <= t; k += 2) v = p[k + 1];
      return v;
    };
    let lo = valueAt(state.t0);
    let hi = lo;
    for (let k = 0; k < p.length; k += 2)
      if (p[k] > state.t0 && p[k] <= state.t1) {
        lo = Math.min(lo, p[k + 1]);
        hi = Math.max(hi, p[k + 1]);
      }
    if (lo === hi) lo = 0;
    const yOf = (v) => top + h - (hi > lo ? ((v - lo) / (hi - lo)) * h : 0);
    const pts = [`${LABEL_W},${yOf(valueAt(state.t0)).toFixed(1)}`];
    let last = valueAt(state.t0);
    for (let k = 0; k < p.length; k += 2) {
      if (p[k] <= state.t0 || p[k] > state.t1) continue;
      const x = xOf(p[k]).toFixed(1);
      pts.push(`${x},${yOf(last).toFixed(1)}`, `${x},${yOf(p[k + 1]).toFixed(1)}`);
      last = p[k + 1];
    }
    pts.push(`${state.width},${yOf(last).toFixed(1)}`, `${state.width},${top + h}`, `${LABEL_W},${top + h}`);
    out.push(`<polygon class="counter-line" points="${pts.join(' ')}"/>`);
    const gained = last - valueAt(state.t0);
    out.push(
      `<text class="counter-label" x="${LABEL_W + 6}" y="${top + 11}">${esc(c.name)}: ${last}${gained ? ` (+${gained} in view)` : ''}</text>`,
    );
  }

  function highlighted() {
    const set = new Set();
    const hlChains = new Set();
    if (state.pinned < 0) return { set, hlChains };
    const it = items[state.pinned];
    const seeds = [it.i, ...(kids.get(it.i) ?? []).map((k) => k.i)];
    if (it.parent >= 0) seeds.push(it.parent);
    for (const s of seeds) for (const n of chainsOf.get(s) ?? []) hlChains.add(n);
    for (const n of hlChains)
      for (const i of chains[n].items) {
        set.add(i);
        if (items[i].parent >= 0) set.add(items[i].parent);
      }
    set.add(it.i);
    return { set, hlChains };
  }

  function drawArrows(geo, hl, out) {
    const drawn = [];
    chains.forEach((c, n) => {
      for (const l of c.links) {
        const a = geo.get(l[0]);
        const b = geo.get(l[1]);
        if (!a || !b) continue;
        drawn.push([l, n, a, b]);
      }
    });
    if (drawn.length > MAX_ARROWS && state.pinned < 0) return drawn.length;
    for (const [l, n, a, b] of drawn) {
      if (drawn.length > MAX_ARROWS && !hl.hlChains.has(n)) continue;
      const x1 = Math.min(Math.max(xOf(l[2]), a.x0), a.x1);
      const x2 = Math.min(Math.max(xOf(l[3]), b.x0), b.x1);
      const dx = Math.max(18, Math.abs(x2 - x1) / 2);
      const cls = hl.hlChains.has(n) ? 'arrow hl' : 'arrow';
      const d = `M${x1.toFixed(1)} ${a.y}C${(x1 + dx).toFixed(1)} ${a.y},${(x2 - dx).toFixed(1)} ${b.y},${x2.toFixed(1)} ${b.y}`;
      out.push(
        `<path class="${cls}" data-from="${l[0]}" data-to="${l[1]}" data-chain="${n}" d="${d}" marker-end="url(#${hl.hlChains.has(n) ? 'head-hl' : 'head'})"/>`,
      );
    }
    return 0;
  }

  const DEFS =
    '<defs><clipPath id="plot"><rect x="' +
    (LABEL_W - 2) +
    '" y="0" width="100000" height="100000"/></clipPath>' +
    '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="6" height="6" fill="#eceff1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#78909c" stroke-width="2.5"/></pattern>' +
    '<pattern id="hatch-red" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="6" height="6" fill="#ffebee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c62828" stroke-width="2.5"/></pattern>' +
    '<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
    '<path d="M0 0L10 5L0 10z" fill="#37474f"/></marker>' +
    '<marker id="head-hl" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
    '<path d="M0 0L10 5L0 10z" fill="#e65100"/></marker></defs>';

  function render() {
    state.width = Math.max(600, svg.parentElement.clientWidth);
    const out = [DEFS];
    drawLaneFrames(out);
    drawAxis(out);
    out.push('<g clip-path="url(#plot)">');
    const geo = new Map();
    let aggregated = 0;
    rows.forEach((laneRows, lane) => {
      laneRows.forEach((r, row) => {
        const list = visible(r.slices, r.maxDur);
        if (list.length > plotW() / 4) {
          aggregated += list.length;
          drawBins(list, lane, row, out, false);
        } else for (const it of list) drawSlice(it, geo, out);
        const inst = visible(r.instants, 0);
        if (inst.length > plotW() / 6) {
          aggregated += inst.length;
          drawBins(inst, lane, row, out, true);
        } else for (const it of inst) drawInstant(it, geo, out);
      });
    });
    for (const c of counters) drawCounter(c, out);
    const hl = highlighted();
    const skipped = state.arrows ? drawArrows(geo, hl, out) : 0;
    out.push('</g>');
    svg.setAttribute('width', state.width);
    svg.setAttribute('height', totalH);
    svg.setAttribute('viewBox', `0 0 ${state.width} ${totalH}`);
    svg.innerHTML = out.join('');
    svg.classList.toggle('dim', state.pinned >= 0);
    for (const i of hl.set) {
      svg.querySelector(`[data-i="${i}"]`)?.classList.add('hl');
      for (const k of kids.get(i) ?? []) svg.querySelector(`[data-i="${k.i}"]`)?.classList.add('hl-kid');
    }
    if (state.pinned >= 0) svg.querySelector(`[data-i="${state.pinned}"]`)?.classList.add('pinned');
    rangeEl.textContent = `${fmtSeconds(Math.round(state.t0))} – ${fmtSeconds(Math.round(state.t1))} (${fmtDur(Math.round(span()))} shown)`;
    hintEl.textContent =
      (aggregated ? `${aggregated} events drawn as bins: zoom in to see each. ` : '') +
      (skipped ? `${skipped} arrows hidden: zoom in or click an event.` : '');
    api.rendered++;
  }

  let frame = 0;
  function schedule() {
    if (!frame)
      frame = requestAnimationFrame(() => {
        frame = 0;
        render();
      });
  }

  function setView(t0, t1) {
    const full = data.end - data.start;
    const min = 50;
    let a = t0;
    let b = t1;
    if (b - a < min) {
      const m = (a + b) / 2;
      a = m - min / 2;
      b = m + min / 2;
    }
    const margin = full * 0.05;
    if (b - a > full + 2 * margin) {
      a = data.start - margin;
      b = data.end + margin;
    }
    state.t0 = a;
    state.t1 = b;
    schedule();
  }

  function zoomAt(x, factor) {
    const t = tOf(Math.min(Math.max(x, LABEL_W), LABEL_W + plotW()));
    setView(t - (t - state.t0) * factor, t + (state.t1 - t) * factor);
  }

  function tipHtml(it) {
    const when = it.instant
      ? `at ${fmtSeconds(it.start)}`
      : `${fmtSeconds(it.start)} → ${fmtSeconds(it.end)} (${fmtDur(it.end - it.start)})`;
    const lines = it.lines.length ? `<pre>${it.lines.map(esc).join('\n')}</pre>` : '';
    const args = Object.entries(it.args)
      .filter(([k]) => k !== 'strace' && k !== 'ftrace' && k !== 'log')
      .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`)
      .join('');
    return `<b>${esc(it.title)}</b><div>${when}</div>${lines}${args ? `<table>${args}</table>` : ''}${sameSpot(it)}`;
  }

  /** Other events drawn on the same pixels as `it` (calls of no duration at one instant): named, to zoom for. */
  function sameSpot(it) {
    if (it.parent >= 0 || xOf(it.end) - xOf(it.start) > 3) return '';
    const r = rows[it.lane][it.row];
    const x = xOf(it.start);
    const near = [...r.slices, ...r.instants].filter((o) => o !== it && Math.abs(xOf(o.start) - x) < 3);
    if (!near.length) return '';
    const names = near.slice(0, 8).map((o) => esc(o.name));
    const more = near.length > 8 ? `, … (${near.length} in all)` : '';
    return `<div class="hint">also here: ${names.join(', ')}${more}${near.some((o) => o.start !== it.start) ? ' (zoom in to separate them)' : ' (same instant)'}</div>`;
  }

  function aggHtml(spec) {
    const [lane, row, a, b] = spec.split(',').map(Number);
    const r = rows[lane][row];
    const counts = new Map();
    let n = 0;
    for (const it of [...r.slices, ...r.instants])
      if (it.end >= a && it.start <= b) {
        n++;
        counts.set(it.name, (counts.get(it.name) ?? 0) + 1);
      }
    const top = [...counts]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 6)
      .map(([k, v]) => `${esc(k)} ×${v}`)
      .join(', ');
    return `<b>${n} events, ${fmtSeconds(a)} → ${fmtSeconds(b)}</b><div>${top}</div><div class="hint">click or wheel to zoom in</div>`;
  }

  function placeTip(ev) {
    const pad = 14;
    const r = tip.getBoundingClientRect();
    let x = ev.clientX + pad;
    let y = ev.clientY + pad;
    if (x + r.width > innerWidth) x = Math.max(4, ev.clientX - r.width - pad);
    if (y + r.height > innerHeight) y = Math.max(4, ev.clientY - r.height - pad);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
  }

  function pin(i, ev) {
    state.pinned = i;
    tip.innerHTML = `<span class="close" title="unpin (Esc)">✕</span>${tipHtml(items[i])}`;
    tip.classList.add('pinned-tip');
    tip.hidden = false;
    if (ev) placeTip(ev);
    else {
      tip.style.left = '16px';
      tip.style.top = `${Math.max(8, innerHeight - tip.getBoundingClientRect().height - 16)}px`;
    }
    render();
  }

  function unpin() {
    state.pinned = -1;
    tip.hidden = true;
    tip.classList.remove('pinned-tip');
    render();
  }

  svg.addEventListener('mousedown', (ev) => {
    state.drag = { x: ev.clientX, t0: state.t0, t1: state.t1, moved: false };
  });
  addEventListener('mousemove', (ev) => {
    const d = state.drag;
    if (d) {
      const dx = ev.clientX - d.x;
      if (Math.abs(dx) > 3) {
        d.moved = true;
        svg.classList.add('dragging');
      }
      if (d.moved) {
        const dt = (dx / plotW()) * (d.t1 - d.t0);
        setView(d.t0 - dt, d.t1 - dt);
      }
      return;
    }
    if (state.pinned >= 0) return;
    const el = ev.target.closest?.('[data-i],[data-agg]');
    if (!el || !svg.contains(el)) {
      tip.hidden = true;
      return;
    }
    tip.innerHTML = el.dataset.i ? tipHtml(items[Number(el.dataset.i)]) : aggHtml(el.dataset.agg);
    tip.hidden = false;
    placeTip(ev);
  });
  addEventListener('mouseup', (ev) => {
    const d = state.drag;
    state.drag = null;
    svg.classList.remove('dragging');
    if (!d || d.moved) return;
    const el = ev.target.closest?.('[data-i],[data-agg]');
    if (el?.dataset.i) pin(Number(el.dataset.i), ev);
    else if (el?.dataset.agg) {
      const [, , a, b] = el.dataset.agg.split(',').map(Number);
      setView(a - (b - a) * 2, b + (b - a) * 2);
    } else if (svg.contains(ev.target) && state.pinned >= 0) unpin();
  });
  tip.addEventListener('click', (ev) => {
    if (ev.target.classList.contains('close')) unpin();
  });
  svg.addEventListener(
    'wheel',
    (ev) => {
      ev.preventDefault();
      const rect = svg.getBoundingClientRect();
      if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
        const dt = ((ev.deltaX || ev.deltaY) / plotW()) * span();
        setView(state.t0 + dt, state.t1 + dt);
      } else zoomAt(ev.clientX - rect.left, 1.2 ** (ev.deltaY / 100));
    },
    { passive: false },
  );
  svg.addEventListener('dblclick', (ev) => zoomAt(ev.clientX - svg.getBoundingClientRect().left, 0.5));
  addEventListener('keydown', (ev) => {
    const mid = LABEL_W + plotW() / 2;
    if (ev.key === '+' || ev.key === '=') zoomAt(mid, 0.5);
    else if (ev.key === '-') zoomAt(mid, 2);
    else if (ev.key === '0') setView(data.start, data.end);
    else if (ev.key === 'ArrowLeft') setView(state.t0 - span() / 4, state.t1 - span() / 4);
    else if (ev.key === 'ArrowRight') setView(state.t0 + span() / 4, state.t1 + span() / 4);
    else if (ev.key === 'Escape') unpin();
  });
  for (const b of document.querySelectorAll('#toolbar button'))
    b.addEventListener('click', () => {
      const act = b.dataset.act;
      if (act === 'fit') setView(data.start, data.end);
      else zoomAt(LABEL_W + plotW() / 2, act === 'in' ? 0.5 : 2);
    });
  document.getElementById('arrows').addEventListener('change', (ev) => {
    state.arrows = ev.target.checked;
    render();
  });
  addEventListener('resize', schedule);

  const api = {
    data,
    items,
    chains,
    rendered: 0,
    view: (t0, t1) => {
      state.t0 = t0;
      state.t1 = t1;
      render();
    },
    fit: () => {
      state.t0 = data.start;
      state.t1 = data.end;
      render();
    },
    pin: (i) => pin(i, null),
    pinned: () => state.pinned,
    unpin,
    find: (pred) => items.filter(pred).map((it) => it.i),
  };
  window.iioTimeline = api;

  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has('t0') && hash.has('t1')) {
    state.t0 = Number(hash.get('t0'));
    state.t1 = Number(hash.get('t1'));
  }
  render();
  if (hash.has('pin')) pin(Number(hash.get('pin')), null);
  api.ready = true;
})();
