/** The working-tree adapter: walking source folders, the stat cache, .gitignore entries. */
export { walk, type WalkedFile, type WalkProblem, type WalkProblemKind, type WalkResult, type WalkOptions } from './walk.js';
export { StatCache, nowMs, type StatFields } from './stat-cache.js';
export { ensureGitignoreEntries } from './gitignore.js';
