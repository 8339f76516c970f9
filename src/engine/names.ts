/**
 * The engines d2 knows, fastest first, and what a caller may ask for: the one list the CLI's
 * `--engine` flags and the library check against. Light on purpose (no TensorFlow, no
 * kernels), so the command line can list them without loading an engine.
 */
export type EngineName = 'gpu' | 'node' | 'wasm' | 'cpu';
export type EngineRequest = EngineName | 'auto';
export const ENGINE_NAMES: readonly EngineName[] = ['gpu', 'node', 'wasm', 'cpu'];
/** Every value `engine` accepts: 'auto' (the fastest present) and each engine. */
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', ...ENGINE_NAMES];
