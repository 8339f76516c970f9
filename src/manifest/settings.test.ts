import { describe, expect, it } from 'vitest';
import { applySettings, parseSetting } from './settings.js';

const text = `# my dataset
version: 1
sources:
  img:
    path: img
    labels: dirname # folders are classes
model:
  preset: fast
`;

describe('--set KEY=VALUE', () => {
  it('parses the value as YAML, and an empty value as removing the key', () => {
    expect(parseSetting('model.preset=thorough').setting).toEqual({ key: 'model.preset', value: 'thorough' });
    expect(parseSetting('model.seed=3').setting).toEqual({ key: 'model.seed', value: 3 });
    expect(parseSetting('preprocess.image=[{channels: 1}]').setting).toEqual({ key: 'preprocess.image', value: [{ channels: 1 }] });
    expect(parseSetting('model.timeBudget=').setting).toEqual({ key: 'model.timeBudget', value: null });
    expect(parseSetting('model.preset').issue?.message).toMatch(/is not KEY=VALUE/);
    expect(parseSetting('model..preset=x').issue?.message).toMatch(/is not a key of d2.yaml/);
    expect(parseSetting('model.seed=[1').issue?.message).toMatch(/is not YAML/);
  });

  it('applies changes to the document, keeping comments, and reports what each key was', () => {
    const r = applySettings(text, [{ key: 'model.preset', value: 'thorough' }, { key: 'model.seed', value: 7 }, { key: 'dataset.allowLeakage', value: true }]);
    expect(r.issues).toEqual([]);
    expect(r.manifest!.model).toMatchObject({ preset: 'thorough', seed: 7 });
    expect(r.manifest!.dataset.allowLeakage).toBe(true);
    expect(r.text).toContain('# my dataset');
    expect(r.text).toContain('# folders are classes');
    expect(r.applied.map((a) => a.previous)).toEqual(['fast', null, null]);
    const removed = applySettings(r.text, [{ key: 'model.seed', value: null }]);
    expect(removed.manifest!.model.seed).toBe(0);
    expect(removed.applied[0]!.previous).toBe(7);
  });

  it('refuses keys the schema does not know with the same did-you-mean as d2.yaml, naming the setting', () => {
    const r = applySettings(text, [{ key: 'model.presett', value: 'thorough' }, { key: 'modle.seed', value: 1 }, { key: 'model.preset', value: 'huge' }]);
    expect(r.manifest).toBeUndefined();
    expect(r.issues.map((i) => i.message).sort()).toEqual([
      "option 'set' 'model.presett=thorough': unknown key 'presett' in 'model' (did you mean 'preset'?)",
      "option 'set' 'model.preset=huge': 'model.preset' must be one of \"fast\", \"default\", \"thorough\", got 'huge'",
      "option 'set' 'modle.seed=1': unknown key 'modle' (did you mean 'model'?)",
    ].sort());
    expect(r.issues.find((i) => i.path === 'model.presett')?.didYouMean).toBe('preset');
  });

  it('names the setting behind a rule of the schema, such as a split whose fractions are missing', () => {
    const r = applySettings(text, [{ key: 'model.seed', value: 1 }, { key: 'dataset.split.seed', value: 3 }]);
    expect(r.issues.length).toBeGreaterThan(0);
    for (const i of r.issues) {
      expect(i.message).toMatch(/^option 'set' 'dataset.split.seed=3': /);
      expect(i.line).toBeUndefined();
    }
  });

  it('refuses to set below a value that is not a mapping', () => {
    const r = applySettings(text, [{ key: 'model.preset.size', value: 3 }]);
    expect(r.manifest).toBeUndefined();
    expect(r.issues[0]!.message).toMatch(/^option 'set' 'model.preset.size=3': /);
  });

  it('sets a list element by index', () => {
    const withSteps = `${text}preprocess:\n  image:\n    - resize: {width: 28, height: 28}\n    - channels: 3\n`;
    const r = applySettings(withSteps, [{ key: 'preprocess.image.1.channels', value: 1 }]);
    expect(r.issues).toEqual([]);
    expect(r.manifest!.preprocess.image![1]).toEqual({ channels: 1 });
  });
});
