/**
 * The one ordering of paths and names in every file d2 writes: JavaScript string order
 * (UTF-16 code units), independent of locale, so listings sort the same on every machine.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
