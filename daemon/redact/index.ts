export {
  createRedactor,
  isRedactionToken,
  REDACTION_TOKEN_SOURCE,
  type CustomRule,
  type RedactionKind,
  type RedactionMatch,
  type Redactor,
  type RedactorOptions,
  type RuleInfo,
} from './engine.js';
export { loadOrCreateRedactionKey } from './key.js';
export { BUILTIN_RULES } from './detectors.js';
