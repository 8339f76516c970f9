/**
 * The report page's script, run in the browser: it reads the page's data (the JSON of
 * core/report-data.ts in `#d2-data`) and draws every section — headline, checks, model
 * tests, per-class table and chart, confusion heat maps (click a cell: its items), flips,
 * `d2 review`'s label suspects (or the command that computes them), the feature-space maps
 * (hover: the item's thumbnail; drag a box: the items in it).
 *
 * Invariants:
 * - `reportClient` is self-contained: it is inlined into the page as its source text
 *   (`reportClient.toString()`), so it refers to nothing outside its own body but the
 *   browser's globals and the inlined chart libraries (`vegaEmbed`).
 * - It makes no network request: every picture is a `data:` URI from the page, every chart
 *   library is inlined, vega-embed's actions that open other sites are off.
 * - Text from the repository (paths, labels) reaches the page only as text nodes or
 *   attribute values, never as markup.
 * - When every chart is drawn, `document.body.dataset.ready` is '1' and `window.d2Report`
 *   exposes the data and the views (for tests and for curious users in the console); a chart
 *   that fails is reported on the page and on the console.
 */

// The browser's globals, as this file uses them (src/ is compiled without the DOM library).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;

/** Draw the page. Runs in the browser. */
export function reportClient(): void {
  const data: any = JSON.parse(document.getElementById('d2-data').textContent);
  const classes: string[] = data.classes;
  const items = data.items;
  const models: any[] = data.models;
  const n: number = items.path.length;
  const isDiff = data.kind === 'diff';
  const views: Record<string, any> = {};
  const pending: Promise<unknown>[] = [];

  // ---- small helpers -------------------------------------------------------------------
  function el(tag: string, attrs: Record<string, any> = {}, ...children: any[]): any {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const pts = (d: number): string => `${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d * 100).toFixed(2)} pts`;
  const trend = (d: number): string => (d > 1e-12 ? 'up' : d < -1e-12 ? 'down' : 'flat');
  const short = (m: any): string => (m.rev === null ? 'working tree' : m.rev) + (m.commit ? ` (${m.commit.slice(0, 7)})` : '');
  const labelOf = (k: number): string => (k < 0 ? '(not run)' : classes[k]!);
  const section = (id: string, title: string, help: string): any => {
    const s = el('section', { id }, el('h2', { text: title }), help ? el('p', { class: 'help', text: help }) : null);
    document.getElementById('main').append(s);
    return s;
  };
  const fail = (where: string, e: any): void => {
    console.error(`d2 report: ${where}: ${e && e.message ? e.message : e}`);
    const box = document.getElementById(where);
    if (box) box.append(el('p', { class: 'error', text: `This chart could not be drawn: ${e && e.message ? e.message : e}` }));
  };
  const embed = (host: any, name: string, spec: any, renderer: 'svg' | 'canvas'): Promise<any> => {
    const p = window.vegaEmbed(host, spec, { renderer, actions: { export: true, source: false, compiled: false, editor: false }, tooltip: true })
      .then((r: any) => { views[name] = r.view; return r.view; });
    pending.push(p.catch((e: any) => fail(host.id || 'main', e)));
    return p;
  };

  // ---- item cards and grids ------------------------------------------------------------
  function card(i: number): any {
    const truth = items.truth[i];
    const t = items.thumb[i];
    const img = t >= 0 ? el('img', { src: data.thumbs[t], alt: items.path[i] }) : el('div', { class: 'noimg', text: 'no picture' });
    const preds = models.map((m: any) => {
      const p = m.pred[i];
      const ok = p === truth;
      return el('div', { class: `pred ${p < 0 ? '' : ok ? 'ok' : 'bad'}` }, `${models.length > 1 ? `${m.name}: ` : ''}${labelOf(p)}${p < 0 ? '' : ` ${Math.round(m.conf[i] * 100)}%`}`);
    });
    return el('figure', { class: 'item', title: items.path[i], 'data-item': i },
      img,
      el('figcaption', {}, el('div', { class: 'truth', text: classes[truth] }), preds, el('div', { class: 'path', text: items.path[i] })));
  }
  function grid(host: any, list: number[], empty: string, limit = 60): void {
    host.replaceChildren();
    if (!list.length) {
      host.append(el('p', { class: 'empty', text: empty }));
      return;
    }
    const box = el('div', { class: 'grid' });
    host.append(box);
    let shown = 0;
    const more = el('button', { type: 'button', class: 'more' });
    const add = (): void => {
      const next = list.slice(shown, shown + limit);
      for (const i of next) box.append(card(i));
      shown += next.length;
      if (shown < list.length) {
        more.textContent = `Show ${Math.min(limit, list.length - shown)} more (${list.length - shown} not shown)`;
        if (!more.isConnected) host.append(more);
      } else more.remove();
    };
    more.addEventListener('click', add);
    add();
  }

  // ---- header and headline -------------------------------------------------------------
  const head = document.getElementById('headline');
  function metric(key: string, label: string, values: string[], delta?: { text: string; dir: string }, note?: string): any {
    return el('div', { class: 'metric', 'data-metric': key },
      el('div', { class: 'label', text: label }),
      el('div', { class: 'value', text: values.join(' → ') }),
      delta ? el('div', { class: `delta ${delta.dir}`, text: delta.text }) : null,
      note ? el('div', { class: 'note', text: note }) : null);
  }
  if (isDiff) {
    const d = data.diff;
    const [a, b] = models;
    const mt = (m: any): string => `${m.metrics.modelTests.passed} / ${m.metrics.modelTests.count}`;
    head.append(
      metric('accuracy', 'Accuracy', [pct(d.accuracy.before), pct(d.accuracy.after)], { text: pts(d.accuracy.delta), dir: trend(d.accuracy.delta) }, `on ${d.count.toLocaleString('en-US')} test items`),
      metric('macroF1', 'Macro-F1', [pct(d.macroF1.before), pct(d.macroF1.after)], { text: pts(d.macroF1.delta), dir: trend(d.macroF1.delta) }, 'average of the classes\' F1'),
      d.modelTests.count
        ? metric('modelTests', 'Model tests passing', [mt(a), mt(b)], { text: `${d.modelTests.broken.length} broken, ${d.modelTests.fixed.length} fixed`, dir: d.modelTests.broken.length ? 'down' : d.modelTests.fixed.length ? 'up' : 'flat' })
        : metric('modelTests', 'Model tests', ['none'], undefined, 'items whose label you insist on: dataset.modelTests in d2.yaml'),
      metric('flips', 'Items that changed', [`${d.fixed.length} fixed · ${d.broken.length} broken`], undefined, d.significance.pValue < 0.05 ? `McNemar p = ${d.significance.pValue.toPrecision(2)}: unlikely to be noise` : `McNemar p = ${d.significance.pValue.toPrecision(2)}: could be noise`),
    );
  } else {
    const m = models[0];
    head.append(
      metric('accuracy', 'Accuracy', [pct(m.metrics.accuracy)], undefined, `${m.metrics.correct.toLocaleString('en-US')} of ${m.metrics.count.toLocaleString('en-US')} test items right`),
      metric('macroF1', 'Macro-F1', [pct(m.metrics.macroF1)], undefined, 'average of the classes\' F1'),
      m.metrics.modelTests.count
        ? metric('modelTests', 'Model tests passing', [`${m.metrics.modelTests.passed} / ${m.metrics.modelTests.count}`])
        : metric('modelTests', 'Model tests', ['none'], undefined, 'items whose label you insist on: dataset.modelTests in d2.yaml'),
      metric('classes', 'Classes', [String(m.perClass.length)]),
    );
  }
  if (data.checks && data.checks.length) {
    const s = section('checks', 'Checks', 'The thresholds given with --fail-on.');
    s.append(el('ul', { class: 'checks' }, data.checks.map((c: any) => el('li', { class: c.failed ? 'bad' : 'ok' }, `${c.failed ? '✗' : '✓'} ${c.rule}: ${c.detail}`))));
  }

  // ---- model tests (broken first) ------------------------------------------------------
  if (isDiff && data.diff.modelTests.count) {
    const d = data.diff.modelTests;
    const s = section('model-tests', d.broken.length ? `Broken model tests (${d.broken.length})` : 'Model tests',
      'Model tests are items whose label you insist on. A broken one passed with model A and fails with model B: a regression even if accuracy rose.');
    const box = el('div');
    s.append(box);
    if (d.broken.length) grid(box, d.broken, '');
    else box.append(el('p', { class: 'good', text: `No model test broke. ${d.failingAfter} of ${d.count} fail with model B.` }));
    if (d.fixed.length) {
      s.append(el('h3', { text: `Fixed model tests (${d.fixed.length})` }));
      const fixed = el('div');
      s.append(fixed);
      grid(fixed, d.fixed, '');
    }
  } else if (!isDiff) {
    const m = models[0];
    const failing = [];
    for (let i = 0; i < n; i++) if (items.modelTest[i] && m.pred[i] >= 0 && m.pred[i] !== items.truth[i]) failing.push(i);
    if (m.metrics.modelTests.count) {
      const s = section('model-tests', failing.length ? `Failing model tests (${failing.length})` : 'Model tests', 'Model tests are items whose label you insist on.');
      const box = el('div');
      s.append(box);
      grid(box, failing, `All ${m.metrics.modelTests.count} model tests pass.`);
    }
  }

  // ---- per class -----------------------------------------------------------------------
  {
    const s = section('per-class', 'Per class', 'Precision: of the items the model called this class, the share that are. Recall: of the items of this class, the share the model found.');
    const table = el('table', { class: 'per-class' });
    const headRow = isDiff
      ? ['class', 'items', 'precision A → B', 'Δ', 'recall A → B', 'Δ', 'F1 A → B', 'Δ']
      : ['class', 'items', 'precision', 'recall', 'F1'];
    table.append(el('thead', {}, el('tr', {}, headRow.map((h) => el('th', { text: h })))));
    const body = el('tbody');
    if (isDiff) {
      for (const c of data.diff.perClass) {
        const cell = (x: any): any[] => [el('td', { text: `${pct(x.before)} → ${pct(x.after)}` }), el('td', { class: `delta ${trend(x.delta)}`, text: pts(x.delta) })];
        body.append(el('tr', {}, el('td', { text: c.label }), el('td', { text: String(c.support) }), cell(c.precision), cell(c.recall), cell(c.f1)));
      }
    } else {
      for (const c of models[0].perClass) body.append(el('tr', {}, el('td', { text: c.label }), el('td', { text: String(c.support) }), el('td', { text: pct(c.precision) }), el('td', { text: pct(c.recall) }), el('td', { text: pct(c.f1) })));
    }
    table.append(body);
    const chart = el('div', { id: 'per-class-chart', class: 'chart' });
    s.append(el('div', { class: 'two' }, el('div', { class: 'scroll' }, table), chart));
    const rows: any[] = [];
    for (const m of models) {
      for (const c of m.perClass) {
        if (c.support === 0) continue;
        rows.push({ class: c.label, metric: 'precision', value: c.precision, model: isDiff ? m.name : 'model' });
        rows.push({ class: c.label, metric: 'recall', value: c.recall, model: isDiff ? m.name : 'model' });
      }
    }
    const shown = classes.filter((c) => rows.some((r) => r.class === c));
    embed(chart, 'perClass', {
      data: { values: rows },
      facet: { column: { field: 'metric', type: 'nominal', title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
      spec: {
        width: 220, height: { step: isDiff ? 18 : 14 },
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'class', type: 'nominal', sort: shown, title: null },
          x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '%', title: null, grid: true } },
          ...(isDiff ? { yOffset: { field: 'model', sort: ['A', 'B'] } } : {}),
          color: { field: 'model', type: 'nominal', scale: isDiff ? { domain: ['A', 'B'], range: ['#9aa5b1', '#2563eb'] } : { range: ['#2563eb'] }, legend: isDiff ? { title: 'model', orient: 'top' } : null },
        },
      },
    }, 'svg');
  }

  // ---- confusion matrices --------------------------------------------------------------
  {
    const s = section('confusion', 'Confusion matrix', 'Rows: the label an item has. Columns: what the model said. The diagonal (blue) is right; every other cell (orange) is a kind of mistake, darker when more of the row falls there. Click a cell to see its items.');
    const row = el('div', { class: 'maps' });
    s.append(row);
    const cellBox = el('div', { id: 'cell-items' });
    s.append(cellBox);
    const shown = classes.filter((_, k) => models.some((m) => m.confusion[k].some((x: number) => x > 0) || m.confusion.some((r: number[]) => r[k]! > 0)));
    models.forEach((m, mi) => {
      const values: any[] = [];
      classes.forEach((t, ti) => {
        const total = m.confusion[ti].reduce((x: number, y: number) => x + y, 0);
        classes.forEach((p, pi) => {
          if (!shown.includes(t) || !shown.includes(p)) return;
          const c = m.confusion[ti][pi];
          values.push({ t, p, ti, pi, n: c, share: total ? c / total : 0, diag: ti === pi });
        });
      });
      const size = Math.max(220, Math.min(520, shown.length * 34));
      const host = el('div', { id: `confusion-${mi}`, class: 'chart' }, el('h3', { text: isDiff ? `Model ${m.name}: ${short(m)}` : short(m) }));
      const target = el('div', { class: 'vega-host' });
      host.append(target);
      row.append(host);
      const maxOff = Math.max(0.0001, ...values.filter((v) => !v.diag).map((v) => v.share));
      embed(target, `confusion${m.name}`, {
        data: { values },
        width: size, height: size,
        encoding: {
          x: { field: 'p', type: 'ordinal', sort: shown, title: 'the model said', axis: { labelAngle: -40, orient: 'top' } },
          y: { field: 't', type: 'ordinal', sort: shown, title: 'the label is' },
          tooltip: [{ field: 't', title: 'label' }, { field: 'p', title: 'model said' }, { field: 'n', title: 'items' }, { field: 'share', title: 'share of the label', format: '.1%' }],
        },
        layer: [
          { transform: [{ filter: 'datum.diag' }], mark: { type: 'rect', cursor: 'pointer', stroke: 'white' }, encoding: { color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, legend: null } } },
          { transform: [{ filter: '!datum.diag' }], mark: { type: 'rect', cursor: 'pointer', stroke: 'white' }, encoding: { color: { condition: { test: 'datum.n === 0', value: '#f7f8fa' }, field: 'share', type: 'quantitative', scale: { scheme: 'oranges', domain: [0, maxOff] }, legend: null } } },
          { mark: { type: 'text', fontSize: shown.length > 14 ? 8 : 11, cursor: 'pointer' }, encoding: { text: { field: 'n', type: 'quantitative' }, color: { condition: { test: 'datum.diag ? datum.share > 0.5 : datum.share > 0.6 * ' + maxOff, value: 'white' }, value: '#222' } } },
        ],
        resolve: { scale: { color: 'independent' } },
      }, 'svg').then((view: any) => {
        view.addEventListener('click', (_e: any, item: any) => {
          const d = item && item.datum;
          if (!d || d.ti === undefined) return;
          const list: number[] = [];
          for (let i = 0; i < n; i++) if (!items.modelTest[i] && items.truth[i] === d.ti && m.pred[i] === d.pi) list.push(i);
          list.sort((x, y) => m.conf[y] - m.conf[x]);
          cellBox.replaceChildren(el('h3', { text: `${isDiff ? `Model ${m.name}: ` : ''}label '${d.t}', the model said '${d.p}' — ${list.length} item${list.length === 1 ? '' : 's'}, most confident first` }));
          const box = el('div');
          cellBox.append(box);
          grid(box, list, 'No item in this cell.');
          cellBox.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
        });
      });
    });
  }

  // ---- flips ---------------------------------------------------------------------------
  if (isDiff) {
    const d = data.diff;
    const s = section('flips', 'Items that changed', 'Broken: model A was right and model B is wrong. Fixed: the other way round. Most confident (model B) first.');
    s.append(el('h3', { class: 'bad', text: `Broken: right → wrong (${d.broken.length})` }));
    const broken = el('div', { id: 'flips-broken' });
    s.append(broken);
    grid(broken, d.broken, 'No item went from right to wrong.');
    s.append(el('h3', { class: 'good', text: `Fixed: wrong → right (${d.fixed.length})` }));
    const fixed = el('div', { id: 'flips-fixed' });
    s.append(fixed);
    grid(fixed, d.fixed, 'No item went from wrong to right.');
  }

  // ---- label suspects (d2 review) -------------------------------------------------------
  if (data.suspects) {
    const sus = data.suspects;
    const r = sus.review;
    const s = section('suspects', r ? `Label suspects (${r.total})` : 'Label suspects',
      r ? `Items whose label is most likely wrong, from 'd2 review' of ${sus.rev === null ? 'the working tree' : sus.rev}: models that never saw an item predicted it out of sample (k-fold cross-validation), and confident learning flagged the ones whose label disagrees. Most likely wrong first. Fix a label with 'd2 label PATH --as LABEL', or keep it with 'd2 label --keep PATH'.` : '');
    if (!r) {
      s.append(el('p', { class: 'empty', 'data-review': 'none' }, `No review computed for ${sus.rev === null ? 'the working tree' : sus.rev}: run `, el('code', { text: sus.command }), ' to list the labels most likely wrong (the report never trains).'));
    } else {
      s.append(el('p', { class: 'help', text: `${r.total} suspect${r.total === 1 ? '' : 's'} among ${r.items.toLocaleString('en-US')} reviewed items${r.kept ? `, ${r.kept} kept by a reviewer (not shown)` : ''}${r.total > r.suspects.length ? `; the first ${r.suspects.length} shown ('${sus.command} --limit 0' lists all)` : ''}.` }));
      const box = el('div', { class: 'grid', id: 'suspect-items' });
      s.append(box);
      if (!r.suspects.length) box.append(el('p', { class: 'good', text: 'No label looks wrong.' }));
      for (const x of r.suspects) {
        const img = x.thumb >= 0 ? el('img', { src: data.thumbs[x.thumb], alt: x.path }) : el('div', { class: 'noimg', text: 'no picture' });
        box.append(el('figure', { class: 'item suspect', title: x.path, 'data-path': x.path },
          img,
          el('figcaption', {},
            el('div', { class: 'truth', text: `label: ${x.label}` }),
            el('div', { class: 'pred bad', text: `likely: ${x.suggested} ${Math.round(x.confidence * 100)}%` }),
            el('div', { class: 'path', text: x.path }))));
      }
      if (r.noise.length) {
        s.append(el('h3', { text: 'Estimated label noise per class pair' }));
        s.append(el('p', { class: 'help', text: 'Of the items labelled as the first class, the share (and number) estimated to really be the second. Largest first.' }));
        const table = el('table', { class: 'per-class', id: 'noise' });
        table.append(el('thead', {}, el('tr', {}, ['labelled', 'really', 'share', 'items'].map((h) => el('th', { text: h })))));
        table.append(el('tbody', {}, r.noise.map((nz: any) => el('tr', {}, el('td', { text: nz.given }), el('td', { text: nz.true }), el('td', { text: pct(nz.rate) }), el('td', { text: String(nz.count) })))));
        s.append(el('div', { class: 'scroll' }, table));
        if (r.noisePairs > r.noise.length) s.append(el('p', { class: 'empty', text: `…and ${r.noisePairs - r.noise.length} more pairs.` }));
      }
    }
  }

  // ---- feature-space maps --------------------------------------------------------------
  const mapped = models.filter((m) => m.map);
  if (mapped.length) {
    const method = mapped[0].map.method === 'umap' ? 'UMAP' : 'PCA';
    const s = section('map', 'Feature-space map',
      `Each dot is a test item, placed by what the model "sees" in it (its last hidden layer, flattened to 2-D with ${method}): items the model finds alike sit together. Colour is the label; a cross is an item the model gets wrong. Crosses inside another colour's cloud are items the model confuses with that class. Hover a dot to see the item; drag a box to list the items in it (double-click to clear); tick "only the mistakes" to fade the right answers.`);
    const row = el('div', { class: 'maps' });
    s.append(row);
    const hover = el('div', { id: 'hover', class: 'hover' });
    document.body.append(hover);
    const selBox = el('div', { id: 'selection' });
    s.append(selBox);
    const scheme = classes.length <= 10 ? 'tableau10' : 'tableau20';
    mapped.forEach((m) => {
      const values: any[] = [];
      for (let i = 0; i < n; i++) {
        const x = m.map.x[i];
        const y = m.map.y[i];
        if (x === null || y === null || m.pred[i] < 0) continue;
        values.push({ i, x, y, label: classes[items.truth[i]], outcome: m.pred[i] === items.truth[i] ? 'right' : 'wrong' });
      }
      const ex = m.map.explained;
      const axis = (k: number): string => (m.map.method === 'pca' ? `component ${k + 1}${ex ? ` (${pct(ex[k] ?? 0)} of the variance)` : ''}` : `UMAP ${k + 1}`);
      const host = el('div', { id: `map-${m.name}`, class: 'chart', 'data-points': values.length }, el('h3', { text: isDiff ? `Model ${m.name}: ${short(m)}` : short(m) }));
      const target = el('div', { class: 'vega-host' });
      host.append(target);
      row.append(host);
      embed(target, `map${m.name}`, {
        data: { values },
        width: isDiff ? 430 : 720, height: isDiff ? 400 : 520,
        params: [
          { name: 'hi', value: -1 },
          { name: 'onlyMistakes', value: false, bind: { input: 'checkbox', name: 'only the mistakes ' } },
        ],
        encoding: {
          x: { field: 'x', type: 'quantitative', title: axis(0), scale: { zero: false, nice: false, padding: 12 }, axis: { labels: false, ticks: false, grid: false } },
          y: { field: 'y', type: 'quantitative', title: axis(1), scale: { zero: false, nice: false, padding: 12 }, axis: { labels: false, ticks: false, grid: false } },
          color: { field: 'label', type: 'nominal', scale: { domain: classes, scheme }, legend: { title: 'label', symbolLimit: 40 } },
          shape: { field: 'outcome', type: 'nominal', scale: { domain: ['right', 'wrong'], range: ['circle', 'cross'] }, legend: { title: 'the model is' } },
        },
        // The right answers underneath, small; the mistakes on top, larger and outlined, so
        // they stay visible among 10,000 points.
        layer: [
          {
            params: [{ name: 'brush', select: { type: 'interval', encodings: ['x', 'y'], clear: 'dblclick' } }],
            transform: [{ filter: "datum.outcome === 'right'" }],
            mark: { type: 'point', filled: true },
            encoding: {
              size: { condition: { test: 'datum.i === hi', value: 260 }, value: values.length > 3000 ? 10 : values.length > 500 ? 26 : 60 },
              opacity: { condition: [{ test: 'onlyMistakes', value: 0.04 }, { param: 'brush', empty: true, value: 0.55 }], value: 0.08 },
              stroke: { condition: { test: 'datum.i === hi', value: 'black' }, value: null },
            },
          },
          {
            transform: [{ filter: "datum.outcome === 'wrong'" }],
            mark: { type: 'point', filled: true, strokeWidth: 0.6 },
            encoding: {
              size: { condition: { test: 'datum.i === hi', value: 320 }, value: values.length > 3000 ? 34 : values.length > 500 ? 60 : 110 },
              opacity: { condition: { param: 'brush', empty: true, value: 0.95 }, value: 0.15 },
              stroke: { condition: { test: 'datum.i === hi', value: 'black' }, value: '#333' },
            },
          },
        ],
      }, 'canvas').then((view: any) => {
        view.addEventListener('mouseover', (e: any, item: any) => {
          const d = item && item.datum;
          if (!d || d.i === undefined) return;
          hover.replaceChildren(card(d.i));
          hover.style.display = 'block';
          hover.style.left = `${Math.min(e.clientX + 16, window.innerWidth - 260)}px`;
          hover.style.top = `${Math.min(e.clientY + 16, window.innerHeight - 200)}px`;
          for (const [name, v] of Object.entries(views)) if (name.startsWith('map')) v.signal('hi', d.i).runAsync();
        });
        view.addEventListener('mouseout', () => {
          hover.style.display = 'none';
          for (const [name, v] of Object.entries(views)) if (name.startsWith('map')) v.signal('hi', -1).runAsync();
        });
        view.addSignalListener('brush', (_name: string, value: any) => {
          if (!value || !value.x || !value.y) {
            selBox.replaceChildren();
            return;
          }
          const [x0, x1] = [Math.min(...value.x), Math.max(...value.x)];
          const [y0, y1] = [Math.min(...value.y), Math.max(...value.y)];
          const list = values.filter((v) => v.x >= x0 && v.x <= x1 && v.y >= y0 && v.y <= y1).map((v) => v.i);
          const wrong = list.filter((i) => m.pred[i] !== items.truth[i]).length;
          selBox.replaceChildren(el('h3', { text: `Selected on model ${isDiff ? m.name : ''}'s map: ${list.length} item${list.length === 1 ? '' : 's'}, ${wrong} wrong` }));
          const box = el('div');
          selBox.append(box);
          grid(box, list.sort((p, q) => Number(m.pred[p] === items.truth[p]) - Number(m.pred[q] === items.truth[q]) || p - q), 'No item in the box.');
        });
      });
    });
  }

  // ---- data changes (diff) ---------------------------------------------------------------
  if (isDiff && data.data) {
    const c = data.data;
    const s = section('data', 'What changed in the data', '');
    const facts = [
      `${c.before.toLocaleString('en-US')} → ${c.after.toLocaleString('en-US')} items`,
      `${c.added} added`, `${c.removed} removed`, `${c.modified} modified`, `${c.renamed} renamed`, `${c.relabelled} relabelled`,
      `${c.moved} moved between splits`, `model tests ${c.modelTests.before} → ${c.modelTests.after}`,
    ];
    s.append(el('ul', { class: 'facts' }, facts.map((f) => el('li', { text: f }))));
    if (c.relabelledGroups.length) s.append(el('p', { text: `Relabelled: ${c.relabelledGroups.map((g: any) => `${g.from} → ${g.to} (${g.count})`).join(', ')}` }));
  }

  /** Drawn symbols of a view's main mark (what a map shows), from Vega's scene graph. */
  function countSymbols(view: any): number {
    let count = 0;
    const walk = (scene: any): void => {
      if (!scene) return;
      if (scene.marktype === 'symbol' && scene.role === 'mark') {
        count += scene.items.length;
        return;
      }
      for (const it of scene.items || []) for (const child of it.items || []) walk(child);
    };
    walk(view.scenegraph().root);
    return count;
  }

  window.d2Report = { data, views, countSymbols };
  Promise.all(pending).then(() => { document.body.dataset.ready = '1'; });
}
