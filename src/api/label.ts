/**
 * `d2 label`: act on a review. Every decision is an edit of a committed text file, reviewed in
 * `git diff` like any change of the data:
 * - relabel (`as`): the item's row in `d2.sources/<source>.labels.csv` — and, for a source
 *   labelled from a CSV file, its row in that file too, since `d2 add` reads it again — so the
 *   relabel is a one-line change that survives `d2 add --all`;
 * - keep (`keep`): a row of `d2.review/kept.csv` (manifest/review-file.ts) with the evidence
 *   answered (content hash, label, the last review's suggestion), so `d2 review` stops showing
 *   the item until that evidence changes;
 * - model test (`asModelTest`): a row of the model tests file (`dataset.modelTests`, declared
 *   as `model-tests.csv` when d2.yaml has none), which holds the item out of every split;
 * - `from`: a reviewed decisions CSV (manifest/decisions-file.ts; `d2 review --csv` and
 *   `d2 suggest --csv` write one), or a Label Studio JSON export (manifest/label-studio.ts).
 * The verb reads the decisions; project/label-decisions.ts plans them and applies the plan.
 *
 * Invariants:
 * - Plan, then apply: every item, class and rule is checked first and all problems are
 *   reported at once; nothing is written unless everything can be.
 * - Never silent about what the data manager protected: a model test is relabelled only with
 *   option 'force'; relabelling a test-split item, or moving one to the model tests, is done
 *   with a warning in the result.
 * - Each file is written atomically, and only when its text changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgument, LabelsInvalid, PathNotFound } from '../errors/index.js';
import { parseDecisionsCsv, parseLabelStudioExport } from '../manifest/index.js';
import { prepareData } from '../project/prepared.js';
import { applyLabelPlan, planLabelDecisions, type LabelDecision, type LabelOutcome } from '../project/label-decisions.js';
import type { Project } from '../project/project.js';
import { relativePosix } from '../util/paths.js';
import { runVerb, type VerbOptions } from './verb.js';

export { DEFAULT_MODEL_TESTS_FILE, type LabelChange } from '../project/label-decisions.js';

export interface LabelOptions extends VerbOptions {
  /** Items: '<source>/<path in source>' (as `d2 review` prints them), a file path, or a path inside one source. */
  paths?: string[];
  /** Relabel the items as this class (with `asModelTest`: the model tests' label). */
  as?: string;
  /** Record that the items' labels are right (the review's suspicion is answered). */
  keep?: boolean;
  /** Make the items model tests (with their label, or `as`). */
  asModelTest?: boolean;
  /** Apply the decisions of a CSV file (`path,label,decision`), relative to `dir`. */
  from?: string;
  /** Allow relabelling model tests. */
  force?: boolean;
}

/** What was decided, and the files written (relative to the project root). */
export type LabelResult = LabelOutcome;

function checkOptions(o: LabelOptions): void {
  const paths = o.paths ?? [];
  if (o.from !== undefined) {
    if (paths.length || o.as !== undefined || o.keep || o.asModelTest) throw new InvalidArgument("option 'from' takes its decisions from the file: give no paths and no other decision with it");
    return;
  }
  if (!paths.length) throw new InvalidArgument('no items given', { hint: "give the paths 'd2 review' lists, with option 'as', 'keep' or 'asModelTest', or a reviewed CSV with option 'from'" });
  if (o.keep && (o.as !== undefined || o.asModelTest)) throw new InvalidArgument("option 'keep' keeps the labels as they are: give it without option 'as' or 'asModelTest'");
  if (!o.keep && !o.asModelTest && o.as === undefined) throw new InvalidArgument('no decision given', { hint: "relabel with option 'as' CLASS, or give option 'keep' or 'asModelTest'" });
}

/**
 * The decisions of a Label Studio JSON export (`d2 suggest --format label-studio` tasks, labelled
 * and exported): each task's item and the most recent live annotation. Every problem of the file
 * (unknown class, conflicting annotations, a task without d2's item id) stops the whole file.
 */
async function labelStudioDecisions(project: Project, text: string, shown: string): Promise<LabelDecision[]> {
  const prepared = await prepareData(project, { preprocess: false });
  const classes = [...new Set([...prepared.resolved.classes, ...prepared.resolved.items.map((i) => i.label)])].sort();
  const { decisions, issues } = parseLabelStudioExport(text, shown, { classes });
  const missing = decisions.filter((d) => d.path === undefined);
  const messages = [...issues.map((i) => i.message), ...missing.map((d) => `${shown}: task ${d.task}: no 'd2_path' in its data (was it made by d2 suggest?)`)];
  if (messages.length) {
    throw new LabelsInvalid(messages.length > 1 ? `${messages[0]} (and ${messages.length - 1} more)` : messages[0]!, {
      data: { file: shown, issues: messages }, hint: 'nothing was applied: fix the export (or the labelling project) and run the command again',
    });
  }
  return decisions.map((d) => ({ ref: d.path!, kind: 'relabel' as const, label: d.label, origin: `${shown}: task ${d.task}` }));
}

/** The decisions of the options, or of the CSV file (or Label Studio JSON export) they name. */
async function decisionsOf(project: Project, o: LabelOptions, base: string): Promise<LabelDecision[]> {
  if (o.from === undefined) {
    const kind = o.keep ? 'keep' : o.asModelTest ? 'model-test' : 'relabel';
    return (o.paths ?? []).map((ref) => ({ ref, kind, ...(o.as !== undefined ? { label: o.as } : {}) }));
  }
  const file = path.resolve(base, o.from);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new PathNotFound(`decisions file '${o.from}' does not exist`, { data: { path: o.from } });
  }
  const shown = relativePosix(project.root, file);
  if (/\.json$/i.test(file) || text.trimStart().startsWith('[')) return labelStudioDecisions(project, text, shown);
  const { decisions, issues } = parseDecisionsCsv(text, shown);
  if (issues.length) {
    const messages = issues.map((i) => i.message);
    throw new LabelsInvalid(messages.length > 1 ? `${messages[0]} (and ${messages.length - 1} more)` : messages[0]!, { data: { file: shown, issues: messages } });
  }
  return decisions.map((d) => ({ ref: d.path, kind: d.decision, label: d.label, origin: `${shown}:${d.line}` }));
}

/**
 * Relabel items, keep them as labelled, or make them model tests — each decision a one-line
 * change of a committed text file.
 *
 * @example
 * await label({ dir: 'my-dataset', paths: ['images/shirt/t10k-00040.png'], as: 'tshirt_top' });
 * await label({ dir: 'my-dataset', paths: ['images/coat/t10k-00101.png'], keep: true });
 * await label({ dir: 'my-dataset', from: 'reviewed.csv' });
 */
export async function label(options: LabelOptions): Promise<LabelResult> {
  return runVerb('d2.label', options, { lock: 'd2 label' }, async (project) => {
    checkOptions(options);
    const base = path.resolve(options.dir ?? '.');
    const decisions = await decisionsOf(project, options, base);
    // Paths in a decisions file are relative to the project root; on the command line, to `dir`.
    const plan = await planLabelDecisions(project, decisions, { base: options.from === undefined ? base : project.root, ...(options.force ? { force: true } : {}) });
    return applyLabelPlan(project, plan);
  });
}
