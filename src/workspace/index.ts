/** The working-tree adapter: walking source folders, the stat cache, .gitignore entries. */
export { walk, type WalkedFile, type WalkedFolder, type WalkProblem, type WalkProblemKind, type WalkResult, type WalkOptions } from './walk.js';
export { StatCache, nowMs, type FolderStat, type StatFields } from './stat-cache.js';
export { ensureGitignoreEntries } from './gitignore.js';
export { beginUnchangedCheck, unchangedSinceCache, type UnchangedCheck } from './unchanged.js';
export { cancelPrefetched, peekPrefetched, prefetchFolderChecks, takePrefetched, type PrefetchedCheck } from './prefetch.js';
