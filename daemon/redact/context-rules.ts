// Context rules: secrets whose value has no shape of its own, recognized by where they stand.
//  - a Twilio auth token right after its account SID (Client("AC…", "<token>"), -u AC…:<token>);
//  - an AWS secret access key right after its key id (SDK constructors, the IAM credentials CSV),
//    or after `aws configure set aws_secret_access_key`;
//  - Azure storage account keys in `az storage account keys list` output;
//  - signatures in pre-signed URLs (sig=, X-Amz-Signature=, X-Goog-Signature=, Signature=);
//  - a Terraform variable named like a credential, its `default`;
//  - US SSNs without dashes, or with spaces, next to "SSN";
//  - Kubernetes Secrets: every `data:` value (base64 of the secret itself) unless it decodes to a
//    certificate, and the output of `kubectl get secret … | base64 -d`.
// Each stays linear: one anchored regex per rule, and bounded windows around each anchor.
import { isPlaceholderValue, isReferenceValue, looksRandom, type Detector, type Emit } from './rules.js';

const CONTEXT_PRIORITY = 75;

function detector(id: string, description: string, anchors: string[], detect: (text: string, emit: Emit) => void, kind: 'secret' | 'pii' = 'secret'): Detector {
  return { name: id, revision: 1, rules: [{ id, kind, priority: kind === 'pii' ? 32 : CONTEXT_PRIORITY, description }], anchors, detect };
}

const ok = (value: string) => !isPlaceholderValue(value) && !isReferenceValue(value);

// --- Twilio --------------------------------------------------------------------------------------
const TWILIO_SID_THEN_TOKEN = /\bAC[0-9a-f]{32}\b(?:\\?["'])?[ \t]*[,:][ \t]*(?:\\?["'])?([0-9a-f]{32})\b/dg;

const twilioAuthToken = detector('twilio-auth-token', 'Twilio auth tokens after their account SID (Client("AC…", "…"), -u AC…:…)', ['AC'], (text, emit) => {
  TWILIO_SID_THEN_TOKEN.lastIndex = 0;
  for (let m = TWILIO_SID_THEN_TOKEN.exec(text); m; m = TWILIO_SID_THEN_TOKEN.exec(text)) {
    const span = m.indices?.[1];
    if (span) emit('twilio-auth-token', span[0], span[1]);
  }
});

// --- AWS secret keys by position -------------------------------------------------------------------
// Key id, then within a short gap (a quote, a comma, a space, a CSV field) a 40-character key.
const AWS_ID_THEN_SECRET = /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b[^\n]{0,40}?(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dg;
const AWS_CONFIGURE = /aws[ \t]+configure[ \t]+set[ \t]+(?:\S+\.)?aws_secret_access_key[ \t]+(?:\\?["'])?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/dg;

const awsPositionalSecret = detector(
  'aws-secret-access-key-positional',
  'AWS secret access keys next to their key id, or set by aws configure',
  ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'aws_secret_access_key'],
  (text, emit) => {
    for (const re of [AWS_ID_THEN_SECRET, AWS_CONFIGURE]) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        const span = m.indices?.[1];
        const value = m[1] ?? '';
        // A key has digits or '/', '+' and both cases; a 40-letter word run is something else.
        if (span && /[0-9/+]/.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value)) emit('aws-secret-access-key-positional', span[0], span[1]);
      }
    }
  },
);

// --- Azure storage account keys ------------------------------------------------------------------------
// `az storage account keys list`: [{"keyName": "key1", "permissions": "FULL", "value": "<88 base64>"}]
const AZURE_KEY_VALUE = /"value"[ \t]*:[ \t]*"([A-Za-z0-9+/]{86}==)"/dg;

const azureKeyList = detector('azure-storage-key-list', 'Azure storage account keys in az storage account keys list output', ['"keyName"'], (text, emit) => {
  AZURE_KEY_VALUE.lastIndex = 0;
  for (let m = AZURE_KEY_VALUE.exec(text); m; m = AZURE_KEY_VALUE.exec(text)) {
    const span = m.indices?.[1];
    if (span && text.slice(Math.max(0, m.index - 300), m.index).includes('"keyName"')) emit('azure-storage-key-list', span[0], span[1]);
  }
});

// --- Pre-signed URL signatures --------------------------------------------------------------------------
const URL_SIGNATURE = /[?&](?:sig|signature|x-amz-signature|x-goog-signature|x-amz-security-token|x-goog-credential)=([^&#\s"'<>\\]{16,})/dgi;

const urlSignature = detector(
  'url-signature',
  'Signatures and session tokens in pre-signed URLs (Azure SAS sig=, X-Amz-Signature=, X-Goog-Signature=)',
  ['sig=', 'Signature=', 'signature=', 'SIGNATURE=', 'Security-Token=', 'Credential='],
  (text, emit) => {
    URL_SIGNATURE.lastIndex = 0;
    for (let m = URL_SIGNATURE.exec(text); m; m = URL_SIGNATURE.exec(text)) {
      const span = m.indices?.[1];
      if (span && ok(m[1]!)) emit('url-signature', span[0], span[1]);
    }
  },
);

// --- Terraform variable defaults -----------------------------------------------------------------------------
const TF_VARIABLE = /variable[ \t]+"([\w-]*(?:password|passwd|secret|token|api_?key|private_?key|credentials?)[\w-]*)"[ \t]*\{/gi;
const TF_DEFAULT = /^[ \t]*default[ \t]*=[ \t]*"([^"\n]+)"/dm;

const terraformDefault = detector(
  'terraform-variable-default',
  'Defaults of Terraform variables named like credentials (variable "db_password" { default = "…" })',
  ['variable'],
  (text, emit) => {
    TF_VARIABLE.lastIndex = 0;
    for (let m = TF_VARIABLE.exec(text); m; m = TF_VARIABLE.exec(text)) {
      const bodyStart = m.index + m[0].length;
      const close = text.indexOf('}', bodyStart);
      const body = text.slice(bodyStart, close < 0 ? Math.min(text.length, bodyStart + 600) : Math.min(close, bodyStart + 600));
      const d = TF_DEFAULT.exec(body);
      const span = d?.indices?.[1];
      if (d && span && ok(d[1]!)) emit('terraform-variable-default', bodyStart + span[0], bodyStart + span[1]);
    }
  },
);

// --- SSNs in other spellings, next to their name -----------------------------------------------------------------
const SSN_CONTEXT =
  /\b(?:ssn|social[ _-]?security(?:[ _-]?(?:number|no))?)\b(?:\\?["'])?[ \t]*(?:[:=]|is)[ \t]*(?:\\?["'])?(\d{3}[ -]?\d{2}[ -]?\d{4})(?!\d)/dgi;

function ssnValid(digits: string): boolean {
  const area = Number(digits.slice(0, 3));
  return area !== 0 && area !== 666 && area < 900 && digits.slice(3, 5) !== '00' && digits.slice(5) !== '0000';
}

const ssnInContext = detector(
  'us-ssn-context',
  'US social security numbers without dashes or with spaces, next to "SSN"',
  ['ssn', 'SSN', 'Ssn', 'ocial'],
  (text, emit) => {
    SSN_CONTEXT.lastIndex = 0;
    for (let m = SSN_CONTEXT.exec(text); m; m = SSN_CONTEXT.exec(text)) {
      const span = m.indices?.[1];
      if (span && ssnValid(m[1]!.replace(/\D/g, ''))) emit('us-ssn-context', span[0], span[1]);
    }
  },
  'pii',
);

// --- Kubernetes Secrets -----------------------------------------------------------------------------------------
const KIND_SECRET = /\bkind["']?[ \t]*:[ \t]*["']?secret\b/i;
// YAML: a `data:`/`stringData:` block and its indented `key: value` lines (a block scalar's value
// is on the lines after `key: |`).
const YAML_DATA_BLOCK = /^([ \t]*)(?:data|stringData):[ \t]*\n((?:\1[ \t]+[^\n]*\n?|[ \t]*#[^\n]*\n?)+)/gm;
const YAML_ENTRY = /^[ \t]+["']?([\w.-]+)["']?[ \t]*:[ \t]*(?:([|>][-+]?)[ \t]*\n((?:[ \t]+[A-Za-z0-9+/=]+[ \t]*\n?)+)|["']?([^\s"'#]+)["']?)/gm;
// JSON: "data": { "key": "value", … }
const JSON_DATA_BLOCK = /"(?:data|stringData)"[ \t]*:[ \t]*\{([^{}]{1,200000})\}/g;
const JSON_ENTRY = /"([\w.-]+)"[ \t]*:[ \t]*"([^"]+)"/g;
const KUBECTL_DECODE = /kubectl[ \t]+get[ \t]+secrets?\b[^\n]*\|[ \t]*base64[ \t]+(?:-d|--decode|-D)\b[^\n]*\n([^\n]{1,512})/dg;

function isPublicCertificate(value: string): boolean {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return false;
  return Buffer.from(compact.slice(0, 64), 'base64').toString('latin1').startsWith('-----BEGIN CERTIFICATE');
}

const k8sSecret = detector(
  'kubernetes-secret',
  'Kubernetes Secret data: values (base64 of the secret) and kubectl … | base64 -d output',
  ['ecret', 'ECRET'],
  (text, emit) => {
    if (KIND_SECRET.test(text)) {
      const emitValue = (start: number, value: string) => {
        const trimmed = value.trimEnd();
        if (trimmed.length >= 4 && ok(trimmed) && !isPublicCertificate(trimmed)) emit('kubernetes-secret', start, start + trimmed.length);
      };
      YAML_DATA_BLOCK.lastIndex = 0;
      for (let b = YAML_DATA_BLOCK.exec(text); b; b = YAML_DATA_BLOCK.exec(text)) {
        const blockStart = b.index + b[0].indexOf(b[2]!, b[1]!.length);
        YAML_ENTRY.lastIndex = 0;
        for (let e = YAML_ENTRY.exec(b[2]!); e; e = YAML_ENTRY.exec(b[2]!)) {
          if (e[3] !== undefined) {
            // block scalar: every line of it
            const scalarStart = e.index + e[0].indexOf(e[3]);
            let offset = 0;
            for (const line of e[3].split('\n')) {
              const lead = line.length - line.trimStart().length;
              if (line.trim()) emitValue(blockStart + scalarStart + offset + lead, line.trim());
              offset += line.length + 1;
            }
          } else if (e[4] !== undefined) {
            emitValue(blockStart + e.index + e[0].lastIndexOf(e[4]), e[4]);
          }
        }
      }
      JSON_DATA_BLOCK.lastIndex = 0;
      for (let b = JSON_DATA_BLOCK.exec(text); b; b = JSON_DATA_BLOCK.exec(text)) {
        const inner = b.index + b[0].indexOf('{') + 1;
        JSON_ENTRY.lastIndex = 0;
        for (let e = JSON_ENTRY.exec(b[1]!); e; e = JSON_ENTRY.exec(b[1]!)) emitValue(inner + e.index + e[0].lastIndexOf(e[2]!), e[2]!);
      }
    }
    if (text.includes('kubectl')) {
      KUBECTL_DECODE.lastIndex = 0;
      for (let m = KUBECTL_DECODE.exec(text); m; m = KUBECTL_DECODE.exec(text)) {
        const span = m.indices?.[1];
        const value = m[1]!.trim();
        // The decoded value is printed alone on the next line (a prompt may follow it on the same line).
        if (span && value && !/\s/.test(value) && ok(value) && (looksRandom(value, 8) || /\d/.test(value) || value.length >= 8))
          emit('kubernetes-secret', span[0], span[0] + m[1]!.indexOf(value) + value.length);
      }
    }
  },
);

export const CONTEXT_DETECTORS: readonly Detector[] = [
  twilioAuthToken,
  awsPositionalSecret,
  azureKeyList,
  urlSignature,
  terraformDefault,
  ssnInContext,
  k8sSecret,
];
