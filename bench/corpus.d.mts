// Types for bench/corpus.mjs, so that TypeScript tests can generate the same corpus.
export interface CorpusOptions {
  seed?: number;
  /** All files together, the big one included. */
  totalBytes?: number;
  /** One session of about this size first; 0 for none. */
  bigFileBytes?: number;
  /** Chance that a main-session tool call is a Task with its own subagent file. */
  taskChance?: number;
}

export interface CorpusManifest {
  key: string;
  options: Required<CorpusOptions>;
  files: number;
  bytes: number;
  sizes: { p50: number; p90: number; p99: number; max: number };
  list: { path: string; bytes: number; kind: 'main' | 'subagent'; target?: number }[];
}

export function prng(seed: number): () => number;
export function sampleSize(u: number): number;
export function generateCorpus(dir: string, options?: CorpusOptions): CorpusManifest;
