import { describe, expect, it } from 'vitest';
import { evaluateSet, failingModelTests, parseEvaluation, serializeEvaluation } from './evaluation.js';

describe('evaluation', () => {
  it('computes metrics from probabilities and round-trips exactly', () => {
    const classes = ['a', 'b'];
    const probs = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 1 / 3, 2 / 3]);
    const set = evaluateSet({ paths: ['s/1', 's/2', 's/3', 's/4'], oids: ['1', '2', '3', '4'], labels: [0, 1, 1, 1], probs }, classes);
    expect(set.metrics.accuracy).toBe(0.75);
    expect(failingModelTests(set, classes)).toEqual(['s/3']);
    const text = serializeEvaluation({ format: 1, model: 'm', dataset: 'd', classes, sets: { test: set } });
    const back = parseEvaluation(text);
    expect(back.sets.test!.predictions.probs).toEqual(probs);
    expect(back.sets.test!.metrics).toEqual(set.metrics);
    expect(() => parseEvaluation('{"kind":"x"}')).toThrow(/not a d2 evaluation/);
  });
});
