/**
 * The CLI's view of the outside world: streams, environment, working directory. `bin/d2`
 * passes the real process; tests pass fakes. Nothing else in the CLI touches `process`.
 */
export interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Standard input, when a command reads it (`d2 predict --stdin`). */
  stdin?: AsyncIterable<Buffer | string>;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: process.stdin };
}
