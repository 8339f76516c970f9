/**
 * Progress events: how long work reports without printing (isomorphic-git's GitProgressEvent,
 * tfjs callbacks). The CLI turns them into a bar, plain lines or JSON lines.
 */
export interface ProgressEvent {
  /** What is being done, e.g. 'walk', 'hash', 'store'. */
  phase: string;
  loaded: number;
  total?: number;
  detail?: Record<string, unknown>;
}

export type ProgressHandler = (event: ProgressEvent) => void;

/** Options every api function accepts. */
export interface CommonOptions {
  /** Any folder inside the project (default: the process's working directory). */
  dir?: string;
  onProgress?: ProgressHandler;
  signal?: AbortSignal;
}
