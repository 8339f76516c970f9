/**
 * Image format recognition from the first bytes (magic numbers), without decoding. Used to tell
 * "not an image at all" from "an image format sharp cannot read here" from "a damaged image",
 * and to detect truncation structurally, so error reasons do not depend on decoder messages.
 *
 * Invariant: pure functions of the bytes; nothing here allocates in proportion to the input.
 */

/** Formats sharp can decode from a buffer in this build (`sharp.format[*].input.buffer`). */
export const DECODABLE_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff', 'heif', 'svg']);

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[at + i] !== sig[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < Math.min(to, bytes.length); i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

export function isPngSignature(bytes: Uint8Array): boolean {
  return startsWith(bytes, PNG_SIGNATURE);
}

/**
 * The format the bytes claim to be, or undefined when they match no image format d2 knows.
 * HEIF-family files are named by brand: 'heif' for AVIF (decodable), 'heic' for HEVC (not in
 * sharp's prebuilt binaries).
 */
export function sniffFormat(bytes: Uint8Array): string | undefined {
  if (isPngSignature(bytes)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  const head = ascii(bytes, 0, 12);
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'webp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])
    || startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (head.slice(4, 8) === 'ftyp') {
    const brand = head.slice(8, 12);
    if (brand === 'avif' || brand === 'avis') return 'heif';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'heic';
    if (brand === 'jp2 ' || brand === 'jpx ') return 'jp2';
    return undefined;
  }
  if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return 'jp2';
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'jxl';
  if (head.startsWith('BM') && bytes.length >= 26) return 'bmp';
  if (head.startsWith('8BPS')) return 'psd';
  if (head.startsWith('%PDF')) return 'pdf';
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00]) && bytes.length >= 22) return 'ico';
  if (/^P[1-7]\s/.test(head)) return 'ppm';
  if (looksLikeSvg(bytes)) return 'svg';
  return undefined;
}

/** An XML or SVG text whose root element is <svg> within its first kilobyte (or gzip for svgz). */
function looksLikeSvg(bytes: Uint8Array): boolean {
  if (startsWith(bytes, [0x1f, 0x8b])) return true; // svgz: sharp tries it; anything else gzipped fails as 'corrupt'
  const text = ascii(bytes, 0, 1024).replace(/^\uFEFF|^\xEF\xBB\xBF/, '');
  return /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]/i.test(text);
}

/**
 * True when the bytes of a recognised format visibly stop before the format's end marker
 * (PNG without IEND, JPEG without EOI, GIF without trailer, a RIFF shorter than it declares).
 * False means "not visibly truncated", not "intact".
 */
export function looksTruncated(format: string, bytes: Uint8Array): boolean {
  switch (format) {
    case 'png': {
      let off = 8;
      while (off + 8 <= bytes.length) {
        const len = readU32(bytes, off);
        const type = ascii(bytes, off + 4, off + 8);
        if (off + 12 + len > bytes.length) return true;
        if (type === 'IEND') return false;
        off += 12 + len;
      }
      return true;
    }
    case 'jpeg': {
      // The EOI marker ends the file, perhaps followed by padding or another file (e.g. a trailer).
      let end = bytes.length;
      while (end > 2 && bytes[end - 1] === 0x00) end--;
      for (let i = end - 2; i >= Math.max(2, end - 4096); i--) {
        if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return false;
      }
      return true;
    }
    case 'gif':
      return bytes[bytes.length - 1] !== 0x3b;
    case 'webp':
      return bytes.length < 12 || 8 + readU32LE(bytes, 4) > bytes.length;
    default:
      return false;
  }
}

export function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) * 0x1000000) + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
}

function readU32LE(bytes: Uint8Array, at: number): number {
  return ((bytes[at + 3] as number) * 0x1000000) + (((bytes[at + 2] as number) << 16) | ((bytes[at + 1] as number) << 8) | (bytes[at] as number));
}
