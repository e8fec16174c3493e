// Built-in detectors for secrets and PII.
//
// Each detector reports spans of the *secret part* of a match (the value after `password=`, the
// password inside a URL, the body of a PEM block), so the engine can keep the surrounding structure.
// Speed comes from doing little per byte: most detectors declare literal anchors and are skipped
// when none occurs (the engine checks all anchors in one pass); the few that must look at every
// text (assignments, numbers, IBANs) run one cheap candidate regex and validate only candidates.
// Every scan is linear: searches from a candidate stay inside a bounded window, because a
// quadratic scanner turns one pathological line into minutes of CPU.
//
// Changing what a detector matches changes which bytes leave the machine, so every detector has a
// `revision`: bump it with any behavioural change and Redactor.version changes with it, which
// makes stored rows eligible for re-redaction.
//
// The rule families live in rules/: types, values (shared helpers), vendors, credentials,
// assignments, pii. This file assembles them with gitleaks' catalogue into RULE_DETECTORS.
import { GITLEAKS_COMMIT, GITLEAKS_RULES, type GitleaksRule } from './gitleaks-rules.js';
import { assignments } from './rules/assignments.js';
import { authorizationHeader, cliCredentials, cookieHeader, privateKey, urlCredentials } from './rules/credentials.js';
import { email, iban, ipAddress, numericPii } from './rules/pii.js';
import type { Detector } from './rules/types.js';
import { looksRandom, shannonEntropy } from './rules/values.js';
import {
  VENDOR_PRIORITY,
  ageSecretKey,
  anthropicKey,
  awsAccessKeyId,
  awsSecretAccessKey,
  azureStorageKey,
  digitaloceanToken,
  discordWebhook,
  githubToken,
  gitlabToken,
  googleApiKey,
  googleOauthToken,
  huggingfaceToken,
  jsonWebToken,
  moreVendors,
  regexDetector,
  npmToken,
  openaiKey,
  pypiToken,
  sendgridKey,
  shopifyToken,
  slackToken,
  slackWebhook,
  stripeKey,
  telegramBotToken,
} from './rules/vendors.js';
export {
  ASSIGNMENT_KEYWORD,
  SQL_PASSWORD,
  acceptAssignmentValue,
  classifyCredentialKey,
  type AssignmentClass,
  type AssignmentContext,
} from './rules/assignments.js';
export type { Detector, Emit, RedactionKind, RuleInfo } from './rules/types.js';
export { cardIssuerValid, ibanValid, isPlaceholderValue, isReferenceValue, looksRandom, luhnValid, shannonEntropy } from './rules/values.js';
export { VENDOR_PRIORITY, isPlaceholderToken, regexDetector, type RegexRuleSpec } from './rules/vendors.js';

// ---------------------------------------------------------------------------------------------
// gitleaks' format-anchored rules (gitleaks-rules.ts, generated from its catalogue)

// gitleaks ends a token at a quote, whitespace, ';' or a literal \n; a session also has tokens
// followed by ',', ')', '&', '<' and '.': any character that cannot continue the token ends it.
const GITLEAKS_END = String.raw`(?:[\x60'"\s;]|\\[nr]|$)`;

function gitleaksDetector(rule: GitleaksRule): Detector {
  const source = rule.source.split(GITLEAKS_END).join(String.raw`(?![A-Za-z0-9+/_-])`);
  const groups = new RegExp(`${source}|`).exec('')!.length - 1;
  const secretGroup = rule.secretGroup || (groups > 0 ? 1 : 0);
  return regexDetector({
    id: rule.id,
    name: `gitleaks:${rule.id}`,
    kind: 'secret',
    priority: VENDOR_PRIORITY - 2,
    description: `${rule.description} (gitleaks)`,
    // The rules change with the gitleaks commit they were generated from.
    revision: Number.parseInt(GITLEAKS_COMMIT.slice(0, 7), 16),
    anchors: rule.anchors,
    pattern: new RegExp(source, `${rule.flags}gd`),
    ...(secretGroup > 0 ? { secretGroup } : {}),
    // Below the rule's entropy, or a C identifier (GLC_CreateLightmapTextures(…)): not a token
    // (tokens have digits or mixed case).
    accept: (secret) => (rule.entropy <= 0 || shannonEntropy(secret) >= rule.entropy) && (/\d/.test(secret) || looksRandom(secret, 8)),
  });
}

/** In a fixed order: the order only matters for reporting, priorities decide overlaps. */
const HAND_WRITTEN: readonly Detector[] = [
  privateKey,
  awsAccessKeyId,
  awsSecretAccessKey,
  githubToken,
  gitlabToken,
  slackToken,
  slackWebhook,
  discordWebhook,
  stripeKey,
  anthropicKey,
  openaiKey,
  googleApiKey,
  npmToken,
  huggingfaceToken,
  sendgridKey,
  pypiToken,
  digitaloceanToken,
  telegramBotToken,
  azureStorageKey,
  googleOauthToken,
  shopifyToken,
  ageSecretKey,
  ...moreVendors,
  jsonWebToken,
  authorizationHeader,
  urlCredentials,
  cliCredentials,
  cookieHeader,
  assignments,
  email,
  numericPii,
  iban,
  ipAddress,
];

const HAND_WRITTEN_IDS = new Set(HAND_WRITTEN.flatMap((d) => d.rules.map((r) => r.id)));

/** The value-shaped detectors; detectors.ts adds the context rules (context-rules.ts). */
export const RULE_DETECTORS: readonly Detector[] = [
  ...HAND_WRITTEN,
  // Where a hand-written rule has the same id, it wins (it knows more about the format).
  ...GITLEAKS_RULES.filter((r) => !HAND_WRITTEN_IDS.has(r.id)).map(gitleaksDetector),
];
