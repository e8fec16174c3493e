// Public surface of transcript ingestion's pure core (no database, no watchers).
export * from './types.js';
export {
  readCompleteLines,
  readCompleteLinesSync,
  splitCompleteLines,
  LineAssembler,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  type LineRecord,
  type ReadLinesOptions,
} from './reader.js';
export {
  parseTranscriptLine,
  parseLineRecord,
  boundedJson,
  boundText,
  syntheticLineKey,
  KNOWN_LINE_TYPES,
  TEXT_LIMIT,
  JSON_LIMIT,
} from './parse.js';
export { usageKey, mergeUsage, addUsage, sumUsage, emptyTotals, type TokenTotals } from './usage.js';
export { linkToolResults, type ToolLink, type ToolLinks } from './links.js';
export {
  classifyTranscriptPath,
  classifySidechain,
  isWarmupOrCompaction,
  isWarmupPrompt,
  internalAgentKind,
  parseSubagentMeta,
  type TranscriptLayout,
  type TranscriptLayoutKind,
  type InternalAgentKind,
  type LayoutProblem,
  type SidechainClass,
  type SidechainFacts,
  type SubagentMeta,
} from './layout.js';
export { scanTranscript, ScanStats, type ScannedLine } from './scan.js';
