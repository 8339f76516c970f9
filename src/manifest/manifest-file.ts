/** The manifest's file name, in its own module: finding a project must not load the parser. */
export const MANIFEST_FILE = 'd2.yaml';
