/** The git adapter: the only place d2 talks to a git repository. */
export * from './repo.js';
