import { describe, expect, it } from 'vitest';
import { buildReportData, reviewCommand, SUSPECTS_SHOWN, type ReportInput, type ReportModelInput, type ReportSuspectsInput } from './report-data.js';
import { MARKDOWN_LIMIT, REPORT_MARKER, mdCode, mdText, renderReportMarkdown } from './report-markdown.js';

const PNG = 'data:image/png;base64,iVBORw0KGgo=';

/** Ten items: eight test items and two model tests, three classes. */
function items(): ReportInput['items'] {
  const truth = ['bag', 'bag', 'bag', 'coat', 'coat', 'coat', 'shirt', 'shirt', 'bag', 'shirt'];
  return truth.map((t, i) => ({ path: `img/${t}/${i}.png`, oid: `${i}`.padStart(64, '0'), truth: t, modelTest: i >= 8 }));
}

function model(name: string, labels: (string | undefined)[], conf = 0.9): ReportModelInput {
  return {
    name, rev: name === 'A' ? 'HEAD~1' : 'HEAD', commit: name === 'A' ? 'a'.repeat(40) : 'b'.repeat(40), oid: name.repeat(64), key: 'k'.repeat(64),
    preset: 'fast', engine: 'wasm', label: labels, confidence: labels.map((_, i) => conf - i / 100),
  };
}

//                        0      1      2      3       4       5        6        7       8(mt)  9(mt)
const A = model('A', ['bag', 'bag', 'coat', 'coat', 'coat', 'shirt', 'shirt', 'coat', 'bag', 'coat']);
const B = model('B', ['bag', 'coat', 'bag', 'coat', 'coat', 'coat', 'shirt', 'shirt', 'coat', 'shirt']);

function diffInput(): ReportInput {
  return {
    title: 'HEAD~1..HEAD', version: '0.1.0', evaluatedOn: { rev: 'HEAD', commit: 'b'.repeat(40) }, items: items(), models: [A, B],
    thumbnails: new Map(items().map((it, i) => [it.oid, i === 3 ? null : i % 2 ? PNG : `data:image/png;base64,AAA${i}`])),
    checks: [{ rule: 'broken-model-tests', failed: true, observed: 1, threshold: 0, detail: '1 model test broken' }],
  };
}

describe('buildReportData', () => {
  it('computes each model\'s figures over the same test items, model tests apart', () => {
    const d = buildReportData(diffInput());
    expect(d.kind).toBe('diff');
    expect(d.classes).toEqual(['bag', 'coat', 'shirt']);
    expect(d.evaluatedOn).toEqual({ rev: 'HEAD', commit: 'b'.repeat(40), items: 8, modelTests: 2 });
    const [a, b] = d.models;
    // A right on 0,1,3,4,6 of the eight test items; B on all but 1
    expect(a!.metrics).toMatchObject({ count: 8, correct: 5, accuracy: 5 / 8, modelTests: { count: 2, passed: 1 } });
    expect(b!.metrics).toMatchObject({ count: 8, correct: 7, accuracy: 7 / 8, modelTests: { count: 2, passed: 1 } });
    // confusion[t][p] over classes, test items only
    expect(a!.confusion).toEqual([[2, 1, 0], [0, 2, 1], [0, 1, 1]]);
    expect(b!.confusion).toEqual([[2, 1, 0], [0, 3, 0], [0, 0, 2]]);
    const bag = b!.perClass.find((c) => c.label === 'bag')!;
    expect(bag).toEqual({ label: 'bag', support: 3, precision: 1, recall: 2 / 3, f1: 0.8 });
  });

  it('lists flips as item indices, as core/behaviour-diff orders them, and model-test flips apart', () => {
    const d = buildReportData(diffInput()).diff!;
    expect(d.accuracy).toEqual({ before: 5 / 8, after: 7 / 8, delta: 7 / 8 - 5 / 8 });
    // B's confidence falls with the index (0.9 - i/100): most confident first
    expect(d.fixed).toEqual([2, 5, 7]);
    expect(d.broken).toEqual([1]);
    expect(d.significance).toMatchObject({ fixed: 3, broken: 1, method: 'exact' });
    expect(d.modelTests).toEqual({ count: 2, failingBefore: 1, failingAfter: 1, fixed: [9], broken: [8] });
  });

  it('keeps items as columns, predictions as class indices, and thumbnails once each', () => {
    const d = buildReportData(diffInput());
    expect(d.items.path[9]).toBe('img/shirt/9.png');
    expect(d.items.truth).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 0, 2]);
    expect(d.items.modelTest).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    expect(d.models[1]!.pred).toEqual([0, 1, 0, 1, 1, 1, 2, 2, 1, 2]);
    expect(d.models[0]!.conf[1]).toBe(0.89);
    // odd items share one picture; item 3 cannot be drawn
    expect(d.items.thumb[3]).toBe(-1);
    expect(d.thumbs.filter((t) => t === PNG)).toHaveLength(1);
    expect(d.items.thumb[1]).toBe(d.items.thumb[5]);
    expect(d.thumbs[d.items.thumb[0]!]).toBe('data:image/png;base64,AAA0');
  });

  it('leaves out of the figures an item a model could not be run on, and adds a predicted-only class', () => {
    const a = model('A', ['bag', 'bag', 'bag', 'coat', 'coat', 'coat', 'shirt', undefined, 'bag', 'shirt']);
    const b = model('B', ['bag', 'bag', 'bag', 'coat', 'coat', 'coat', 'dress', 'shirt', 'bag', 'shirt']);
    const d = buildReportData({ ...diffInput(), models: [a, b] });
    expect(d.classes).toEqual(['bag', 'coat', 'dress', 'shirt']);
    expect(d.models[0]!.pred[7]).toBe(-1);
    expect(d.models[0]!.failedCount).toBe(1);
    expect(d.models[0]!.metrics.count).toBe(7);
    expect(d.models[1]!.metrics.count).toBe(7);
    expect(d.diff!.broken).toEqual([6]);
  });

  it('reports one model for a build, with its map rounded to four significant digits', () => {
    const m = { ...A, map: { method: 'pca' as const, explained: [0.5, 0.25], x: A.label.map((_, i) => i / 3), y: A.label.map((_, i) => (i === 2 ? null : -i * 1234.5678)) } };
    const d = buildReportData({ ...diffInput(), models: [m] });
    expect(d.kind).toBe('build');
    expect(d.diff).toBeUndefined();
    expect(d.models[0]!.map).toMatchObject({ method: 'pca', explained: [0.5, 0.25] });
    expect(d.models[0]!.map!.x[1]).toBe(0.3333);
    expect(d.models[0]!.map!.y[3]).toBe(-3704);
    expect(d.models[0]!.map!.y[2]).toBeNull();
  });

  it('refuses predictions that do not line up with the items', () => {
    expect(() => buildReportData({ ...diffInput(), models: [model('A', ['bag'])] })).toThrow(/1 predictions for 10 items/);
  });
});

/** A stored review's suspects: `n` of them, the first one of item 3 (which has no picture), then items with pictures. */
function reviewed(n: number, kept = 0): ReportSuspectsInput {
  const suspects = Array.from({ length: n }, (_, i) => ({
    path: `img/coat/s${i}.png`, oid: `${i === 0 ? 3 : i % 2 ? 1 : 100 + i}`.padStart(64, '0'), set: i % 3 ? 'train' : 'test',
    label: 'coat', suggested: i % 2 ? 'shirt' : 'bag', confidence: 0.912345 - i / 1000, selfConfidence: 0.0512345 + i / 1000,
  }));
  const noise = Array.from({ length: 25 }, (_, i) => ({ given: 'coat', true: `c${i}`, rate: 0.2 - i / 200, count: 25 - i }));
  return { rev: 'HEAD', review: { oid: 'e'.repeat(64), items: 800, kept, suspects, noise } };
}

describe('buildReportData: label suspects', () => {
  it('lists the review\'s suspects as it ranks them, at most SUSPECTS_SHOWN, with the total and the noise', () => {
    const input = reviewed(SUSPECTS_SHOWN + 7, 2);
    const thumbnails = new Map([...diffInput().thumbnails!, ...input.review!.suspects.slice(1).map((s, i) => [s.oid, `data:image/png;base64,S${i}`] as const)]);
    const d = buildReportData({ ...diffInput(), thumbnails, suspects: input });
    const r = d.suspects!.review!;
    expect(d.suspects!.command).toBe('d2 review HEAD');
    expect(r).toMatchObject({ oid: 'e'.repeat(64), items: 800, total: SUSPECTS_SHOWN + 7, kept: 2, noisePairs: 25 });
    expect(r.suspects).toHaveLength(SUSPECTS_SHOWN);
    expect(r.suspects.map((s) => s.path)).toEqual(input.review!.suspects.slice(0, SUSPECTS_SHOWN).map((s) => s.path));
    expect(r.suspects[0]).toEqual({ path: 'img/coat/s0.png', set: 'test', label: 'coat', suggested: 'bag', confidence: 0.9123, selfConfidence: 0.0512, thumb: -1 });
    // a suspect's picture is a thumbnail of the page like any other: shared when the same
    expect(d.thumbs[r.suspects[2]!.thumb]).toBe(thumbnails.get(input.review!.suspects[2]!.oid));
    expect(r.suspects[1]!.thumb).toBe(d.items.thumb[1]);
    expect(r.noise).toHaveLength(20);
    expect(r.noise[0]).toEqual({ given: 'coat', true: 'c0', rate: 0.2, count: 25 });
  });

  it('says that no review was computed, and which command computes it', () => {
    const d = buildReportData({ ...diffInput(), suspects: { rev: 'HEAD~1' } });
    expect(d.suspects).toEqual({ rev: 'HEAD~1', command: 'd2 review HEAD~1', review: null });
    expect(buildReportData({ ...diffInput(), suspects: { rev: null } }).suspects!.command).toBe('d2 review');
    expect(buildReportData(diffInput()).suspects).toBeUndefined();
  });

  it('quotes a revision a shell would split', () => {
    expect(reviewCommand('v1.0')).toBe('d2 review v1.0');
    expect(reviewCommand('main~2')).toBe('d2 review main~2');
    expect(reviewCommand("it's mine")).toBe("d2 review 'it'\\''s mine'");
  });
});

describe('renderReportMarkdown', () => {
  it('renders a diff as the pull-request comment (snapshot)', () => {
    const md = renderReportMarkdown(buildReportData({
      ...diffInput(),
      data: {
        before: { items: 100 }, after: { items: 102 }, added: [], removed: [], modified: [], renamed: [],
        relabelled: [{ from: 'shirt', to: 'coat', count: 3, examples: [] }], relabelledCount: 3, moved: [], movedCount: 0,
        modelTests: { before: 2, after: 2, added: [], removed: [] },
        bySource: { img: { added: 2, removed: 0, modified: 0, renamed: 0, relabelled: 3, moved: 0 } }, byClass: {}, manifest: [],
      },
      suspects: reviewed(14, 1),
    }), { link: 'https://github.com/o/r/actions/runs/1' });
    expect(md.startsWith(`${REPORT_MARKER}\n`)).toBe(true);
    expect(md).toMatchSnapshot();
  });

  it('renders a build (snapshot)', () => {
    expect(renderReportMarkdown(buildReportData({ ...diffInput(), models: [A], checks: undefined, suspects: { rev: 'HEAD' } }), { htmlPath: 'report.html' })).toMatchSnapshot();
  });

  it('lists the top suspects, and says when the review found none', () => {
    const md = renderReportMarkdown(buildReportData({ ...diffInput(), models: [A], suspects: reviewed(3) }));
    expect(md).toContain('Label suspects in `HEAD`: 3 of 800 items reviewed, most likely wrong first');
    expect(md).toContain('| `img/coat/s0.png` | coat | bag | 91% |');
    expect(md).not.toContain('--limit 0');
    const none = renderReportMarkdown(buildReportData({ ...diffInput(), models: [A], suspects: { rev: 'HEAD', review: { ...reviewed(0).review!, noise: [] } } }));
    expect(none).toContain('Label suspects: none among 800 items reviewed in `HEAD`.');
  });

  it('stays within a comment\'s limit however many flips, and says what it cut', () => {
    const n = 20_000;
    const many = Array.from({ length: n }, (_, i) => ({ path: `img/${'x'.repeat(60)}/${i}.png`, oid: `${i}`.padStart(64, '0'), truth: i % 2 ? 'a' : 'b', modelTest: i % 10 === 0 }));
    const a = model('A', many.map((it) => it.truth));
    const b = model('B', many.map((it, i) => (i % 3 ? it.truth : 'c')));
    a.confidence = many.map(() => 0.5);
    b.confidence = many.map(() => 0.5);
    const md = renderReportMarkdown(buildReportData({ ...diffInput(), items: many, models: [a, b], thumbnails: undefined }));
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md.startsWith(REPORT_MARKER)).toBe(true);
    expect(md).toMatch(/more in the full report/);
  });

  it('escapes text from the repository so it cannot break a table', () => {
    expect(mdText('a|b<script>*x*')).toBe('a\\|b\\<script\\>\\*x\\*');
    expect(mdCode('we|ird`name')).toBe('`` we\\|ird`name ``');
    expect(mdCode('x'.repeat(150))).toHaveLength(102);
  });
});
