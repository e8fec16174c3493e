import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/claude-code/transcripts/', import.meta.url));

export const MAIN_2139 = path.join(FIXTURES, 'spotter-v2.1.39-compaction/ae4a77f8-aedd-4bc1-888f-c94edc91af04.jsonl');
export const SUBAGENT_2139 = path.join(FIXTURES, 'spotter-v2.1.39-compaction/ae4a77f8-aedd-4bc1-888f-c94edc91af04/subagents/agent-aac57f5.jsonl');
export const COMPACT_2139 = path.join(FIXTURES, 'spotter-v2.1.39-compaction/ae4a77f8-aedd-4bc1-888f-c94edc91af04/subagents/agent-acompact-946d2b.jsonl');
export const LEGACY_10108 = path.join(FIXTURES, 'claude-code-viewer-v1.0.108/5c0375b4-57a5-4f26-b12d-d022ee4e51b7.jsonl');
export const OLDEST_1017 = path.join(FIXTURES, 'sniffly-v1.0.17/fed8ce56-bc79-401f-a83e-af084253362f.jsonl');
export const SHORT_2138 = path.join(FIXTURES, 'spotter-v2.1.38/short.jsonl');
export const TOOL_HEAVY_2138 = path.join(FIXTURES, 'spotter-v2.1.38/tool_heavy.jsonl');

export const ALL_FIXTURES = [MAIN_2139, SUBAGENT_2139, COMPACT_2139, LEGACY_10108, OLDEST_1017, SHORT_2138, TOOL_HEAVY_2138];

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rbk-ingest-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
