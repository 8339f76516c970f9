/**
 * The preprocessing a dataset gets: the manifest's `preprocess.image` steps when written, else
 * steps derived from the data — the most common size among a sample of the training images
 * (capped so the longer side is at most MAX_DERIVED_SIDE; other sizes are scaled to cover it and
 * centre-cropped) and their channels (1 when every
 * sampled image is grey, else 3). Derived steps are returned as data (and written to d2.lock by
 * `d2 build`), so nothing is guessed silently.
 *
 * With a backbone (`model.backbone`) and no written steps, the steps are the backbone's input
 * (its size, channels and value range), derived from it rather than from the data.
 *
 * Invariant: the derivation is deterministic: the sample is the first SAMPLE items by oid.
 */
import type { ResolvedDataset } from '../core/dataset.js';
import type { ImageStep, Manifest } from '../manifest/index.js';
import type { ObjectStore } from '../store/index.js';
import { compareStrings } from '../util/compare.js';
import type { PixelConfig } from './packing.js';

const SAMPLE = 500;
const MAX_DERIVED_SIDE = 128;

export interface ResolvedPreprocess {
  config: PixelConfig;
  /** True when the steps were derived from the data, not written in d2.yaml. */
  derived: boolean;
  /** What the derivation saw (absent when the manifest gave the steps). */
  sample?: { images: number; sizes: Record<string, number>; channels: Record<string, number> };
}

export async function resolvePreprocess(manifest: Manifest, dataset: ResolvedDataset, store: ObjectStore, backboneSteps?: ImageStep[]): Promise<ResolvedPreprocess> {
  const maxPixels = manifest.preprocess.maxPixels;
  if (manifest.preprocess.image) return { config: { steps: manifest.preprocess.image, maxPixels }, derived: false };
  // a backbone reads one input: its steps, not the data's, decide (project/backbone.ts)
  if (backboneSteps) return { config: { steps: backboneSteps, maxPixels }, derived: true };
  const { probeImage } = await import('../preprocess/index.js');
  const pool = dataset.items.filter((i) => i.set === 'train');
  const candidates = (pool.length ? pool : dataset.items).map((i) => i).sort((a, b) => compareStrings(a.oid, b.oid));
  const sizes: Record<string, number> = {};
  const channels: Record<string, number> = {};
  let images = 0;
  const seen = new Set<string>();
  for (const it of candidates) {
    if (images >= SAMPLE) break;
    if (seen.has(it.oid)) continue;
    seen.add(it.oid);
    try {
      const p = await probeImage(store.read(it.oid, it.size));
      const k = `${p.width}x${p.height}`;
      sizes[k] = (sizes[k] ?? 0) + 1;
      const grey = p.channels <= 2 ? '1' : '3';
      channels[grey] = (channels[grey] ?? 0) + 1;
      images++;
    } catch {
      // a bad item: preprocessing reports it properly later
    }
  }
  const steps: ImageStep[] = [];
  const mode = Object.entries(sizes).sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))[0]?.[0];
  if (mode) {
    let [w, h] = mode.split('x').map(Number) as [number, number];
    const scale = Math.min(1, MAX_DERIVED_SIDE / Math.max(w, h));
    w = Math.max(1, Math.round(w * scale));
    h = Math.max(1, Math.round(h * scale));
    steps.push({ resize: { width: w, height: h, fit: 'cover', kernel: 'bilinear', background: 0 } });
  }
  steps.push({ channels: channels['3'] ? 3 : 1 });
  return { config: { steps, maxPixels }, derived: true, sample: { images, sizes, channels } };
}
