/** The object store adapter: content-addressed objects, batches, and the writer lock. */
export { assertOid, ObjectStore, ObjectBatch, ObjectWriter, STORE_DIR, STORE_FORMAT, type StoredFile, type PutFileOptions } from './object-store.js';
export { acquireLock, readLockHolder, describeHolder, lockPath, DEFAULT_LOCK_TIMEOUT_MS, type Lock, type LockHolder, type LockOptions } from './lock.js';
export { StateFiles, type StateKind, type PointerKind } from './state-files.js';
export { STORE_DIR as STORE_DIR_NAME, storeDirOf, stateDirOf, formatFileOf } from './layout.js';
