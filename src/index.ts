/**
 * d2's library API: the same functions the `d2` command calls, returning plain JSON-able data.
 * Every function takes `{ dir, onProgress, signal }` besides its own options and throws a
 * D2Error (with a stable `code`) for anything the user can fix.
 *
 * @example
 * import { init, add, status, commit } from 'd2';
 * await init({ dir: 'my-dataset' });
 * await add({ dir: 'my-dataset', paths: ['images'], labels: 'dirname' });
 * console.log((await status({ dir: 'my-dataset' })).sources);
 * await commit({ dir: 'my-dataset', message: 'first images' });
 */
export { init, type InitOptions, type InitResult } from './api/init.js';
export { add, type AddOptions, type AddResult, type AddedSource, type SourceChangeCounts } from './api/add.js';
export { status, type StatusOptions, type StatusResult, type SourceStatus, type PathChange } from './api/status.js';
export { commit, type CommitOptions, type CommitResult } from './api/commit.js';
export { log, type LogOptions, type LogResult, type LogEntry, type BuildState, type DataChange, type Headline, type HeadlineDelta, type ModelTestsSummary } from './api/log.js';
export { note, type NoteOptions, type NoteResult } from './api/note.js';
export {
  expRun, expList, expShow, expApply, expRemove, EXP_SORTS,
  type ExpRunOptions, type ExpRunResult, type ExpListOptions, type ExpListResult, type ExpSort, type ExpNameOptions, type ExpShowResult,
  type ExpApplyResult, type ExpRemoveOptions, type ExpRemoveResult, type ExpEntry, type ExpRecord, type AppliedSetting, type ManifestSetting,
} from './api/exp.js';
export type { RemoteSharing } from './api/note.js';
export { fsck, type FsckOptions, type FsckResult, type FsckProblem } from './api/fsck.js';
export { remoteAdd, remoteList, remoteRemove, type RemoteAddOptions, type RemoteRemoveOptions, type RemoteInfo, type RemoteListResult } from './api/remote.js';
export { push, type PushOptions, type PushResult } from './api/push.js';
export { pull, type PullOptions, type PullResult } from './api/pull.js';
export { gc, type GcOptions, type GcResult } from './api/gc.js';
export { suggest, labelStudioTasks, suggestionsCsv, SUGGEST_STRATEGIES, type SuggestOptions, type SuggestResult, type Suggestion } from './api/suggest.js';
export { labelStudioConfig } from './manifest/label-studio.js';
export { restore, type RestoreOptions, type RestoreResult } from './api/restore.js';
export type { SourceFile } from './project/working-files.js';
export { data, type DataOptions, type DataResult, type DataPreprocessSummary, type FilesNotAdded } from './api/data.js';
export { build, type BuildOptions, type BuildResult } from './api/build.js';
export { describeArchitecture, TRAINER_VERSION, type BuildRecord, type BuildMetrics, type SetMetricsSummary } from './project/builds.js';
export {
  diff, parseFailOn, checkFailOn, DIFF_SCHEMA,
  type DiffOptions, type DiffResult, type DiffSide, type DiffModel, type FailRule, type FailCheck,
} from './api/diff.js';
export { FAIL_RULES, type FailRuleKind } from './core/fail-on.js';
export type { DataDiff, ItemRef, RelabelGroup, SetMove, ManifestChange, Rename, ClassChange, SourceChange } from './core/data-diff.js';
export type { BehaviourDiff, Delta, ClassDelta, ConfusionChange, Flip, Prediction } from './core/behaviour-diff.js';
export {
  predict, predictStream, loadModel, readEvaluation, topK,
  type PredictOptions, type PredictResult, type PredictionRow, type ClassProbability, type Predictor, type LoadModelOptions,
  type EvaluationResult,
} from './api/predict.js';
export type { Evaluation, SetEvaluation, SetPredictions } from './core/evaluation.js';
export type { Metrics } from './core/metrics.js';
export { exportModel, loadBundle, BUNDLE_FORMAT, type ExportOptions, type ExportResult, type BundleInfo } from './api/export.js';
export type { Preprocessing, InferenceItem } from './project/inference.js';
export type { SkippedItem, PackStats, PackedDataset, PackedSet } from './project/packing.js';
export type { Counts, DatasetProblem, ItemSet, Split } from './core/dataset.js';
export {
  review, type ReviewOptions, type ReviewResult, type ReviewSuspect, type ReviewCrossValidation,
} from './api/review.js';
export { label, DEFAULT_MODEL_TESTS_FILE, type LabelOptions, type LabelResult, type LabelChange } from './api/label.js';
export type { Suspect, ClassNoise, StoredReview } from './project/label-issues.js';
export type { FoldRecord, CrossValidationRecord } from './project/cross-validation.js';
export { LABEL_ISSUE_FILTERS, type LabelIssueFilter } from './core/confident-learning.js';
export { parseDecisionsCsv, serializeDecisionsCsv, type DecisionsCsvRow, type CsvDecision, type DecisionKind } from './manifest/decisions-file.js';
export { openProject, findProjectRoot, type Project } from './project/project.js';
export { parseRange } from './core/revision-range.js';
export { ENGINE_REQUESTS, ENGINE_NAMES, type EngineRequest, type EngineName } from './engine/names.js';
export type { ProgressEvent, ProgressHandler, CommonOptions } from './core/progress.js';
export type { FileChanges, Relabel } from './core/changes.js';
export type { WalkProblem } from './workspace/walk.js';
export {
  report, MAP_METHODS, REPORT_SCHEMA, MARKDOWN_LIMIT,
  type ReportOptions, type ReportResult, type ReportModelSummary,
} from './api/report.js';
export type { MapMethod } from './core/projection.js';
export { ciInit, CI_PROVIDERS, type CiInitOptions, type CiInitResult, type CiProvider } from './api/ci.js';
export * from './errors/index.js';
