/**
 * The report page: one self-contained HTML file — styles, the chart libraries, the page's
 * script and its data (thumbnails included, as `data:` URIs) all inline — that opens offline
 * from disk, with no server and no request to any other site.
 *
 * Invariants:
 * - Text from the repository enters the markup only escaped (`escapeHtml`) or inside the
 *   JSON data block, whose `<` are written `\u003c`, so no path or label can end a `<script>`
 *   or open a tag.
 * - The page declares a Content-Security-Policy that allows no connection, frame or remote
 *   source: even a bug in a library cannot make it fetch anything.
 */
import type { ReportData } from '../core/report-data.js';
import { readChartLibraries } from './assets.js';
import { reportClient } from './client.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `
:root { --fg: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --good: #16794c; --bad: #c81e1e; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #1f2933; color: #fff; padding: 18px 28px 14px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .sub { color: #cbd2d9; font-size: 13px; }
header code { color: #fff; }
main { max-width: 1320px; margin: 0 auto; padding: 18px 28px 48px; }
#headline { display: flex; flex-wrap: wrap; gap: 14px; margin-bottom: 8px; }
.metric { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 210px; flex: 1; }
.metric .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.metric .value { font-size: 24px; font-weight: 600; margin: 2px 0; }
.metric .note { color: var(--muted); font-size: 12px; }
.delta { font-weight: 600; }
.delta.up { color: var(--good); } .delta.down { color: var(--bad); } .delta.flat { color: var(--muted); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px 18px; margin-top: 16px; }
section h2 { margin: 0 0 4px; font-size: 18px; }
section h3 { font-size: 14px; margin: 14px 0 6px; }
h3.bad { color: var(--bad); } h3.good { color: var(--good); }
.help { color: var(--muted); margin: 0 0 10px; max-width: 900px; }
.good { color: var(--good); } .bad { color: var(--bad); } .empty { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
.two { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.scroll { overflow-x: auto; }
table.per-class { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.per-class th, table.per-class td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
table.per-class th:first-child, table.per-class td:first-child { text-align: left; }
table.per-class th { color: var(--muted); font-weight: 600; font-size: 12px; }
.maps { display: flex; flex-wrap: wrap; gap: 24px; }
.chart h3 { margin-top: 4px; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
figure.item { margin: 0; width: 118px; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px; font-size: 11px; }
figure.item img, figure.item .noimg { width: 104px; height: 104px; object-fit: contain; image-rendering: pixelated; background: #fff; display: block; border-radius: 3px; }
figure.item .noimg { display: flex; align-items: center; justify-content: center; color: var(--muted); }
figcaption { margin-top: 4px; }
figcaption .truth { font-weight: 600; }
figcaption .pred.ok { color: var(--good); } figcaption .pred.bad { color: var(--bad); }
figcaption .path { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; direction: rtl; text-align: left; }
button.more { margin-top: 8px; padding: 5px 12px; border: 1px solid var(--line); background: #fff; border-radius: 5px; cursor: pointer; }
.hover { position: fixed; display: none; pointer-events: none; z-index: 10; box-shadow: 0 4px 16px rgba(0,0,0,.2); border-radius: 6px; }
.hover figure.item { width: 180px; background: #fff; } .hover figure.item img { width: 166px; height: 166px; }
ul.checks, ul.facts { margin: 4px 0; padding-left: 18px; }
ul.facts { display: flex; flex-wrap: wrap; gap: 4px 22px; list-style: none; padding: 0; }
footer { color: var(--muted); font-size: 12px; max-width: 1320px; margin: 0 auto; padding: 0 28px 28px; }
`;

function describeSide(m: ReportData['models'][number]): string {
  const rev = m.rev === null ? 'the working tree' : m.rev;
  return `<code>${escapeHtml(rev)}</code>${m.commit ? ` (${m.commit.slice(0, 7)})` : ''}`;
}

/**
 * The report page for the data of core/report-data.ts.
 *
 * @example
 * fs.writeFileSync('report.html', renderReportPage(data));
 */
export function renderReportPage(data: ReportData): string {
  const libs = readChartLibraries();
  const [a, b] = data.models;
  const title = data.kind === 'diff' ? `d2 report: ${a!.rev ?? 'working tree'} → ${b!.rev ?? 'working tree'}` : `d2 report: ${a!.rev ?? 'working tree'}`;
  const heading = data.kind === 'diff'
    ? `Model behaviour: ${describeSide(a!)} → ${describeSide(b!)}`
    : `Model of ${describeSide(a!)}`;
  const on = data.evaluatedOn;
  const sub = `Evaluated on ${on.items.toLocaleString('en-US')} test items and ${on.modelTests} model tests of ${on.rev === null ? 'the working tree' : `<code>${escapeHtml(on.rev)}</code>`}`
    + (data.kind === 'diff' ? ', with its labels. Model A is the old side, model B the new one.' : '.')
    + ` Preset ${escapeHtml(a!.preset)}, engine ${escapeHtml(a!.engine)}.`;
  // No network at all: only inline scripts and styles, pictures from data: URIs.
  const csp = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="d2 ${escapeHtml(data.version)}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${heading}</h1><div class="sub">${sub}</div></header>
<main id="main">
<div id="headline"></div>
</main>
<footer>Made by d2 ${escapeHtml(data.version)} · charts: Vega ${escapeHtml(libs.versions.vega)}, Vega-Lite ${escapeHtml(libs.versions.vegaLite)}, vega-embed ${escapeHtml(libs.versions.vegaEmbed)} · this file is self-contained: it works offline and can be attached or archived as it is.</footer>
<script type="application/json" id="d2-data">${scriptJson(data)}</script>
<script>${libs.vega}</script>
<script>${libs.vegaLite}</script>
<script>${libs.vegaEmbed}</script>
<script>(${reportClient.toString()})();</script>
</body>
</html>
`;
}
