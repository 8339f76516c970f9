/**
 * Label Studio's JSON formats, both ways: the tasks `d2 suggest` writes for Label Studio to
 * import (with the model's prediction as a pre-annotation), the labelling config that goes with
 * them, and the project's JSON export read back as label decisions (`d2 label --from`).
 * See docs/label-studio.md for the round trip and the field mapping.
 *
 * Invariants:
 * - Tasks carry the d2 item id in `data.d2_item` (and its path in `data.d2_path`); the export
 *   is matched back to items by that id alone, never by image URL or Label Studio's task id.
 * - The export is untrusted input: every problem is reported, each naming its task (Label
 *   Studio's `id`, or `#n` for the n-th task when it has none), all at once; a task with any
 *   problem gives no decision, so nothing is half-read.
 * - Never guesses: two live annotations of a task that disagree, or one item in two tasks with
 *   different labels, is a problem, not "the last one wins". Cancelled (skipped) annotations
 *   are ignored. When annotations agree, the decision names the most recent one.
 * - Serialising is deterministic: fixed key order, tasks in the order given, trailing newline.
 *
 * The export is checked by hand rather than with a zod schema: the shape read is small, Label
 * Studio adds fields freely, and each message must name the task and say what to do.
 */
import { suggest } from './parse-yaml.js';

export interface LabelStudioTaskInput {
  /** d2 item id (oid). */
  id: string;
  /** What Label Studio loads for `$image`: a URL it can fetch. */
  image: string;
  /** The item's path, for people reading the task in Label Studio. */
  path: string;
  /** The model's prediction, imported as a pre-annotation. */
  predicted?: { label: string; score: number };
  modelVersion?: string;
}

export interface LabelStudioNames {
  /** Name of the `<Choices>` control tag (`from_name` in results); default 'label'. */
  fromName?: string;
  /** Name of the `<Image>` object tag (`to_name` in results); default 'image'. */
  toName?: string;
}

export interface LabelStudioDecision {
  /** Label Studio's task id (or `#n`, the task's position, when it has none). */
  task: number | string;
  /** d2 item id from `data.d2_item`. */
  item: string;
  /** `data.d2_path`, when present. */
  path?: string;
  label: string;
  /** Id of the annotation the label was taken from (the most recent live one). */
  annotation?: number | string;
}

export interface LabelStudioIssue {
  /** The task the problem is in; null for the file as a whole. */
  task: number | string | null;
  /** The printable message, location first: `export.json: task 12: unknown class 'snaeker' (did you mean 'sneaker'?)`. */
  message: string;
  didYouMean?: string;
}

export interface LabelStudioSkip {
  task: number | string;
  item: string;
  /** `cancelled`: every annotation was skipped; `no-annotation`: nobody labelled the task. */
  reason: 'cancelled' | 'no-annotation';
}

export interface LabelStudioExportResult {
  decisions: LabelStudioDecision[];
  issues: LabelStudioIssue[];
  /** Tasks with no live annotation: not a problem, but worth saying. */
  skipped: LabelStudioSkip[];
}

const ITEM_ID = /^[0-9a-f]{64}$/;

/** The JSON array Label Studio imports (its "Basic Label Studio JSON format" with `predictions`). */
export function serializeLabelStudioTasks(tasks: readonly LabelStudioTaskInput[], names: LabelStudioNames = {}): string {
  const fromName = names.fromName ?? 'label';
  const toName = names.toName ?? 'image';
  const out = tasks.map((t) => {
    const task: Record<string, unknown> = { data: { image: t.image, d2_item: t.id, d2_path: t.path } };
    if (t.predicted) {
      const prediction: Record<string, unknown> = {};
      if (t.modelVersion !== undefined) prediction.model_version = t.modelVersion;
      prediction.score = t.predicted.score;
      // result ids only need to be unique within a task; a prefix of the item id reads well
      prediction.result = [{ id: t.id.slice(0, 10), from_name: fromName, to_name: toName, type: 'choices', value: { choices: [t.predicted.label] } }];
      task.predictions = [prediction];
    }
    return task;
  });
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** The labelling config for those tasks: the image and one single-choice list of the classes. */
export function labelStudioConfig(classes: readonly string[], names: LabelStudioNames = {}): string {
  const fromName = escapeXml(names.fromName ?? 'label');
  const toName = escapeXml(names.toName ?? 'image');
  const choices = classes.map((c) => `    <Choice value="${escapeXml(c)}"/>\n`).join('');
  return `<View>\n  <Image name="${toName}" value="$image"/>\n  <Choices name="${fromName}" toName="${toName}" choice="single" showInline="true">\n${choices}  </Choices>\n</View>\n`;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * Label decisions from a Label Studio project's JSON export ("JSON" in its Export dialog).
 * `classes` are the project's classes; `fromName` the `<Choices>` tag whose choices are read.
 */
export function parseLabelStudioExport(text: string, file: string, options: { classes: readonly string[]; fromName?: string }): LabelStudioExportResult {
  const fromName = options.fromName ?? 'label';
  const classSet = new Set(options.classes);
  const result: LabelStudioExportResult = { decisions: [], issues: [], skipped: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    result.issues.push({ task: null, message: `${file}: not JSON: ${(e as Error).message}` });
    return result;
  }
  if (!Array.isArray(raw)) {
    result.issues.push({ task: null, message: `${file}: expected a list of tasks (Label Studio's 'JSON' export), got ${describe(raw)}` });
    return result;
  }
  const byItem = new Map<string, { task: number | string; label: string }>();
  const conflicted = new Set<string>();

  raw.forEach((t: unknown, i) => {
    const task = taskId(t, i);
    const problems: { message: string; didYouMean?: string }[] = [];
    const problem = (message: string, didYouMean?: string): void => {
      problems.push(didYouMean === undefined ? { message } : { message, didYouMean });
    };
    const done = (): void => {
      for (const p of problems) result.issues.push({ task, message: `${file}: task ${task}: ${p.message}`, ...(p.didYouMean === undefined ? {} : { didYouMean: p.didYouMean }) });
    };
    if (!isRecord(t)) {
      problem(`expected an object, got ${describe(t)}`);
      return done();
    }

    // data: which d2 item this task is
    let item: string | undefined;
    let path: string | undefined;
    if (!isRecord(t.data)) {
      problem(t.data === undefined ? "no 'data' object" : `'data' must be an object, got ${describe(t.data)}`);
    } else {
      const d = t.data;
      if (d.d2_item === undefined) problem("no 'data.d2_item' (was the task imported from 'd2 suggest'?)");
      else if (typeof d.d2_item !== 'string' || !ITEM_ID.test(d.d2_item)) problem(`'data.d2_item' must be an item id (64 lower-case hex digits), got ${describe(d.d2_item)}`);
      else item = d.d2_item;
      if (d.d2_path !== undefined && typeof d.d2_path !== 'string') problem(`'data.d2_path' must be a string, got ${describe(d.d2_path)}`);
      else path = d.d2_path;
    }

    // annotations: the live ones, each with exactly one known class
    const live: { id: number | string; label: string; time: number; at: number }[] = [];
    let cancelled = 0;
    if (!Array.isArray(t.annotations)) {
      if (t.annotations !== undefined) problem(`'annotations' must be a list, got ${describe(t.annotations)}`);
      else if ('d2_item' in t) problem("no 'annotations': this looks like a 'JSON-MIN' or CSV-style export; export the project as 'JSON'");
      else problem("no 'annotations' list");
    } else {
      const many = t.annotations.length > 1;
      t.annotations.forEach((a: unknown, j) => {
        const aid = isRecord(a) && (typeof a.id === 'number' || typeof a.id === 'string') ? a.id : `#${j + 1}`;
        const inA = many ? ` in annotation ${aid}` : '';
        if (!isRecord(a)) return problem(`annotation ${aid} must be an object, got ${describe(a)}`);
        if (a.was_cancelled !== undefined && typeof a.was_cancelled !== 'boolean') return problem(`'was_cancelled' of annotation ${aid} must be true or false, got ${describe(a.was_cancelled)}`);
        if (a.was_cancelled === true) {
          cancelled++;
          return;
        }
        if (!Array.isArray(a.result)) return problem(`'result' of annotation ${aid} must be a list, got ${describe(a.result)}`);
        const ours = a.result.filter((r): r is Record<string, unknown> => isRecord(r) && r.type === 'choices' && r.from_name === fromName);
        const chosen: unknown[] = [];
        for (const r of ours) {
          const choices = isRecord(r.value) ? r.value.choices : undefined;
          if (!Array.isArray(choices)) return problem(`'value.choices' of annotation ${aid} must be a list, got ${describe(choices)}`);
          chosen.push(...choices);
        }
        if (chosen.length === 0) {
          const others = [...new Set(a.result.filter((r) => isRecord(r) && r.type === 'choices').map((r) => String((r as Record<string, unknown>).from_name)))];
          const hint = others.length ? ` (it has choices under ${others.map((o) => `'${o}'`).join(', ')}: give the name of the project's <Choices> tag)` : '';
          return problem(`annotation ${aid} has no '${fromName}' choice${hint}`);
        }
        if (chosen.length > 1) return problem(`annotation ${aid} chose ${chosen.length} classes (${chosen.map((c) => describe(c)).join(', ')}); an item takes one label`);
        const label = chosen[0];
        if (typeof label !== 'string') return problem(`the choice${inA} must be a string, got ${describe(label)}`);
        if (!classSet.has(label)) {
          const didYouMean = suggest(label, options.classes);
          return problem(`unknown class '${label}'${inA}${didYouMean ? ` (did you mean '${didYouMean}'?)` : ''}`, didYouMean);
        }
        live.push({ id: aid, label, time: timeOf(a), at: j });
      });
    }
    if (problems.length > 0 || item === undefined) return done();

    if (live.length === 0) {
      result.skipped.push({ task, item, reason: cancelled > 0 ? 'cancelled' : 'no-annotation' });
      return;
    }
    const labels = [...new Set(live.map((a) => a.label))];
    if (labels.length > 1) {
      problem(`annotations disagree: ${live.map((a) => `${a.id} says '${a.label}'`).join(', ')} (settle it in Label Studio and export again)`);
      return done();
    }
    const latest = live.reduce((a, b) => (b.time > a.time || (b.time === a.time && b.at > a.at) ? b : a));
    const seen = byItem.get(item);
    if (seen) {
      if (seen.label !== latest.label) {
        conflicted.add(item);
        problem(`item '${item}' is also task ${seen.task}, labelled '${seen.label}' there and '${latest.label}' here`);
        return done();
      }
      return; // the same item labelled the same way twice: one decision
    }
    byItem.set(item, { task, label: latest.label });
    result.decisions.push({ task, item, ...(path === undefined ? {} : { path }), label: latest.label, annotation: latest.id });
  });
  // an item labelled two ways in two tasks gets no decision from either
  if (conflicted.size > 0) result.decisions = result.decisions.filter((d) => !conflicted.has(d.item));
  return result;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function taskId(t: unknown, i: number): number | string {
  if (isRecord(t) && ((typeof t.id === 'number' && Number.isFinite(t.id)) || (typeof t.id === 'string' && t.id !== ''))) return t.id;
  return `#${i + 1}`;
}

/** When an annotation was last changed (ms), or −∞ when it does not say. */
function timeOf(a: Record<string, unknown>): number {
  for (const key of ['updated_at', 'created_at']) {
    const v = a[key];
    const ms = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return -Infinity;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `'${v.length > 70 ? `${v.slice(0, 67)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `${typeof v === 'object' ? 'an' : 'a'} ${typeof v}`;
}
