import { describe, expect, it } from 'vitest';
import { buildReportData } from '../core/report-data.js';
import { inlineScript } from './assets.js';
import { escapeHtml, renderReportPage, scriptJson } from './page.js';

const evil = 'img/</script><script>alert(1)</script>/x.png';

function data() {
  return buildReportData({
    title: 'HEAD', version: '0.1.0', evaluatedOn: { rev: '<b>HEAD</b>', commit: null },
    items: [{ path: evil, oid: '0'.repeat(64), truth: 'a<b', modelTest: false }, { path: 'img/b/1.png', oid: '1'.repeat(64), truth: 'b', modelTest: false }],
    models: [{ name: 'model', rev: '<b>HEAD</b>', commit: null, oid: 'm'.repeat(64), key: 'k'.repeat(64), preset: 'fast', engine: 'wasm', label: ['a<b', 'b'], confidence: [0.9, 0.8] }],
    thumbnails: new Map([['0'.repeat(64), 'data:image/png;base64,AAAA']]),
  });
}

describe('the report page', () => {
  it('puts text from the repository in the markup only escaped, and in the data block only as JSON', () => {
    const html = renderReportPage(data());
    expect(html).not.toContain('<b>HEAD</b>');
    expect(html).toContain(escapeHtml('<b>HEAD</b>'));
    expect(html).not.toContain('<script>alert(1)');
    const block = html.slice(html.indexOf('<script type="application/json" id="d2-data">'));
    const json = block.slice(block.indexOf('>') + 1, block.indexOf('</script>'));
    expect(JSON.parse(json).items.path[0]).toBe(evil);
  });

  it('is self-contained: no script, style or picture from elsewhere, and a policy that allows no connection', () => {
    const html = renderReportPage(data());
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).not.toMatch(/sourceMappingURL=/);
    // the three chart libraries and the page's script are inline
    expect(html).toContain('vegaEmbed');
    expect(html.match(/<script>/g)).toHaveLength(4);
  });

  it('escapes what could end a script element', () => {
    expect(scriptJson({ p: '</script><!--\u2028' })).toBe('{"p":"\\u003c/script>\\u003c!--\\u2028"}');
    expect(inlineScript('a("</SCRIPT>");b(/<\\/script/u)\n//# sourceMappingURL=x.map\n')).toBe('a("<\\/SCRIPT>");b(/<\\/script/u)\n');
  });
});
