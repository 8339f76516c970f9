/**
 * The HTML adapter: the report page (`renderReportPage`) with the chart libraries it inlines
 * (Vega, Vega-Lite, vega-embed: the only folder that reads them). Nothing here touches a
 * project; it turns the data of core/report-data.ts into one self-contained file's text.
 */
export { renderReportPage, escapeHtml, scriptJson } from './page.js';
export { readChartLibraries, inlineScript, type ChartLibraries } from './assets.js';
