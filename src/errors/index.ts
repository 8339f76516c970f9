/**
 * d2's errors: one base class, one subclass per stable `code`.
 *
 * Invariants:
 * - Every expected failure is a D2Error whose `code` equals its class name and never changes
 *   once released (scripts match on it; `docs/errors.md` lists every code).
 * - `data` is JSON-able; `toJSON()` is the shape printed by `--json` and returned to callers.
 * - Messages follow git's wording rules: lower-case first word, no final full stop, the subject
 *   in single quotes, the location first when known. `hint` is the next step for the user.
 * - Anything thrown that is not a D2Error is a bug; the CLI wraps it as InternalError.
 */

export interface D2ErrorOptions {
  data?: Record<string, unknown>;
  hint?: string;
  cause?: unknown;
}

export interface D2ErrorJSON {
  code: string;
  message: string;
  data: Record<string, unknown>;
  hint?: string;
  caller?: string;
}

export class D2Error extends Error {
  static readonly code: string = 'D2Error';
  readonly code: string;
  readonly data: Record<string, unknown>;
  readonly hint?: string;
  /** The api function that threw, e.g. 'd2.add' (stamped by api/). */
  caller?: string;

  constructor(message: string, options: D2ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const ctor = new.target as typeof D2Error;
    this.code = ctor.code;
    this.name = ctor.code;
    this.data = options.data ?? {};
    if (options.hint !== undefined) this.hint = options.hint;
  }

  toJSON(): D2ErrorJSON {
    const out: D2ErrorJSON = { code: this.code, message: this.message, data: this.data };
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.caller !== undefined) out.caller = this.caller;
    return out;
  }
}

/** No `d2.yaml` in the directory or any parent. */
export class NotAProject extends D2Error { static override readonly code = 'NotAProject'; }
/** `d2.yaml` (or another committed d2 file) does not satisfy its schema; `data.issues` lists all problems. */
export class ManifestInvalid extends D2Error { static override readonly code = 'ManifestInvalid'; }
/** A labels CSV (imported or committed) cannot be read; `data.issues` gives file, line and problem. */
export class LabelsInvalid extends D2Error { static override readonly code = 'LabelsInvalid'; }
/** A committed source snapshot file is damaged or of an unknown format. */
export class SnapshotInvalid extends D2Error { static override readonly code = 'SnapshotInvalid'; }
/** A d2.lock (working tree or commit) fails its checks, so what it names is unknown. */
export class LockInvalid extends D2Error { static override readonly code = 'LockInvalid'; }
/** A command-line or api argument is not acceptable. */
export class InvalidArgument extends D2Error { static override readonly code = 'InvalidArgument'; }
/** A path given by the user does not exist. */
export class PathNotFound extends D2Error { static override readonly code = 'PathNotFound'; }
/** A path resolves outside the project and was not given explicitly with `--external`. */
export class PathOutsideProject extends D2Error { static override readonly code = 'PathOutsideProject'; }
/** Walking a folder found files d2 cannot take as they are; `data.problems` lists each. */
export class WalkFailed extends D2Error { static override readonly code = 'WalkFailed'; }
/** A file changed between the moment d2 started reading it and the moment it finished. */
export class FileChanged extends D2Error { static override readonly code = 'FileChanged'; }
/** A source name that the manifest does not declare. */
export class SourceNotFound extends D2Error { static override readonly code = 'SourceNotFound'; }
/** Two sources claim the same or nested folders, or a name is not a valid source name. */
export class SourceConflict extends D2Error { static override readonly code = 'SourceConflict'; }
/** Another process holds the store lock and did not release it within the timeout. */
export class StoreLocked extends D2Error { static override readonly code = 'StoreLocked'; }
/** The object store has no object with this oid. */
export class ObjectNotFound extends D2Error { static override readonly code = 'ObjectNotFound'; }
/** An object's size or content does not match its oid. */
export class ObjectCorrupt extends D2Error { static override readonly code = 'ObjectCorrupt'; }
/** A value that should be an object id (64 lower-case hex digits) is not one; the store never turns it into a file name. */
export class InvalidObjectId extends D2Error { static override readonly code = 'InvalidObjectId'; }
/** A path d2 will not use: absolute, escaping its folder ('..'), naming '.git' or '.d2', or holding a control character; `data.problems` lists each. */
export class UnsafePath extends D2Error { static override readonly code = 'UnsafePath'; }
/** The store was written by a newer, incompatible d2. */
export class StoreFormatUnsupported extends D2Error { static override readonly code = 'StoreFormatUnsupported'; }
/** A revision (commit, branch, tag, HEAD~n) that git cannot resolve. */
export class RevNotFound extends D2Error { static override readonly code = 'RevNotFound'; }
/** `d2 commit` found nothing staged or changed in d2's files. */
export class NothingToCommit extends D2Error { static override readonly code = 'NothingToCommit'; }
/** No author identity for a commit (git's user.name / user.email). */
export class AuthorUnknown extends D2Error { static override readonly code = 'AuthorUnknown'; }
/** The project is not inside a git repository. */
export class NotAGitRepository extends D2Error { static override readonly code = 'NotAGitRepository'; }
/** An item's raw content cannot be used: corrupt, truncated, empty, not of the source's kind, too large. `data.reason` says which. */
export class ItemInvalid extends D2Error { static override readonly code = 'ItemInvalid'; }
/** The dataset has a problem that blocks building (leakage not allowed, a model test not found…); `data.problems` lists them. */
export class DatasetBlocked extends D2Error { static override readonly code = 'DatasetBlocked'; }
/** No model is built for a revision (or none is in this store); `data.rev` names it. */
export class ModelNotBuilt extends D2Error { static override readonly code = 'ModelNotBuilt'; }
/** The requested training engine is not installed or cannot start here. */
export class EngineUnavailable extends D2Error { static override readonly code = 'EngineUnavailable'; }
/** Training stopped at a non-finite loss; `data` names the epoch, the batch and the layer. */
export class TrainingDiverged extends D2Error { static override readonly code = 'TrainingDiverged'; }
/** A remote cannot be reached (connection refused or reset, DNS, timeouts) after retries; `data` names the remote, its location and the cause's code. */
export class RemoteUnavailable extends D2Error { static override readonly code = 'RemoteUnavailable'; }
/** A remote refused the credentials or the operation (S3 403, a folder not writable); credentials come only from the AWS SDK's chain. */
export class RemoteAccessDenied extends D2Error { static override readonly code = 'RemoteAccessDenied'; }
/** A remote's bucket or folder does not exist (d2 never creates it). */
export class RemoteNotFound extends D2Error { static override readonly code = 'RemoteNotFound'; }
/** A remote does not hold an object that was asked of it. */
export class RemoteObjectMissing extends D2Error { static override readonly code = 'RemoteObjectMissing'; }
/** `d2 label` was asked to relabel a model test without option 'force'; `data.items` lists them. */
export class LabelProtected extends D2Error { static override readonly code = 'LabelProtected'; }
/** The operation was interrupted (SIGINT, SIGTERM or an AbortSignal); nothing half-written was kept. */
export class Interrupted extends D2Error { static override readonly code = 'Interrupted'; }
/** `d2 note -m` on a commit that has a note already (append or edit it instead). */
export class NoteExists extends D2Error { static override readonly code = 'NoteExists'; }
/** `d2 note --remove` (or `--append`/`--edit` of nothing) on a commit without a note. */
export class NoteNotFound extends D2Error { static override readonly code = 'NoteNotFound'; }
/** An experiment name that names no experiment (`d2 exp show|apply|remove`). */
export class ExperimentNotFound extends D2Error { static override readonly code = 'ExperimentNotFound'; }
/** `d2 exp run --name N` when another experiment is called N. */
export class ExperimentExists extends D2Error { static override readonly code = 'ExperimentExists'; }
/** A declared backbone (`model.backbone`) that cannot be used: it does not load, names no such layer, or its input does not match the preprocessing. */
export class BackboneInvalid extends D2Error { static override readonly code = 'BackboneInvalid'; }
/** A backbone's files differ from those d2.lock pinned (an upstream file changed). */
export class BackboneChanged extends D2Error { static override readonly code = 'BackboneChanged'; }
/** A backbone URL that cannot be fetched (offline, or the server refuses). */
export class BackboneUnreachable extends D2Error { static override readonly code = 'BackboneUnreachable'; }
/** A bug in d2: anything thrown that is not a D2Error is wrapped in this by the CLI. */
export class InternalError extends D2Error { static override readonly code = 'InternalError'; }

/** Every error class, for the CLI (exit codes), docs and the test that checks codes. */
export const errorClasses = [
  NotAProject, ManifestInvalid, LabelsInvalid, SnapshotInvalid, LockInvalid, InvalidArgument, PathNotFound,
  PathOutsideProject, WalkFailed, FileChanged, SourceNotFound, SourceConflict, StoreLocked,
  ObjectNotFound, ObjectCorrupt, InvalidObjectId, UnsafePath, StoreFormatUnsupported, RevNotFound, NothingToCommit,
  AuthorUnknown, NotAGitRepository, ItemInvalid, DatasetBlocked, ModelNotBuilt, EngineUnavailable, TrainingDiverged,
  RemoteUnavailable, RemoteAccessDenied, RemoteNotFound, RemoteObjectMissing, Interrupted, InternalError,
  NoteExists, NoteNotFound, ExperimentNotFound, ExperimentExists,
  LabelProtected, BackboneInvalid, BackboneChanged, BackboneUnreachable,
] as const;

export function isD2Error(e: unknown): e is D2Error {
  return e instanceof D2Error;
}

/** Throws Interrupted when the signal is aborted; call between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new Interrupted('interrupted', { data: { reason: String(signal.reason ?? 'aborted') } });
  }
}
