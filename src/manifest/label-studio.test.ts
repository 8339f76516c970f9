import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../testing/index.js';
import { labelStudioConfig, parseLabelStudioExport, serializeLabelStudioTasks } from './label-studio.js';

const CLASSES = ['ankle_boot', 'bag', 'coat', 'dress', 'pullover', 'sandal', 'shirt', 'sneaker', 'trouser', 'tshirt_top'];
const EXPORT = fs.readFileSync(path.join(REPO_ROOT, 'fixtures', 'label-studio', 'export.json'), 'utf8');
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

/** A task as Label Studio exports it, cut to the fields d2 reads. */
function task(id: number, item: unknown, annotations: unknown[]): Record<string, unknown> {
  return { id, data: { image: `http://localhost:8081/${id}.png`, d2_item: item, d2_path: `images/${id}.png` }, annotations, predictions: [] };
}
function annotation(id: number, choice: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, result: [{ value: { choices: [choice] }, id: `r${id}`, from_name: 'label', to_name: 'image', type: 'choices', origin: 'manual' }], was_cancelled: false, ...extra };
}
const parse = (tasks: unknown, classes = CLASSES) => parseLabelStudioExport(typeof tasks === 'string' ? tasks : JSON.stringify(tasks), 'export.json', { classes });

describe('Label Studio tasks for import', () => {
  it('writes data and a choices prediction per task', () => {
    const text = serializeLabelStudioTasks([
      { id: A, image: 'http://localhost:8081/images/a.png', path: 'images/a.png', predicted: { label: 'shirt', score: 0.41 }, modelVersion: 'd2 6b8441c' },
      { id: B, image: 'http://localhost:8081/images/b.png', path: 'images/b.png' },
    ]);
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual([
      {
        data: { image: 'http://localhost:8081/images/a.png', d2_item: A, d2_path: 'images/a.png' },
        predictions: [{ model_version: 'd2 6b8441c', score: 0.41, result: [{ id: 'aaaaaaaaaa', from_name: 'label', to_name: 'image', type: 'choices', value: { choices: ['shirt'] } }] }],
      },
      { data: { image: 'http://localhost:8081/images/b.png', d2_item: B, d2_path: 'images/b.png' } },
    ]);
  });

  it('names the control and object tags as asked', () => {
    const [t] = JSON.parse(serializeLabelStudioTasks([{ id: A, image: 'x', path: 'x', predicted: { label: 'bag', score: 1 } }], { fromName: 'class', toName: 'img' })) as { predictions: { result: { from_name: string; to_name: string }[] }[] }[];
    expect(t!.predictions[0]!.result[0]).toMatchObject({ from_name: 'class', to_name: 'img' });
  });

  it('round-trips: an export of the imported tasks gives back the predictions as decisions', () => {
    const imported = JSON.parse(serializeLabelStudioTasks([{ id: A, image: 'u', path: 'images/a.png', predicted: { label: 'shirt', score: 0.4 } }])) as { data: unknown; predictions: { result: unknown }[] }[];
    const exported = imported.map((t, i) => ({ id: i + 1, data: t.data, annotations: [{ id: 9, result: t.predictions[0]!.result, was_cancelled: false }] }));
    expect(parse(exported).decisions).toEqual([{ task: 1, item: A, path: 'images/a.png', label: 'shirt', annotation: 9 }]);
  });

  it('writes the labelling config, XML-escaped', () => {
    expect(labelStudioConfig(['bag', 'shirt & "tie"', '<b>'])).toBe([
      '<View>',
      '  <Image name="image" value="$image"/>',
      '  <Choices name="label" toName="image" choice="single" showInline="true">',
      '    <Choice value="bag"/>',
      '    <Choice value="shirt &amp; &quot;tie&quot;"/>',
      '    <Choice value="&lt;b&gt;"/>',
      '  </Choices>',
      '</View>',
      '',
    ].join('\n'));
  });
});

describe('Label Studio export', () => {
  it('reads the fixture export: decisions, the conflict and the skipped task', () => {
    const r = parseLabelStudioExport(EXPORT, 'export.json', { classes: CLASSES });
    expect(r.decisions).toEqual([
      { task: 141, item: '0efa91193f153e308194876d6970e997b69f157499cd240d40e7e011b40a053c', path: 'images/sneaker/t10k-00009.png', label: 'sneaker', annotation: 57 },
      { task: 142, item: '6affb000ed7a4cc6d45c1984c79ee70089656363a69af9b53e8272498b126b0b', path: 'images/shirt/t10k-00004.png', label: 'shirt', annotation: 58 },
      // two annotators agree: the later annotation (63) is named
      { task: 143, item: 'f0a48931c4d1d019dc1018fd0696b5d86fe844bee05fafd9fcf743f0d8ee8284', path: 'images/bag/t10k-00018.png', label: 'bag', annotation: 63 },
    ]);
    expect(r.issues).toEqual([
      { task: 144, message: "export.json: task 144: annotations disagree: 60 says 'pullover', 64 says 'coat' (settle it in Label Studio and export again)" },
    ]);
    expect(r.skipped).toEqual([{ task: 145, item: 'db0ec2dfe9b41976604a37baa50a619e83fd4c911251c71de41b1a52a1adb057', reason: 'cancelled' }]);
  });

  it('ignores cancelled annotations next to live ones', () => {
    const r = parse([task(1, A, [annotation(1, 'coat', { was_cancelled: true }), annotation(2, 'bag')])]);
    expect(r).toEqual({ decisions: [{ task: 1, item: A, path: 'images/1.png', label: 'bag', annotation: 2 }], issues: [], skipped: [] });
  });

  it('takes the most recent of agreeing annotations', () => {
    const r = parse([task(1, A, [annotation(5, 'bag', { updated_at: '2025-06-02T14:00:00Z' }), annotation(3, 'bag', { updated_at: '2025-06-02T09:00:00Z' })])]);
    expect(r.decisions[0]!.annotation).toBe(5);
  });

  it('reports every problem at once, each naming its task', () => {
    const r = parse([
      task(1, A, [annotation(1, 'snaeker')]),
      { id: 2, data: { image: 'x' }, annotations: [annotation(2, 'bag')] },
      task(3, 'ABC', [annotation(3, 'bag')]),
      task(4, A.toUpperCase(), [annotation(4, 'bag')]),
      task(5, B, [annotation(5, 'bag'), annotation(6, 'coat'), annotation(7, 'bag', { was_cancelled: true })]),
      task(6, B, [annotation(8, 'bag'), annotation(9, 'zebra')]),
      task(7, B, [{ id: 10, result: [{ value: { choices: ['bag', 'coat'] }, from_name: 'label', to_name: 'image', type: 'choices' }], was_cancelled: false }]),
      task(8, B, [{ id: 11, result: [{ value: { choices: ['bag'] }, from_name: 'class', to_name: 'image', type: 'choices' }], was_cancelled: false }]),
      task(9, B, [{ id: 12, result: 'oops', was_cancelled: 'no' }]),
      { id: 10, data: { d2_item: B } },
      'not a task',
      { d2_item: B, label: 'bag', image: 'x', id: 12 },
    ]);
    expect(r.issues.map((i) => i.message)).toEqual([
      "export.json: task 1: unknown class 'snaeker' (did you mean 'sneaker'?)",
      "export.json: task 2: no 'data.d2_item' (was the task imported from 'd2 suggest'?)",
      "export.json: task 3: 'data.d2_item' must be an item id (64 lower-case hex digits), got 'ABC'",
      `export.json: task 4: 'data.d2_item' must be an item id (64 lower-case hex digits), got '${A.toUpperCase()}'`,
      "export.json: task 5: annotations disagree: 5 says 'bag', 6 says 'coat' (settle it in Label Studio and export again)",
      "export.json: task 6: unknown class 'zebra' in annotation 9",
      "export.json: task 7: annotation 10 chose 2 classes ('bag', 'coat'); an item takes one label",
      "export.json: task 8: annotation 11 has no 'label' choice (it has choices under 'class': give the name of the project's <Choices> tag)",
      "export.json: task 9: 'was_cancelled' of annotation 12 must be true or false, got 'no'",
      "export.json: task 10: no 'annotations' list",
      "export.json: task #11: expected an object, got 'not a task'",
      "export.json: task 12: no 'data' object",
      "export.json: task 12: no 'annotations': this looks like a 'JSON-MIN' or CSV-style export; export the project as 'JSON'",
    ]);
    expect(r.issues[0]).toMatchObject({ task: 1, didYouMean: 'sneaker' });
    expect(r.issues.map((i) => i.task)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, '#11', 12, 12]);
    expect(r.decisions).toEqual([]);
  });

  it('refuses one item labelled two ways in two tasks, and keeps one decision when they agree', () => {
    const clash = parse([task(1, A, [annotation(1, 'bag')]), task(2, A, [annotation(2, 'coat')])]);
    expect(clash.issues.map((i) => i.message)).toEqual([`export.json: task 2: item '${A}' is also task 1, labelled 'bag' there and 'coat' here`]);
    expect(clash.decisions).toEqual([]);
    const same = parse([task(1, A, [annotation(1, 'bag')]), task(2, A, [annotation(2, 'bag')])]);
    expect(same.decisions).toHaveLength(1);
    expect(same.issues).toEqual([]);
  });

  it('says which tasks nobody labelled', () => {
    expect(parse([task(1, A, [])]).skipped).toEqual([{ task: 1, item: A, reason: 'no-annotation' }]);
  });

  it('refuses text that is not a JSON list of tasks', () => {
    expect(parse('{"tasks": [')).toMatchObject({ decisions: [], issues: [{ task: null, message: expect.stringMatching(/^export\.json: not JSON: /) }] });
    expect(parse('{"id": 1}').issues).toEqual([{ task: null, message: "export.json: expected a list of tasks (Label Studio's 'JSON' export), got an object" }]);
    expect(parse('[]')).toEqual({ decisions: [], issues: [], skipped: [] });
  });
});
