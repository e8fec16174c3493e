// What kind of failure an upload to the central copy hit, from the storage client's message, and
// what to do about it. Shared by `rbk sync`, `rbk sync status` and `rbk doctor`, so that a
// person reads the same cause and the same fix everywhere.

export type SyncFailureCause = 'credentials' | 'permission' | 'bucket' | 'endpoint' | 'integrity' | 'other';

const RULES: { cause: SyncFailureCause; test: RegExp; fix: string }[] = [
  {
    cause: 'credentials',
    test: /could not load credentials|credential(s)? (is|are) missing|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|security token .* (invalid|expired)|UnrecognizedClient|InvalidClientTokenId|no credentials/i,
    fix: 'the daemon uses the AWS default credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance role) as the daemon sees it: for the user service, put them in the env file beside the config, then rbk restart',
  },
  {
    cause: 'permission',
    test: /AccessDenied|Forbidden|\b403\b|not authorized/i,
    fix: 'the credentials work but may not write there: allow s3:PutObject, s3:GetObject, s3:ListBucket (and s3:DeleteObject for compaction and retention) on the bucket and prefix',
  },
  {
    cause: 'bucket',
    test: /NoSuchBucket|PermanentRedirect|AuthorizationHeaderMalformed|wrong region|region .* (is wrong|expecting)|IllegalLocationConstraint|bucket .* (does not exist|not found)/i,
    fix: 'check integrations.claude.sessionStorage.s3.bucket and .region in the config (the bucket must exist, in that region)',
  },
  {
    cause: 'endpoint',
    test: /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|getaddrinfo|socket hang up|timed? ?out|certificate|self[- ]signed|TLS|\b50[234]\b|Service ?Unavailable|SlowDown/i,
    fix: 'the store could not be reached (network, DNS, TLS or an outage); check integrations.claude.sessionStorage.s3.endpoint if set. Uploads retry with backoff; nothing is lost',
  },
  {
    cause: 'integrity',
    test: /checksum|sha256|ETag/i,
    fix: 'the store confirmed other bytes than were sent; the part is sent again. If it keeps happening, the store (or a proxy) changes objects',
  },
];

export function syncFailureCause(message: string): { cause: SyncFailureCause; fix: string } {
  for (const r of RULES) if (r.test.test(message)) return { cause: r.cause, fix: r.fix };
  return { cause: 'other', fix: 'see the daemon log for the whole error; the session stays in the backlog and is retried' };
}
