import { describe, expect, it } from 'vitest';
import { changedSections, countRelabels, describeChange, headlineDelta, headlineOf, isDataUnchanged, modelTestsSummary, type DataChange } from './journal.js';

const none: DataChange = { first: false, items: 0, labelled: 0, unlabelled: 0, relabels: 0, labelsChanged: false, sourcesAdded: [], sourcesRemoved: [], manifest: [] };

describe('the journal, pure parts', () => {
  it('says what a commit changed in one phrase', () => {
    expect(describeChange({ ...none, first: true, sourcesAdded: ['img'] }, 400)).toBe('first data: 400 items');
    expect(describeChange({ ...none, first: true }, 0)).toBe('no data yet');
    expect(describeChange(none, 10)).toBe('no data change');
    expect(describeChange({ ...none, items: 120, labelled: 120, relabels: 40, labelsChanged: true, manifest: ['model'] }, 520)).toBe('+120 items, 40 relabels, model section changed');
    expect(describeChange({ ...none, items: -1, labelled: -1 }, 9)).toBe('-1 item');
    expect(describeChange({ ...none, items: 5, labelled: 2, unlabelled: 3 }, 9)).toBe('+5 items, +2 labelled, +3 unlabelled');
    // a pool added, then given its first labels
    expect(describeChange({ ...none, items: 500, labelled: 0, unlabelled: 500, sourcesAdded: ['new-photos'], manifest: ['sources'] }, 900))
      .toBe("new source 'new-photos', +500 items, +500 unlabelled");
    expect(describeChange({ ...none, labelled: 100, unlabelled: -100, labelsChanged: true }, 900)).toBe('+100 labelled, -100 unlabelled');
    expect(describeChange({ ...none, first: true }, 900, 500)).toBe('first data: 900 items, 500 unlabelled');
    expect(describeChange({ ...none, relabels: 1, labelsChanged: true, manifest: ['preprocess', 'model'] }, 9)).toBe('1 relabel, preprocessing and model sections changed');
    expect(describeChange({ ...none, items: 50, labelled: 50, sourcesAdded: ['extra'], manifest: ['sources'] }, 90)).toBe("new source 'extra', +50 items");
    expect(describeChange({ ...none, relabels: null, labelsChanged: true }, 9)).toBe('labels changed');
    expect(describeChange({ ...none, relabels: null, labelsChanged: true, items: 3, labelled: 3 }, 9)).toBe('+3 items');
  });

  it('knows when nothing the build depends on changed', () => {
    expect(isDataUnchanged(none)).toBe(true);
    expect(isDataUnchanged({ ...none, relabels: null, labelsChanged: true })).toBe(false);
    expect(isDataUnchanged({ ...none, manifest: ['dataset'] })).toBe(false);
    expect(isDataUnchanged({ ...none, first: true })).toBe(false);
  });

  it('takes the test split as the headline, else validation, and compares like with like', () => {
    const test = { count: 40, accuracy: 0.9, macroF1: 0.88 };
    const validation = { count: 30, accuracy: 0.8, macroF1: 0.7 };
    expect(headlineOf({ test, validation })).toEqual({ set: 'test', ...test });
    expect(headlineOf({ validation })).toEqual({ set: 'validation', ...validation });
    expect(headlineOf({})).toBeNull();
    const d = headlineDelta(headlineOf({ test }), headlineOf({ test: { count: 40, accuracy: 0.85, macroF1: 0.9 } }), 'abc');
    expect(d!.against).toBe('abc');
    expect(d!.accuracy).toBeCloseTo(0.05, 12);
    expect(d!.macroF1).toBeCloseTo(-0.02, 12);
    expect(headlineDelta(headlineOf({ test }), headlineOf({ validation }), 'abc')).toBeNull();
    expect(headlineDelta(headlineOf({ test }), null, 'abc')).toBeNull();
  });

  it('names the model tests a build newly breaks', () => {
    const before = { modelTests: { count: 3, passed: 2, failed: ['a.png'] } };
    const now = { modelTests: { count: 3, passed: 1, failed: ['a.png', 'b.png'] } };
    expect(modelTestsSummary(now, before)).toEqual({ count: 3, passed: 1, failed: ['a.png', 'b.png'], broken: ['b.png'] });
    expect(modelTestsSummary(now, undefined)!.broken).toEqual([]);
    expect(modelTestsSummary({}, before)).toBeNull();
  });

  it('lists the manifest sections that changed, and counts relabels of items on both sides', () => {
    const m = { sources: { a: { path: 'a' } }, dataset: { x: 1 }, preprocess: {}, model: { preset: 'fast' } };
    expect(changedSections(m, { ...m, model: { preset: 'thorough' } })).toEqual(['model']);
    expect(changedSections(m, { ...m, dataset: { x: 1 } })).toEqual([]);
    expect(changedSections(undefined, m)).toEqual(['sources', 'dataset', 'preprocess', 'model']);
    const a = new Map([['x', 'cat'], ['y', 'dog'], ['gone', 'cat']]);
    const b = new Map([['x', 'cat'], ['y', 'cat'], ['new', 'dog']]);
    expect(countRelabels(a, b)).toBe(1);
    expect(countRelabels(b, a)).toBe(1);
  });
});
