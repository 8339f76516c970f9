/**
 * `d2 export`: a self-contained bundle of a built model, and `loadBundle`, which predicts with
 * one in Node without a store or a git repository.
 *
 * Bundle (format 1), a folder:
 *   d2-bundle.json   what the model is: classes, preprocessing (modality, steps, shape, table
 *                    encoding, maxPixels), revision, dataset and model hashes, engine, metrics
 *   d2-model.bin     the model in d2's format ('D2MODEL1'): bit-identical predictions with d2
 *   model.json       the model in TensorFlow.js layers format (softmax output), and
 *   weights.bin      its weights: for TensorFlow.js anywhere (a browser, a server)
 *   README.md        how to load it
 *
 * Invariants: the bundle is written into a temporary folder beside `out` and renamed into
 * place, so `out` is either absent, the old bundle (with --force), or complete; an existing
 * non-empty `out` is never overwritten without `force`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { sha256Hex } from '../util/hash.js';
import type { BuildRecord } from './build.js';
import type { Preprocessing } from './inference.js';
import { makePredictor, resolveBuild, type Predictor } from './predict.js';
import { openProject, withCaller } from './project.js';

export const BUNDLE_FORMAT = 1;

export interface BundleInfo {
  format: typeof BUNDLE_FORMAT;
  kind: 'd2-bundle';
  classes: string[];
  preprocess: Preprocessing & { maxPixels: number };
  /** The git commit the model was built from (null: an uncommitted working tree). */
  commit: string | null;
  dataset: string;
  /** The model object's oid (SHA-256 of d2-model.bin). */
  model: string;
  build: string;
  engine: string;
  preset: string;
  seed: number;
  metrics: BuildRecord['metrics'];
  files: { d2Model: string; layersModel: string; weights: string };
}

export interface ExportOptions extends CommonOptions {
  out: string;
  rev?: string;
  /** Replace an existing bundle folder. */
  force?: boolean;
  engine?: EngineRequest;
  lockTimeoutMs?: number;
}

export interface ExportResult {
  out: string;
  bundle: BundleInfo;
  files: { name: string; bytes: number }[];
}

function readme(b: BundleInfo): string {
  return `# d2 model bundle

Classes (${b.classes.length}): ${b.classes.join(', ')}
Built from commit ${b.commit ?? '(uncommitted working tree)'}, dataset ${b.dataset.slice(0, 12)}, model ${b.model.slice(0, 12)} (${b.preset}, seed ${b.seed}, ${b.engine}).
${b.metrics.test ? `Test accuracy ${(b.metrics.test.accuracy * 100).toFixed(1)}% on ${b.metrics.test.count} items.\n` : ''}
## In Node, with d2 (same preprocessing, bit-identical to \`d2 predict\`)

\`\`\`js
import { loadBundle } from\u0020'd2';
const model = await loadBundle('path/to/this/folder');
const probs = await model.predictImages([fs.readFileSync('photo.png')]); // N × ${b.classes.length}
\`\`\`

## Anywhere TensorFlow.js runs (a browser, a server)

\`model.json\` + \`weights.bin\` are a TensorFlow.js layers model: \`tf.loadLayersModel('.../model.json')\`.
Its input is ${b.preprocess.modality === 'image' ? `an image tensor [N, ${b.preprocess.shape.join(', ')}] (height, width, channels)` : `a feature vector [N, ${b.preprocess.shape[0]}]`}
and its output the probabilities of the classes above, in that order. Prepare inputs exactly
as \`d2-bundle.json\` \`preprocess\` says:
${b.preprocess.modality === 'image'
    ? `decode, auto-orient, apply \`steps\` in order (resize, crop, channels…), then scale each byte to x / 255 and apply
any \`normalize\` step ((x - mean) / std per channel).`
    : 'encode each row with `preprocess.table` (numeric columns scaled with the stored statistics, categorical columns one-hot, missing values by the stored rule).'}
`;
}

/**
 * Export a built model as a self-contained bundle.
 *
 * @example
 * await exportModel({ dir: 'my-dataset', out: 'bundle' });
 * const model = await loadBundle('bundle');
 */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  return withCaller('d2.export', async () => {
    if (!options.out) throw new InvalidArgument('give the bundle folder with --out DIR');
    const out = path.resolve(options.dir ?? process.cwd(), options.out);
    if (fs.existsSync(out) && fs.readdirSync(out).length && !options.force) {
      throw new InvalidArgument(`'${options.out}' exists and is not empty`, { data: { out: options.out }, hint: 'choose another folder, or add --force to replace it' });
    }
    const { build, maxPixels, commit } = await resolveBuild(options);
    const project = openProject(options.dir);
    const modelBytes = project.store.read(build.model);
    const { toLayersModel } = await import('../engine/layers-export.js');
    const layers = await toLayersModel(modelBytes, 'weights.bin');
    const bundle: BundleInfo = {
      format: BUNDLE_FORMAT,
      kind: 'd2-bundle',
      classes: build.classes,
      preprocess: { ...build.preprocess, maxPixels },
      commit,
      dataset: build.dataset,
      model: build.model,
      build: build.key,
      engine: build.engine,
      preset: build.preset,
      seed: build.seed,
      metrics: build.metrics,
      files: { d2Model: 'd2-model.bin', layersModel: 'model.json', weights: 'weights.bin' },
    };
    const files: [string, string | Uint8Array][] = [
      ['d2-bundle.json', `${JSON.stringify(bundle, null, 2)}\n`],
      ['d2-model.bin', modelBytes],
      ['model.json', `${JSON.stringify(layers.modelJson)}\n`],
      ['weights.bin', layers.weights],
      ['README.md', readme(bundle)],
    ];
    const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
    fs.mkdirSync(tmp, { recursive: true });
    try {
      for (const [name, data] of files) {
        const fd = fs.openSync(path.join(tmp, name), 'w');
        try {
          fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      if (fs.existsSync(out)) fs.rmSync(out, { recursive: true, force: true });
      fs.renameSync(tmp, out);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    return { out: options.out, bundle, files: files.map(([name, d]) => ({ name, bytes: typeof d === 'string' ? Buffer.byteLength(d) : d.length })) };
  });
}

/**
 * Load an exported bundle (no store, no git needed): a Predictor with the bundle's
 * preprocessing.
 *
 * @example
 * const model = await loadBundle('bundle');
 * const [p] = (await model.run([{ key: 'x.png', bytes }], 1));
 */
export async function loadBundle(dir: string, options: { engine?: EngineRequest } = {}): Promise<Predictor & { bundle: BundleInfo }> {
  return withCaller('d2.loadBundle', async () => {
    const file = path.join(dir, 'd2-bundle.json');
    let bundle: BundleInfo;
    try {
      bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as BundleInfo;
    } catch (e) {
      throw new InvalidArgument(`'${dir}' is not a d2 bundle: cannot read d2-bundle.json`, { cause: e, hint: "make one with 'd2 export --out DIR'" });
    }
    if (bundle.kind !== 'd2-bundle' || bundle.format !== BUNDLE_FORMAT) throw new InvalidArgument(`'${file}' is not a d2 bundle of format ${BUNDLE_FORMAT}`);
    const bytes = fs.readFileSync(path.join(dir, bundle.files.d2Model));
    if (sha256Hex(bytes) !== bundle.model) throw new InvalidArgument(`'${path.join(dir, bundle.files.d2Model)}' is damaged: its hash is not the bundle's model hash`);
    const predictor = await makePredictor(bytes, { classes: bundle.classes, preprocess: bundle.preprocess, model: bundle.model, maxPixels: bundle.preprocess.maxPixels }, options.engine);
    return Object.assign(predictor, { bundle });
  });
}
