// Fashion-MNIST from Debian's `dataset-fashion-mnist` package (IDX files, gzip), turned into what
// the benchmarks need: class-folder PNG trees (the ImageFolder layout) or raw tensors.
// Used by bench/ and by the script that regenerated fixtures/fashion-mnist; never by d2 itself.
import { createReadStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { encode } from 'fast-png';

export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
export const CLASS_NAMES = [
  'tshirt_top', 'trouser', 'pullover', 'dress', 'coat',
  'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot',
];

export function haveFashionMnist() {
  return existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
}

function requireDataset() {
  if (!haveFashionMnist()) {
    throw new Error(`Fashion-MNIST not found in '${FASHION_MNIST_DIR}' ` +
      '(install it with: apt-get update && apt-get install -y dataset-fashion-mnist)');
  }
}

/** Parse one IDX file (big-endian header: magic, dims…, then uint8 data). */
function parseIdx(buf) {
  const dims = buf[3];
  const shape = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  return { shape, data: buf.subarray(4 + 4 * dims) };
}

/** Load one split ('train' | 't10k') as { images: Uint8Array (n*28*28), labels: Uint8Array, n }. */
export async function loadSplit(split) {
  requireDataset();
  const img = parseIdx(gunzipSync(await readFile(join(FASHION_MNIST_DIR, `${split}-images-idx3-ubyte.gz`))));
  const lab = parseIdx(gunzipSync(await readFile(join(FASHION_MNIST_DIR, `${split}-labels-idx1-ubyte.gz`))));
  return { images: img.data, labels: lab.data, n: img.shape[0], height: img.shape[1], width: img.shape[2] };
}

/**
 * Write a split as PNG files in class folders: <out>/<class>/<split>-<index>.png.
 * `perClass` limits how many images of each class are written (first ones in file order).
 */
export async function writePngTree(split, out, { perClass = Infinity } = {}) {
  const { images, labels, n, height, width } = await loadSplit(split);
  for (const c of CLASS_NAMES) mkdirSync(join(out, c), { recursive: true });
  const counts = new Array(CLASS_NAMES.length).fill(0);
  let written = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (counts[label] >= perClass) continue;
    counts[label]++;
    const pixels = images.subarray(i * height * width, (i + 1) * height * width);
    const png = encode({ width, height, data: pixels, channels: 1, depth: 8 });
    writeFileSync(join(out, CLASS_NAMES[label], `${split}-${String(i).padStart(5, '0')}.png`), png);
    written++;
  }
  return written;
}

/**
 * The 70,000-image PNG tree every image benchmark reads, written once under `work` and reused:
 * `<work>/fmnist-png/fmnist/<class>/<split>-<index>.png`. Exits with the install command when
 * the Debian package is missing. Returns `<work>/fmnist-png`.
 */
export async function pngTree(work) {
  if (!haveFashionMnist()) {
    console.error('Fashion-MNIST is missing: apt-get update && apt-get install -y dataset-fashion-mnist');
    process.exit(1);
  }
  const tree = join(work, 'fmnist-png');
  if (!existsSync(join(tree, '.complete'))) {
    console.error('writing 70,000 PNG files (once)…');
    rmSync(tree, { recursive: true, force: true });
    await writePngTree('train', join(tree, 'fmnist'));
    await writePngTree('t10k', join(tree, 'fmnist'));
    writeFileSync(join(tree, '.complete'), '');
  }
  return tree;
}
