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
 *   preprocess.js    d2's preprocessing as one dependency-free ES module (preprocess/portable.ts)
 *   package.json     { "type": "module" }, so that Node loads preprocess.js as one
 *   README.md        how to load it, in Node and in a browser
 *   backbone/        transfer learning only: the backbone's own files (model.json, weights),
 *                    which d2's prediction runs before the head in d2-model.bin; the top
 *                    model.json is then backbone and head as one layers model (for a
 *                    graph-model backbone, which cannot join one, the head alone)
 *
 * Invariants: the bundle is written into a temporary folder beside `out` and renamed into
 * place, so `out` is either absent, the old bundle (with --force), or complete; an existing
 * non-empty `out` is never overwritten without `force`, and only a d2 bundle with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommonOptions } from '../core/progress.js';
import { InvalidArgument } from '../errors/index.js';
import type { EngineRequest } from '../engine/engines.js';
import { sha256Hex } from '../util/hash.js';
import { resolveModelBuild, type BuildRecord } from '../project/builds.js';
import type { Preprocessing } from '../project/inference.js';
import { makePredictor, type Predictor, type PredictorBackbone } from '../project/predictor.js';
import { backboneOfBuild } from '../project/backbone.js';
import { checkRelativePath } from '../core/safe-path.js';
import { openProject } from '../project/project.js';
import { withCaller } from './verb.js';

/** The folder of a bundle that holds its backbone's files (transfer learning). */
const BACKBONE_DIR = 'backbone';

/** The version of d2-bundle.json (`format`); a reader refuses other versions. */
export const BUNDLE_FORMAT = 1;

export interface BundleInfo {
  format: typeof BUNDLE_FORMAT;
  kind: 'd2-bundle';
  classes: string[];
  preprocess: Preprocessing & { maxPixels: number };
  /** The commit whose d2.lock names this build (`--rev`'s commit; null: not committed). */
  commit: string | null;
  dataset: string;
  /** The model object's oid (SHA-256 of d2-model.bin). */
  model: string;
  build: string;
  engine: string;
  preset: string;
  seed: number;
  metrics: BuildRecord['metrics'];
  files: { d2Model: string; layersModel: string; weights: string; preprocess: string };
  /**
   * Transfer learning: the backbone the head (d2-model.bin) reads, its files under `backbone/`
   * (d2's own prediction runs it from there); model.json is backbone and head as one model.
   */
  backbone?: {
    source: string; oid: string; layer: string; dims: number; files: string[];
    /** The backbone is a TensorFlow.js graph model: model.json is the head alone, fed the output of the graph's node `layer`. */
    graph?: true;
  };
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

// The code lines of this README are assembled so that no source line starts with an import
// statement: src/architecture.test.ts reads such lines as this module's own imports.
const IMPORT = 'import';

function readme(b: BundleInfo): string {
  const image = b.preprocess.modality === 'image';
  const text = b.preprocess.modality === 'text';
  const shape = `[N, ${b.preprocess.shape.join(', ')}]`;
  const metrics = b.metrics.test ? `Test accuracy ${(b.metrics.test.accuracy * 100).toFixed(1)}% on ${b.metrics.test.count} items.\n` : '';
  return `# d2 model bundle

Classes (${b.classes.length}, in output order): ${b.classes.join(', ')}
Built from commit ${b.commit ?? '(not committed)'}, dataset ${b.dataset}, model ${b.model}
(preset ${b.preset}, seed ${b.seed}, trained on ${b.engine}).
${metrics}
| file | what |
|---|---|
| \`d2-bundle.json\` | classes, preprocessing (${image ? 'image steps' : text ? 'text encoding: settings, vocabulary, IDF' : 'table encoding'}, input shape), revision and dataset hashes, metrics |
| \`${b.files.d2Model}\` | the model in d2's format (its SHA-256 is \`model\` in d2-bundle.json) |
| \`${b.files.layersModel}\`, \`${b.files.weights}\` | the same model as a TensorFlow.js layers model (input ${b.backbone?.graph ? `[N, ${b.backbone.dims}], the graph backbone's features` : shape}, output class probabilities) |
| \`${b.files.preprocess}\` | d2's preprocessing as one dependency-free ES module, for TensorFlow.js runtimes |
| \`package.json\` | marks preprocess.js as an ES module for Node |
${b.backbone ? `| \`backbone/\` | the backbone's own files (cut at ${b.backbone.graph ? 'graph node' : 'layer'} \`${b.backbone.layer}\`, ${b.backbone.dims} features): d2's loader runs them before the head in \`${b.files.d2Model}\`; ${b.backbone.graph
    ? `the backbone is a TensorFlow.js graph model, which cannot join a layers model: \`${b.files.layersModel}\` is the head alone — run \`tf.loadGraphModel('backbone/model.json')\`, \`execute(x, '${b.backbone.layer}')\`, flatten, then the head`
    : `\`${b.files.layersModel}\` already holds backbone and head as one model`} |
` : ''}
## In Node, with d2: the same preprocessing and results, bit for bit, as \`d2 predict\`

\`\`\`js
${IMPORT} fs from 'node:fs';
${IMPORT} { loadBundle } from 'd2';
const model = await loadBundle('path/to/this/folder');           // no d2 project or git needed
${image
    ? "const probs = await model.predictImages([fs.readFileSync('photo.png')]); // Float32Array, N × classes"
    : text ? "const probs = await model.predictTexts(['a text to classify']);      // Float32Array, N × classes"
    : "const probs = await model.predictRows([{ /* column: 'value', … */ }]);    // Float32Array, N × classes"}
await model.dispose();
\`\`\`

## In a browser (or any TensorFlow.js runtime)

\`\`\`js
${IMPORT} * as tf from '@tensorflow/tfjs';
${IMPORT} { ${image ? 'preprocessImageData' : text ? 'preprocessText' : 'preprocessRow'}, topClasses } from './${b.files.preprocess}';

const bundle = await (await fetch('model/d2-bundle.json')).json();
const model = await tf.loadLayersModel('model/${b.files.layersModel}');
${image
    ? `const bitmap = await createImageBitmap(await (await fetch('photo.jpg')).blob()); // applies EXIF orientation
const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
const ctx = canvas.getContext('2d');
ctx.drawImage(bitmap, 0, 0);
const x = preprocessImageData(ctx.getImageData(0, 0, bitmap.width, bitmap.height), bundle.preprocess);`
    : text ? "const x = preprocessText('a text to classify', bundle.preprocess);"
    : "const x = preprocessRow({ /* column: 'value', … */ }, bundle.preprocess);"}
const probs = model.predict(tf.tensor(x, [1, ...bundle.preprocess.shape])).dataSync();
const best = topClasses(probs, bundle.classes, 3); // [{ label, probability }, …], most probable first
\`\`\`

\`${b.files.preprocess}\` runs d2's own ${image ? 'image steps (crop, resize, channels), scaling (x / 255) and normalisation' : text ? 'text encoding (NFKC, lower case, n-grams, the vocabulary and IDF weights of the training split, L2 norm, chunks averaged)' : 'row encoding (scaling with the statistics of the training split, one-hot categories, missing values)'}
as recorded in \`d2-bundle.json\`, so the model gets the inputs it was trained and evaluated on.
${image
    ? `Only decoding is the browser's: lossless images (PNG) give d2's pixels exactly; lossy ones
(JPEG, WebP) can differ by a unit here and there between decoders. Give \`preprocessPixels\`
\`{ data, width, height, channels, orientation }\` for pixels decoded some other way.
`
    : ''}The layers model computes what d2's model computes with other kernels: probabilities agree
to float32 rounding (about 1e-6), not bit for bit.
`;
}

/** The portable preprocessing module, built with d2 (`npm run build` → dist/portable/). */
function portablePreprocess(): Uint8Array {
  // dist/api/export.js and the CLI bundle (dist/bundle/*.js) are both one level under dist/
  const file = new URL('../portable/d2-preprocess.js', import.meta.url);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`d2 is installed without its portable preprocessing module '${file.pathname}' (run 'npm run build')`, { cause: e });
  }
}

/**
 * `out` may be absent or an empty folder; with `force`, also a bundle d2 wrote. Anything else
 * is refused, even with `force`: replacing a folder deletes it.
 */
function checkTarget(out: string, given: string, force: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(out);
  } catch {
    return;
  }
  if (!st.isDirectory()) throw new InvalidArgument(`'${given}' exists and is not a folder`, { data: { out: given }, hint: 'choose another folder' });
  const entries = fs.readdirSync(out);
  if (!entries.length) return;
  const isBundle = entries.includes('d2-bundle.json');
  if (force && isBundle) return;
  throw new InvalidArgument(`'${given}' exists and is not empty${isBundle ? '' : ' (and is not a d2 bundle)'}`, {
    data: { out: given },
    hint: isBundle ? "choose another folder, or add option 'force' to replace the bundle in it" : "choose another folder (option 'force' replaces only a folder holding a d2 bundle)",
  });
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
    if (!options.out) throw new InvalidArgument("give the bundle folder with option 'out' DIR");
    const out = path.resolve(options.dir ?? '.', options.out);
    checkTarget(out, options.out, options.force === true);
    const { build, maxPixels, commit } = await resolveModelBuild(openProject(options.dir), options);
    const project = openProject(options.dir);
    const modelBytes = project.store.read(build.model);
    const backbone = backboneOfBuild(project.store, build);
    let layers: { modelJson: Record<string, unknown>; weights: Uint8Array };
    // a graph backbone cannot join a layers model: model.json is then the head alone, run on
    // the output of the backbone's node `layer` (backbone/ holds the graph model)
    const graph = backbone ? (await import('../engine/backbone.js')).isGraph(backbone.files, backbone.source) : false;
    if (backbone && !graph) {
      const { combineWithHead } = await import('../engine/backbone.js');
      layers = await combineWithHead(backbone.files, backbone.layer, modelBytes, backbone.source, 'weights.bin');
    } else {
      const { toLayersModel } = await import('../engine/layers-export.js');
      layers = await toLayersModel(modelBytes, 'weights.bin');
    }
    const backboneFiles = backbone ? [...backbone.files.keys()].sort() : [];
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
      files: { d2Model: 'd2-model.bin', layersModel: 'model.json', weights: 'weights.bin', preprocess: 'preprocess.js' },
      ...(build.backbone ? { backbone: { ...build.backbone, files: backboneFiles.map((f) => `${BACKBONE_DIR}/${f}`), ...(graph ? { graph: true as const } : {}) } } : {}),
    };
    const files: [string, string | Uint8Array][] = [
      ['d2-bundle.json', `${JSON.stringify(bundle, null, 2)}\n`],
      ['d2-model.bin', modelBytes],
      ['model.json', `${JSON.stringify(layers.modelJson)}\n`],
      ['weights.bin', layers.weights],
      ['preprocess.js', portablePreprocess()],
      // makes preprocess.js an ES module for Node versions that do not detect one by its syntax
      ['package.json', `${JSON.stringify({ private: true, type: 'module', description: 'a d2 model bundle (see README.md)' }, null, 2)}\n`],
      ['README.md', readme(bundle)],
      ...backboneFiles.map((f): [string, Uint8Array] => [`${BACKBONE_DIR}/${f}`, backbone!.files.get(f)!]),
    ];
    const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
    fs.mkdirSync(tmp, { recursive: true });
    for (const [name] of files) fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
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
      checkTarget(out, options.out, options.force === true); // again: it may have appeared meanwhile
      // the old bundle steps aside before the new one takes its name, and is removed only then
      const old = fs.existsSync(out) ? `${out}.old-${process.pid}-${Date.now()}` : undefined;
      if (old) fs.renameSync(out, old);
      try {
        fs.renameSync(tmp, out);
      } catch (e) {
        if (old) fs.renameSync(old, out);
        throw e;
      }
      if (old) fs.rmSync(old, { recursive: true, force: true });
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
 * const probs = await model.predictImages([fs.readFileSync('photo.png')]); // N × model.classes.length
 * await model.dispose();
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
    let backbone: PredictorBackbone | undefined;
    if (bundle.backbone) {
      const b = bundle.backbone;
      const files = new Map<string, Uint8Array>();
      for (const f of b.files) {
        const name = f.startsWith(`${BACKBONE_DIR}/`) ? f.slice(BACKBONE_DIR.length + 1) : f;
        if (checkRelativePath(name) !== undefined) throw new InvalidArgument(`'${file}' names backbone file '${f.slice(0, 80)}', which is not a plain relative path`);
        files.set(name, fs.readFileSync(path.join(dir, BACKBONE_DIR, name)));
      }
      backbone = { files, layer: b.layer, inputShape: bundle.preprocess.shape, source: b.source };
    }
    const predictor = await makePredictor(bytes, { classes: bundle.classes, preprocess: bundle.preprocess, model: bundle.model, maxPixels: bundle.preprocess.maxPixels, ...(backbone ? { backbone } : {}) }, options.engine);
    return Object.assign(predictor, { bundle });
  });
}
