/**
 * The training plan: the network and every training setting, chosen from the data (modality,
 * input shape, class count, dataset size, class balance) and the preset. d2 exposes no
 * learning-rate, batch-size or architecture knobs; docs/training.md explains each default.
 *
 * Invariants:
 * - Pure and deterministic: the same inputs give the same plan (no engine, clock or randomness),
 *   so a plan can be part of a build's cache key and is recorded with the model.
 * - The plan, not the number of cores, fixes the arithmetic: a batch is always split into
 *   `shards` fixed parts whose gradients are summed in shard order, however many workers run
 *   them. Weights therefore depend on data, preset, seed and engine only.
 */
import { InvalidArgument } from '../errors/index.js';

export type Preset = 'fast' | 'default' | 'thorough';
export const PRESET_NAMES: readonly Preset[] = ['fast', 'default', 'thorough'];

export type LayerSpec =
  | { kind: 'conv2d'; filters: number; kernel: number; padding: 'valid' | 'same' }
  | { kind: 'maxPool'; size: number }
  | { kind: 'flatten' }
  | { kind: 'dense'; units: number; activation: 'relu' | 'linear' }
  | { kind: 'dropout'; rate: number };

/** A feed-forward network: conv2d layers use a ReLU; the last layer gives logits. */
export interface Architecture {
  family: 'cnn' | 'mlp';
  /** [H, W, C] for images, [F] for feature vectors. */
  inputShape: number[];
  numClasses: number;
  layers: LayerSpec[];
}

/** A mirror the data manager declared label-preserving (`preprocess.augment.flip` in d2.yaml). */
export type Flip = 'horizontal' | 'vertical';
export const FLIPS: readonly Flip[] = ['horizontal', 'vertical'];

/**
 * Label-preserving transforms of training images, drawn per item from the seed (never at
 * evaluation or prediction): a translation by up to `shift` pixels each way (edges repeated),
 * and each declared mirror with probability 1/2.
 */
export interface Augmentation {
  shift: number;
  flip: Flip[];
}

export interface TrainingPlan {
  preset: Preset;
  architecture: Architecture;
  batchSize: number;
  /** Fixed parts of each batch whose gradients are computed separately, then summed in order. */
  shards: number;
  optimizer: { name: 'adam'; learningRate: number; beta1: number; beta2: number; epsilon: number };
  /**
   * 'constant', or 'cosine' decay from learningRate to learningRate × minFactor over maxEpochs;
   * with `warmup` (a fraction of all steps), the rate first rises linearly from
   * learningRate × minFactor to learningRate (one-cycle).
   */
  schedule: { kind: 'constant' | 'cosine'; minFactor: number; warmup?: number };
  /** Training images only: the augmentation (null: none). */
  augment: Augmentation | null;
  /** The target puts this much probability evenly on all classes (0: plain cross-entropy). */
  labelSmoothing: number;
  maxEpochs: number;
  /** Stop when validation loss has not improved by minDelta for this many epochs. */
  patience: number;
  minDelta: number;
  /** Return the weights of the epoch with the lowest validation loss (not the last epoch's). */
  restoreBest: boolean;
  /** Per-class loss weights (balanced) when classes are imbalanced, else null. */
  classWeights: number[] | null;
  /**
   * Train every conv2d layer batch-normalised (statistics of each batch part), folded into the
   * convolutions for evaluation and the saved model (batch-norm.ts): the architecture and the
   * model stay plain. Training only.
   */
  batchNorm: boolean;
}

export interface PlanInput {
  shape: number[];
  numClasses: number;
  trainCount: number;
  /** Count of each class in the training set (length numClasses). */
  classCounts: number[];
  preset: Preset;
  /**
   * Feature vectors only: the network on top of them. 'linear' is softmax regression (no
   * hidden layer), 'small' a one-hidden-layer MLP; omitted, the preset's MLP. Text builds train
   * both and keep the one with the lower validation loss (project/builds.ts).
   */
  head?: Head;
  /** Images: mirrors declared label-preserving (d2.yaml `preprocess.augment.flip`). */
  flip?: Flip[];
  /** Images: false when d2.yaml says translations do not keep labels (default true). */
  translate?: boolean;
}

export type Head = 'linear' | 'small';
export const HEADS: readonly Head[] = ['linear', 'small'];

/** Classes count as imbalanced when the largest is this many times the smallest present one. */
export const IMBALANCE_RATIO = 1.5;

function isImage(shape: number[]): boolean {
  return shape.length === 3 && (shape[0] as number) > 1 && (shape[1] as number) > 1;
}

function cnnLayers(preset: Preset, shape: number[]): LayerSpec[] {
  const [h, w] = shape as [number, number, number];
  const small = Math.min(h, w);
  if (preset === 'fast') {
    // The reference network (Keras / PyTorch defaults: valid padding).
    return [
      { kind: 'conv2d', filters: 16, kernel: 3, padding: 'valid' },
      { kind: 'maxPool', size: 2 },
      { kind: 'conv2d', filters: 32, kernel: 3, padding: 'valid' },
      { kind: 'maxPool', size: 2 },
      { kind: 'flatten' },
      { kind: 'dense', units: 64, activation: 'relu' },
    ];
  }
  if (preset === 'default') {
    // Chosen by bench/recipe.js (docs/training.md, "The recipe, measured"): a 5×5 first
    // convolution with 'same' padding (cheap over few input channels; it sees the image's edges
    // and leaves a 6×6 map at 28 px) beat 3×3 and 5×5 'valid' ones; 48 filters in the second
    // keep most of 64's accuracy for a quarter less arithmetic in that layer; dense 256.
    return [
      { kind: 'conv2d', filters: 32, kernel: 5, padding: 'same' },
      { kind: 'maxPool', size: 2 },
      { kind: 'conv2d', filters: 48, kernel: 3, padding: 'valid' },
      { kind: 'maxPool', size: 2 },
      { kind: 'flatten' },
      { kind: 'dense', units: 256, activation: 'relu' },
      { kind: 'dropout', rate: 0.3 },
    ];
  }
  // thorough: two convolutions per stage, 'same' padding, a third stage for larger images.
  const layers: LayerSpec[] = [];
  const stages = small >= 48 ? [32, 64, 128] : [32, 64];
  for (const f of stages) {
    layers.push({ kind: 'conv2d', filters: f, kernel: 3, padding: 'same' });
    layers.push({ kind: 'conv2d', filters: f, kernel: 3, padding: 'same' });
    layers.push({ kind: 'maxPool', size: 2 });
  }
  layers.push({ kind: 'flatten' }, { kind: 'dense', units: 256, activation: 'relu' }, { kind: 'dropout', rate: 0.4 });
  return layers;
}

/**
 * Fit the CNN to small images: a pooling layer whose window does not fit twice is dropped, and
 * a 'valid' convolution that would leave fewer than 3 positions becomes 'same'. Images of the
 * usual sizes (≥ 14 px for 'fast', ≥ 12 px for 'default') are not affected.
 */
function fitToImage(layers: LayerSpec[], shape: number[]): LayerSpec[] {
  let size = Math.min(shape[0] as number, shape[1] as number);
  const out: LayerSpec[] = [];
  for (const l of layers) {
    if (l.kind === 'conv2d') {
      const padding = l.padding === 'valid' && size - l.kernel + 1 < 3 ? 'same' : l.padding;
      out.push(padding === l.padding ? l : { ...l, padding });
      if (padding === 'valid') size = size - l.kernel + 1;
    } else if (l.kind === 'maxPool') {
      if (size < 2 * l.size) continue;
      out.push(l);
      size = Math.floor(size / l.size);
    } else {
      out.push(l);
    }
  }
  return out;
}

function mlpLayers(preset: Preset, features: number, trainCount: number): LayerSpec[] {
  if (preset === 'fast') {
    // The reference MLP: two hidden ReLU layers, no regularisation.
    return [{ kind: 'dense', units: 256, activation: 'relu' }, { kind: 'dense', units: 128, activation: 'relu' }];
  }
  // Small tables get narrower layers: fewer parameters than rows keeps overfitting in check.
  const wide = trainCount >= 5000 || features >= 256;
  const units = preset === 'thorough' ? (wide ? [512, 256, 128] : [128, 64, 32]) : wide ? [256, 128] : [64, 32];
  const rate = preset === 'thorough' ? 0.3 : 0.2;
  const layers: LayerSpec[] = [];
  for (const u of units) layers.push({ kind: 'dense', units: u, activation: 'relu' }, { kind: 'dropout', rate });
  return layers;
}

/** Balanced class weights, N / (K × count), or null when classes are balanced enough. */
export function classWeightsFor(classCounts: number[]): number[] | null {
  const present = classCounts.filter((c) => c > 0);
  if (present.length < 2) return null;
  const max = Math.max(...present);
  const min = Math.min(...present);
  if (max / min < IMBALANCE_RATIO) return null;
  const n = present.reduce((a, b) => a + b, 0);
  return classCounts.map((c) => (c > 0 ? n / (present.length * c) : 1));
}

/**
 * The translation of training images: for `thorough`, about 7 % of the smaller side (2 px at 28
 * and 32 px); for `default`, whose network is too small to use 2 px at 28 (bench/recipe.js:
 * 93.18 % test with 1 px against 92.81 %), about 3.5 % (1 px at 28 and 32 px); at least 1 px,
 * at most 4 px, none below 8 px.
 */
export function defaultShift(shape: number[], preset: Preset = 'default'): number {
  const small = Math.min(shape[0] as number, shape[1] as number);
  return small < 8 ? 0 : Math.max(1, Math.min(4, Math.round(small / (preset === 'thorough' ? 14 : 28))));
}

/** Steps after which the default preset's image training ends (at least 10 and at most 16 epochs). */
const DEFAULT_IMAGE_STEPS = 13500;

/**
 * The image presets' training (not 'fast', the reference network): batch norm, a warm-up to
 * 3e-3 over the first 15 % of the steps, then cosine decay to 2 % (bench/recipe.js).
 */
const IMAGE_RATE = 3e-3;
const IMAGE_SCHEDULE = { kind: 'cosine', minFactor: 0.02, warmup: 0.15 } as const;
/** Label smoothing of the image presets (bench/recipe.js). */
const IMAGE_LABEL_SMOOTHING = 0;

/**
 * Choose the network and training settings.
 *
 * @example
 * const plan = planTraining({ shape: [28, 28, 1], numClasses: 10, trainCount: 60000, classCounts, preset: 'default' });
 * plan.architecture.family; // 'cnn'
 */
export function planTraining(input: PlanInput): TrainingPlan {
  const { shape, numClasses, trainCount, classCounts, preset } = input;
  if (!PRESET_NAMES.includes(preset)) throw new InvalidArgument(`unknown preset '${String(preset)}' (expected one of: ${PRESET_NAMES.join(', ')})`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new InvalidArgument(`a classifier needs at least 2 classes, not ${numClasses}`);
  if (!shape.length || shape.some((d) => !Number.isInteger(d) || d < 1)) throw new InvalidArgument(`invalid input shape [${shape.join(', ')}]`);
  const image = isImage(shape);
  const features = shape.reduce((a, b) => a * b, 1);
  const head = image ? undefined : input.head;
  const layers = image ? fitToImage(cnnLayers(preset, shape), shape)
    : head === 'linear' ? [{ kind: 'flatten' } as LayerSpec]
    : head === 'small' ? [{ kind: 'flatten' } as LayerSpec, { kind: 'dense', units: 64, activation: 'relu' } as LayerSpec, { kind: 'dropout', rate: 0.3 } as LayerSpec]
    : [{ kind: 'flatten' } as LayerSpec, ...mlpLayers(preset, features, trainCount)];
  layers.push({ kind: 'dense', units: numClasses, activation: 'linear' });
  // Small datasets: smaller batches give more updates per epoch.
  const batchSize = trainCount < 2000 ? 32 : 64;
  // Large image sets reach their accuracy in fewer, longer epochs: the default preset stops
  // after about 13,500 steps (16 epochs of Fashion-MNIST's 54,000 training images,
  // bench/build.js), at least 10 epochs; small sets get 16. Patience 4: with a warm-up the
  // validation loss can stall for an epoch or two before the rate decays.
  const stepsPerEpoch = Math.ceil(trainCount / batchSize);
  const defaultImageEpochs = Math.min(16, Math.max(10, Math.ceil(DEFAULT_IMAGE_STEPS / Math.max(1, stepsPerEpoch))));
  const epochs: Record<Preset, { max: number; patience: number }> = {
    fast: { max: 10, patience: 2 },
    default: { max: image ? defaultImageEpochs : 50, patience: image ? 4 : 5 },
    thorough: { max: image ? 40 : 100, patience: image ? 6 : 10 },
  };
  const flip = image ? FLIPS.filter((f) => input.flip?.includes(f)) : [];
  // The image presets' recipe (batch norm, warm-up); 'fast' stays the reference network.
  const recipe = image && preset !== 'fast';
  // 'fast' stays the reference network of the speed benchmark: no augmentation there.
  const shift = image && preset !== 'fast' && input.translate !== false ? defaultShift(shape, preset) : 0;
  return {
    preset,
    architecture: { family: image ? 'cnn' : 'mlp', inputShape: [...shape], numClasses, layers },
    batchSize,
    shards: 2,
    // Softmax regression on sparse L2-normalised inputs moves each weight little per step: a
    // larger step (measured on bench/text.js) reaches the same loss in a third of the epochs.
    optimizer: { name: 'adam', learningRate: head === 'linear' ? 1e-2 : recipe ? IMAGE_RATE : 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    schedule: preset === 'fast' ? { kind: 'constant', minFactor: 1 } : recipe ? { ...IMAGE_SCHEDULE } : { kind: 'cosine', minFactor: 0.05 },
    augment: shift > 0 || flip.length > 0 ? { shift, flip } : null,
    labelSmoothing: recipe ? IMAGE_LABEL_SMOOTHING : 0,
    maxEpochs: epochs[preset].max,
    patience: epochs[preset].patience,
    minDelta: 1e-4,
    restoreBest: true,
    classWeights: classWeightsFor(classCounts),
    batchNorm: recipe,
  };
}

/**
 * The plan's training settings in one line (d2.lock's `model.recipe`; the architecture has its
 * own line), e.g. 'adam 0.001, batch 64, cosine to 5 %, ≤ 15 epochs (patience 3), shift 2 px'.
 */
export function describeRecipe(plan: TrainingPlan): string {
  const s = plan.schedule;
  const pct = (f: number) => `${Math.round(f * 1000) / 10} %`;
  const schedule = s.kind === 'constant' ? 'constant rate' : `${s.warmup ? `warm-up ${pct(s.warmup)}, ` : ''}cosine to ${pct(s.minFactor)}`;
  const parts = [`adam ${plan.optimizer.learningRate}`, `batch ${plan.batchSize}`, schedule, `≤ ${plan.maxEpochs} epochs (patience ${plan.patience})`];
  if (plan.augment?.shift) parts.push(`shift ${plan.augment.shift} px`);
  if (plan.augment?.flip.length) parts.push(`flip ${plan.augment.flip.join('+')}`);
  if (plan.labelSmoothing > 0) parts.push(`label smoothing ${plan.labelSmoothing}`);
  if (plan.batchNorm) parts.push('batch norm');
  if (plan.classWeights) parts.push('class weights');
  return parts.join(', ');
}

/** Learning rate for a step: constant, or cosine-decayed over all steps of maxEpochs. */
export function learningRateAt(plan: TrainingPlan, epoch: number, step: number, stepsPerEpoch: number, base = plan.optimizer.learningRate): number {
  if (plan.schedule.kind === 'constant') return base;
  const total = plan.maxEpochs * stepsPerEpoch;
  const progress = Math.min(1, (epoch * stepsPerEpoch + step) / total);
  const f = plan.schedule.minFactor;
  const warmup = plan.schedule.warmup ?? 0;
  if (progress < warmup) return base * (f + (1 - f) * (progress / warmup));
  const decay = warmup > 0 ? (progress - warmup) / (1 - warmup) : progress;
  return base * (f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * decay)));
}
