/**
 * The chart libraries the report page inlines: the minified browser builds of Vega,
 * Vega-Lite and vega-embed, read from their installed packages (never fetched: the page must
 * open offline, from disk). This folder is the one place that reads them.
 *
 * Invariants:
 * - Each build is read once per process and returned as text safe to put inside a `<script>`
 *   element: `</script` is written `<\/script` (the same string or regular expression in
 *   JavaScript, even in a `u`-flag regular expression), and the source-map comment is dropped,
 *   so a browser asks for no `.map` file.
 * - A missing package is an EngineUnavailable error naming it, never a half-built page.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EngineUnavailable } from '../errors/index.js';

export interface ChartLibraries {
  vega: string;
  vegaLite: string;
  vegaEmbed: string;
  /** Package versions, for the page's footer. */
  versions: { vega: string; vegaLite: string; vegaEmbed: string };
}

let loaded: ChartLibraries | undefined;

/** Text of a script made safe to inline in HTML. */
export function inlineScript(js: string): string {
  return js.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n').replace(/<\/(script)/gi, '<\\/$1');
}

function readBuild(pkg: string, file: string): { text: string; version: string } {
  const require = createRequire(import.meta.url);
  try {
    // The packages export only their module entry: the browser build sits beside it in build/.
    const entry = require.resolve(pkg);
    let dir = path.dirname(entry);
    while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
    const version = (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    return { text: inlineScript(fs.readFileSync(path.join(dir, 'build', file), 'utf8')), version };
  } catch (e) {
    throw new EngineUnavailable(`chart library '${pkg}' cannot be read: ${e instanceof Error ? e.message : String(e)}`, {
      data: { component: pkg },
      hint: "reinstall d2's dependencies (npm install)",
      cause: e,
    });
  }
}

/** The three browser builds (read on first use). */
export function readChartLibraries(): ChartLibraries {
  if (!loaded) {
    const vega = readBuild('vega', 'vega.min.js');
    const vegaLite = readBuild('vega-lite', 'vega-lite.min.js');
    const vegaEmbed = readBuild('vega-embed', 'vega-embed.min.js');
    loaded = {
      vega: vega.text, vegaLite: vegaLite.text, vegaEmbed: vegaEmbed.text,
      versions: { vega: vega.version, vegaLite: vegaLite.version, vegaEmbed: vegaEmbed.version },
    };
  }
  return loaded;
}
