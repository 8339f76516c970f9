/** The git adapter: the only place d2 talks to a git repository. */
export * from './repo.js';
export * from './notes.js';
export * from './sharing.js';
export * from './records.js';
