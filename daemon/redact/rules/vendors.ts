// Vendor tokens by their own format (prefix, length, charset, checksum): the regex table and the hand-written vendors gitleaks lacks.
import type { Detector, RedactionKind, RuleInfo } from './types.js';
import { shannonEntropy } from './values.js';

// ---------------------------------------------------------------------------------------------
// Regex-driven detectors

export interface RegexRuleSpec {
  id: string;
  /** The detector's name (default: the rule id). */
  name?: string;
  kind: RedactionKind;
  priority: number;
  description: string;
  revision: number;
  anchors: readonly string[];
  /** Must have the g flag; the d flag when `secretGroup` is set. */
  pattern: RegExp;
  secretGroup?: number;
  accept?: (secret: string, text: string, start: number) => boolean;
}

// Masked or x-ed out tokens: real tokens never look like this. Documentation keys such as
// AKIAIOSFODNN7EXAMPLE are redacted all the same: they have the exact shape of a live key, sessions
// use them as stand-ins for real ones, and hiding a harmless example costs nothing.
export const VENDOR_MASK = /x{5}|X{5}|[<>]|\*\*\*/;
// Read only through matchAll (which copies the regex): a /g regex keeps lastIndex between calls.
const REPEATED_RUN = /(.)\1{3,}/g;

/**
 * A masked token, or one made mostly of repeated characters (AKIA0000000000000000). A single run
 * is not enough: a live Slack token's numeric ids can hold six equal digits in a row
 * (xoxb-…-2688888852596-…), and fuzzing found exactly such a token left in the clear.
 */
// Test fixtures spell it out: …Ntest, …STRINGHERE, hf_FakeFakeFake….
export const PLACEHOLDER_TOKEN_WORDS = /(?:test|example|sample|dummy|here|fake|placeholder)$|(fake|test|example|dummy)(?:\1){2}/i;

export function isPlaceholderToken(secret: string): boolean {
  // OpenAI keys carry base64("OpenAI"); with it, a key is real whatever its test-like suffix.
  if (secret.includes('T3BlbkFJ')) return false;
  if (VENDOR_MASK.test(secret)) return true;
  if (PLACEHOLDER_TOKEN_WORDS.test(secret)) return true;
  // Runs of the characters people mask with (0000, ...., ----, ####); a token of other repeated
  // letters (sk_live_AAAA…, tskey-api-AAAA…) is a test fixture with a real token's shape, and
  // redacting it costs nothing.
  let repeated = 0;
  for (const m of secret.matchAll(REPEATED_RUN)) if ('0.-#_'.includes(m[1]!)) repeated += m[0].length;
  return repeated * 2 >= secret.length;
}

export function regexDetector(spec: RegexRuleSpec): Detector {
  const rule: RuleInfo = { id: spec.id, kind: spec.kind, priority: spec.priority, description: spec.description };
  const { pattern, secretGroup, accept } = spec;
  return {
    name: spec.name ?? spec.id,
    revision: spec.revision,
    rules: [rule],
    anchors: spec.anchors,
    detect(text, emit) {
      pattern.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = pattern.exec(text)) !== null) {
        if (m[0].length === 0) {
          pattern.lastIndex++;
          continue;
        }
        let start = m.index;
        let end = start + m[0].length;
        if (secretGroup !== undefined) {
          const span = m.indices?.[secretGroup];
          if (!span) continue;
          [start, end] = span;
        }
        if (end <= start) continue;
        const secret = text.slice(start, end);
        if (isPlaceholderToken(secret)) continue;
        if (accept && !accept(secret, text, start)) continue;
        emit(spec.id, start, end);
      }
    },
  };
}

export const VENDOR_PRIORITY = 100;

export const awsAccessKeyId = regexDetector({
  id: 'aws-access-key-id',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'AWS access key id (AKIA…/ASIA…)',
  revision: 2,
  anchors: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
});

export const awsSecretAccessKey = regexDetector({
  id: 'aws-secret-access-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY - 5,
  description: 'AWS secret access key next to its name (aws_secret_access_key=…, "SecretAccessKey": "…")',
  revision: 1,
  anchors: ['ecret', 'ECRET'],
  pattern: /(?:secret_?access_?key|secretkey|aws_?secret(?:_?key)?)(?:\\?["'])?[ \t]*(?:[:=]|=>)[ \t]*(?:\\?["'])?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/dgi,
  secretGroup: 1,
});

export const githubToken = regexDetector({
  id: 'github-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
  revision: 2,
  anchors: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})(?![A-Za-z0-9_])/g,
});

export const gitlabToken = regexDetector({
  id: 'gitlab-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'GitLab tokens (glpat-, gldt-, glrt-, …)',
  revision: 2,
  anchors: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'glimt-', 'gloas-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])(?:glpat|gldt|glrt|glptt|glcbt|glimt|gloas)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*/g,
});

export const slackToken = regexDetector({
  id: 'slack-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Slack tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xapp-)',
  revision: 2,
  anchors: ['xox', 'xapp-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])(?:xox[abposre]|xapp)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+/g,
  accept: (secret) => secret.length >= 15 && /\d/.test(secret),
});

export const slackWebhook = regexDetector({
  id: 'slack-webhook',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Slack incoming-webhook URL path',
  revision: 1,
  anchors: ['hooks.slack.com'],
  pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([A-Za-z0-9_/-]{16,})/dg,
  secretGroup: 1,
});

export const discordWebhook = regexDetector({
  id: 'discord-webhook',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Discord webhook URL token',
  revision: 1,
  anchors: ['/api/webhooks/'],
  pattern: /discord(?:app)?\.com\/api\/webhooks\/\d+\/([A-Za-z0-9_-]{30,})/dg,
  secretGroup: 1,
});

export const stripeKey = regexDetector({
  id: 'stripe-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Stripe secret/restricted keys and webhook secrets',
  revision: 2,
  anchors: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,}|whsec_[A-Za-z0-9+/=]{24,})(?![A-Za-z0-9_])/g,
});

export const anthropicKey = regexDetector({
  id: 'anthropic-api-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY + 1,
  description: 'Anthropic API keys (sk-ant-…)',
  revision: 2,
  anchors: ['sk-ant-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g,
});

export const openaiKey = regexDetector({
  id: 'openai-api-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'OpenAI API keys (sk-…, sk-proj-…)',
  revision: 2,
  anchors: ['sk-'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g,
  // Kebab-case identifiers such as CSS classes also start with "sk-"; keys are random.
  accept: (secret) => {
    const body = secret.replace(/^sk-(?:proj-|svcacct-|admin-|None-)?/, '');
    return /\d/.test(body) && /[A-Za-z]/.test(body) && shannonEntropy(body) >= 3.5;
  },
});

export const googleApiKey = regexDetector({
  id: 'google-api-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Google API keys (AIza…)',
  revision: 2,
  anchors: ['AIza'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
});

export const npmToken = regexDetector({
  id: 'npm-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'npm access tokens (npm_…)',
  revision: 2,
  anchors: ['npm_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/g,
});

export const huggingfaceToken = regexDetector({
  id: 'huggingface-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Hugging Face tokens (hf_…)',
  revision: 2,
  anchors: ['hf_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])hf_[A-Za-z0-9]{30,40}(?![A-Za-z0-9_])/g,
  accept: (secret) => /[A-Z]/.test(secret) && /[a-z]/.test(secret.slice(3)),
});

export const sendgridKey = regexDetector({
  id: 'sendgrid-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'SendGrid API keys (SG.…)',
  revision: 2,
  anchors: ['SG.'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
});

export const pypiToken = regexDetector({
  id: 'pypi-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'PyPI upload tokens',
  revision: 1,
  anchors: ['pypi-AgE'],
  pattern: /pypi-AgE[A-Za-z0-9_-]{50,}/g,
});

export const digitaloceanToken = regexDetector({
  id: 'digitalocean-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'DigitalOcean tokens (dop_v1_…)',
  revision: 2,
  anchors: ['_v1_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])do[por]_v1_[a-f0-9]{64}(?![A-Za-z0-9_])/g,
});

export const telegramBotToken = regexDetector({
  id: 'telegram-bot-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Telegram bot tokens',
  revision: 1,
  anchors: [':AA'],
  pattern: /(?<![0-9:])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
});

export const azureStorageKey = regexDetector({
  id: 'azure-storage-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Azure storage account keys in connection strings (AccountKey=…)',
  revision: 1,
  anchors: ['AccountKey='],
  pattern: /AccountKey=([A-Za-z0-9+/]{40,}={0,2})/dg,
  secretGroup: 1,
});

export const googleOauthToken = regexDetector({
  id: 'google-oauth-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Google OAuth access tokens (ya29.…)',
  revision: 2,
  anchors: ['ya29.'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])ya29\.[0-9A-Za-z_-]{20,}/g,
});

export const shopifyToken = regexDetector({
  id: 'shopify-token',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'Shopify access tokens (shpat_, shpss_, shpca_, shppa_)',
  revision: 2,
  anchors: ['shpat_', 'shpss_', 'shpca_', 'shppa_'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_])shp(?:at|ss|ca|pa)_[A-Za-z0-9]{32,40}(?![A-Za-z0-9_])/g,
});

export const ageSecretKey = regexDetector({
  id: 'age-secret-key',
  kind: 'secret',
  priority: VENDOR_PRIORITY,
  description: 'age encryption secret keys',
  revision: 1,
  anchors: ['AGE-SECRET-KEY-1'],
  pattern: /AGE-SECRET-KEY-1[0-9A-Z]{58}/g,
});

// Vendors whose tokens carry their own prefix and that neither the rules above nor gitleaks'
// format-anchored rules cover (gitleaks-rules.ts), from each vendor's documentation.
export const B = String.raw`(?<!(?<!\\)[A-Za-z0-9_-])`;
export const E = String.raw`(?![A-Za-z0-9_-])`;
export const vendor = (id: string, description: string, anchors: string[], body: string, secretGroup?: number) =>
  regexDetector({
    id,
    kind: 'secret',
    priority: VENDOR_PRIORITY,
    description,
    revision: 1,
    anchors,
    pattern: new RegExp(`${B}${body}${E}`, secretGroup ? 'dg' : 'g'),
    ...(secretGroup ? { secretGroup } : {}),
  });

export const moreVendors: Detector[] = [
  vendor(
    'docker-hub-token',
    'Docker Hub personal/organization access tokens (dckr_pat_, dckr_oat_)',
    ['dckr_'],
    String.raw`dckr_(?:pat|oat)_[A-Za-z0-9_-]{20,}`,
  ),
  vendor(
    'vault-token',
    'HashiCorp Vault service, batch and recovery tokens (hvs., hvb., hvr.)',
    ['hvs.', 'hvb.', 'hvr.'],
    String.raw`hv[sbr]\.[A-Za-z0-9_-]{20,}`,
  ),
  vendor(
    'sidekiq-credentials',
    'Sidekiq Enterprise/Pro gem credentials (BUNDLE_…__CONTRIBSYS__COM)',
    ['CONTRIBSYS__COM'],
    String.raw`BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM["']?\s*[:=]\s*["']?([a-f0-9]{8}:[a-f0-9]{8})`,
    1,
  ),
  regexDetector({
    id: 'tailscale-key',
    kind: 'secret',
    priority: VENDOR_PRIORITY,
    description: 'Tailscale auth, API, OAuth client and webhook keys (tskey-…)',
    revision: 1,
    anchors: ['tskey-'],
    // MY_tskey-…, 0tskey-…: only a letter before it makes it part of another word.
    pattern: /(?<![A-Za-z])tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{16,}(?![A-Za-z0-9_-])/g,
  }),
  vendor('vercel-token', 'Vercel tokens (vcp_, vci_, vca_, vcr_, vck_)', ['vcp_', 'vci_', 'vca_', 'vcr_', 'vck_'], String.raw`vc[pikar]_[A-Za-z0-9]{24,}`),
  vendor('groq-api-key', 'Groq API keys (gsk_ + 52)', ['gsk_'], String.raw`gsk_[A-Za-z0-9]{52}`),
  vendor(
    'cloudflare-token',
    'Cloudflare account and user API tokens (cfat_, cfut_, cfk_)',
    ['cfat_', 'cfut_', 'cfk_'],
    String.raw`cf(?:at|ut|k)_[A-Za-z0-9_-]{30,}`,
  ),
  vendor(
    'github-installation-token',
    'GitHub App installation tokens in the JWT-bearing form (ghs_<id>_eyJ…)',
    ['ghs_'],
    String.raw`ghs_\d+_eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`,
  ),
  vendor('sourcegraph-token', 'Sourcegraph access tokens (sgp_)', ['sgp_'], String.raw`sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}`),
  vendor('twilio-key', 'Twilio API keys (SK + 32 hex)', ['SK'], String.raw`SK[0-9a-fA-F]{32}`),
  vendor(
    'new-relic-key',
    'New Relic user, insights, browser keys and license keys (NRAK-, NRII-, NRJS-, …NRAL)',
    ['NRAK-', 'NRII-', 'NRIQ-', 'NRJS-', 'NRAL'],
    String.raw`(?:NRAK-[A-Z0-9]{27}|NRI[IQ]-[A-Za-z0-9_-]{32}|NRJS-[a-f0-9]{19}|[a-f0-9]{36}NRAL)`,
  ),
  vendor(
    'supabase-key',
    'Supabase personal access tokens and secret keys (sbp_, sb_secret_)',
    ['sbp_', 'sb_secret_'],
    String.raw`(?:sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,})`,
  ),
  vendor('mailchimp-key', 'Mailchimp API keys (32 hex, -us<dc>)', ['-us'], String.raw`[0-9a-f]{32}-us\d{1,2}`),
  vendor('mailgun-key', 'Mailgun private API keys (key-…) and webhook signing keys', ['key-'], String.raw`key-[0-9a-f]{32}`),
  vendor('okta-token', 'Okta API tokens (00…, 42 chars) after SSWS', ['SSWS'], String.raw`SSWS\s+(00[A-Za-z0-9_-]{40})`, 1),
  vendor('atlassian-token', 'Atlassian API tokens (ATATT3…) and Jira/Confluence PATs', ['ATATT3', 'ATCTT3'], String.raw`AT[AC]TT3[A-Za-z0-9_=-]{100,}`),
  vendor('fly-token', 'Fly.io macaroon tokens (FlyV1 fm2_…)', ['FlyV1 '], String.raw`FlyV1 (fm\d[a-z]?_[A-Za-z0-9+/=,_-]{40,})`, 1),
  vendor(
    'doppler-token',
    'Doppler tokens (dp.pt., dp.st., dp.sa., dp.ct., dp.scim., dp.audit.)',
    ['dp.'],
    String.raw`dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_.-]{40,}`,
  ),
  vendor('databricks-token', 'Databricks personal access tokens (dapi…, dose…)', ['dapi', 'dose'], String.raw`(?:dapi|dose)[a-fA-F0-9]{32}(?:-\d)?`),
  vendor('huggingface-org-token', 'Hugging Face organization API tokens (api_org_)', ['api_org_'], String.raw`api_org_[A-Za-z]{34}`),
  vendor('onepassword-token', '1Password service account tokens (ops_eyJ…)', ['ops_eyJ'], String.raw`ops_eyJ[A-Za-z0-9+/=_-]{40,}`),
  vendor(
    'facebook-token',
    'Facebook app access tokens (app id|secret) and page tokens (EAA…)',
    ['|', 'EAA'],
    String.raw`(?:\d{15,16}\|[0-9A-Za-z_-]{27,40}|EAA[A-Za-z0-9]{100,})`,
  ),
  vendor('azure-ad-client-secret', 'Azure AD (Entra ID) client secrets (…8Q~…)', ['Q~'], String.raw`[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}`),
];

export const jsonWebToken = regexDetector({
  id: 'jwt',
  kind: 'secret',
  priority: VENDOR_PRIORITY - 10,
  description: 'JSON Web Tokens (eyJ….eyJ….…)',
  revision: 2,
  anchors: ['eyJ'],
  pattern: /(?<!(?<!\\)[A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?/g,
});
