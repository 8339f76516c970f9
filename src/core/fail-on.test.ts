import { describe, expect, it } from 'vitest';
import { diffBehaviour, type PairedItem } from './behaviour-diff.js';
import { diffData } from './data-diff.js';
import { checkFailOn, parseFailOn } from './fail-on.js';

const item = (path: string, truth: string, before: string, after: string, modelTest = false): PairedItem => ({
  path, oid: path, truth, modelTest, before: { label: before, confidence: 0.9 }, after: { label: after, confidence: 0.8 },
});

describe('parseFailOn', () => {
  it('reads comma-separated rules with and without values', () => {
    expect(parseFailOn('accuracy-drop=0.01, recall-drop=0.05,broken-model-tests,broken=2,significant-drop')).toEqual([
      { kind: 'accuracy-drop', threshold: 0.01, text: 'accuracy-drop=0.01' },
      { kind: 'recall-drop', threshold: 0.05, text: 'recall-drop=0.05' },
      { kind: 'broken-model-tests', threshold: 0, text: 'broken-model-tests' },
      { kind: 'broken', threshold: 2, text: 'broken=2' },
      { kind: 'significant-drop', threshold: 0.05, text: 'significant-drop' },
    ]);
  });

  it('refuses unknown rules and bad values as usage errors', () => {
    for (const [spec, message] of [
      ['accuracy-rise=1', "unknown option 'failOn' rule 'accuracy-rise'"],
      ['accuracy-drop=x', 'needs a number >= 0'],
      ['accuracy-drop=', 'needs a number >= 0'],
      ['recall-drop=-0.1', 'needs a number >= 0'],
      ['accuracy-drop=5', 'takes a fraction'],
      ['broken=1.5', 'needs a whole number'],
      [' , ', 'at least one rule'],
    ] as const) {
      expect(() => parseFailOn(spec), spec).toThrowError(expect.objectContaining({ code: 'InvalidArgument', message: expect.stringContaining(message) }));
    }
  });
});

describe('checkFailOn', () => {
  // 10 items: before 8 right, after 7 right (1 fixed, 2 broken); class b's recall 3/4 → 1/4
  const items = [
    ...['1', '2', '3', '4', '5'].map((p) => item(p, 'a', 'a', 'a')),
    item('6', 'a', 'b', 'a'), // fixed
    item('7', 'b', 'b', 'a'), // broken
    item('8', 'b', 'b', 'a'), // broken
    item('9', 'b', 'b', 'b'),
    item('10', 'b', 'a', 'a'),
    item('t1', 'a', 'a', 'b', true), // a broken model test
    item('t2', 'b', 'b', 'b', true),
  ];
  const d = { data: diffData([], [], {}, {}), behaviour: diffBehaviour(items) };

  it('crosses a drop rule only when the drop exceeds the threshold', () => {
    const [loose, tight, exact] = checkFailOn(d, parseFailOn('accuracy-drop=0.2,accuracy-drop=0.05,accuracy-drop=0.1'));
    expect(loose).toMatchObject({ rule: 'accuracy-drop=0.2', failed: false, threshold: 0.2, detail: 'accuracy fell 10.00 pts' });
    expect(loose!.observed).toBeCloseTo(0.1, 12);
    expect(tight!.failed).toBe(true);
    // a drop of exactly the threshold passes, whatever the rounding of 0.8 - 0.7
    expect(exact!.failed).toBe(false);
  });

  it('checks every class for recall and precision drops', () => {
    const [recall, precision] = checkFailOn(d, parseFailOn('recall-drop=0.4,precision-drop=0.9'));
    expect(recall).toMatchObject({ failed: true, observed: 0.5, detail: "largest recall drop: 'b' 50.00 pts" });
    expect(precision).toMatchObject({ failed: false });
  });

  it('counts broken items and model tests, and gates on significance', () => {
    const [mt, broken2, broken1, sig] = checkFailOn(d, parseFailOn('broken-model-tests,broken=2,broken=1,significant-drop=0.5'));
    expect(mt).toMatchObject({ failed: true, observed: 1, detail: '1 of 2 model tests broke' });
    expect(broken2).toMatchObject({ failed: false, observed: 2 });
    expect(broken1).toMatchObject({ failed: true, observed: 2 });
    // 1 fixed, 2 broken: McNemar p = 1, not below 0.5
    expect(sig).toMatchObject({ failed: false, observed: 1 });
  });

  it('fails behaviour rules when there is no behaviour, and checks moves without it', () => {
    const moved = diffData(
      [{ source: 's', path: 'x', oid: 'x', size: 1, label: 'a', set: 'train' }],
      [{ source: 's', path: 'x', oid: 'x', size: 1, label: 'a', set: 'test' }], {}, {},
    );
    const checks = checkFailOn({ data: moved, behaviour: null }, parseFailOn('accuracy-drop=0.5,moved,moved=1'));
    expect(checks).toEqual([
      { rule: 'accuracy-drop=0.5', failed: true, observed: null, threshold: 0.5, detail: 'no behaviour to check: a side has no model' },
      { rule: 'moved', failed: true, observed: 1, threshold: 0, detail: '1 item moved between splits' },
      { rule: 'moved=1', failed: false, observed: 1, threshold: 1, detail: '1 item moved between splits' },
    ]);
  });
});
