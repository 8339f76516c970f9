/**
 * The names of d2's committed files, in their own module: finding a project or checking a
 * clean-status stamp must not load the manifest's parser.
 */
export const MANIFEST_FILE = 'd2.yaml';
export const SOURCES_DIR = 'd2.sources';
