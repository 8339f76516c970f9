/** d2's committed text formats (d2.yaml, source snapshots, labels CSVs, review decisions) and the formats it exchanges (Label Studio JSON, decisions CSV); their parsers. */
export * from './schema.js';
export * from './manifest.js';
export * from './template.js';
export * from './labels-file.js';
export * from './snapshot-file.js';
export { formatIssue, suggest, type Issue } from './parse-yaml.js';
export * from './csv-table.js';
export * from './lock-file.js';
export * from './csv-stream.js';
export * from './remotes-file.js';
export * from './label-studio.js';
export * from './decisions-file.js';
export * from './ci-workflow.js';
export * from './settings.js';
export * from './review-file.js';
