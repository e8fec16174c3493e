// The one config schema. Every key has a default so that `npm start` works with no file at all.
import { z } from 'zod';
import { parseListen } from '../listen.js';

const cronExpression = z.string().regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields, e.g. "*/15 * * * *"');

const sessionStorage = z
  .object({
    backend: z.enum(['local', 's3']).default('local'),
    // Keep local artifacts as well when s3 is the primary backend.
    mirrorLocal: z.boolean().default(false),
    // Where local artifacts go; relative paths are resolved against the data dir.
    localBaseDir: z.string().min(1).default('artifacts'),
    // With backend: local, when the central copy is written. on-demand (the default): only by
    // `rbk sync` (or `rbk jobs run sync`), so that the local copy does not double the archive on
    // disk behind the user's back; continuous: as with S3, after each turn, when idle and on cron.
    localExport: z.enum(['on-demand', 'continuous']).default('on-demand'),
    s3: z
      .object({
        bucket: z.string().min(3, 'must be an S3 bucket name (3-63 characters)').max(63).optional(),
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9=._/-]*$/, 'must be a key prefix of letters, digits and "=._-/", e.g. rbk or teams/platform/rbk')
          .refine((v) => !v.split('/').includes('..'), 'must not contain ".."')
          .default('rbk'),
        region: z.string().optional(),
        endpoint: z.url({ message: 'must be a URL such as https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:4568' }).optional(),
        forcePathStyle: z.boolean().default(false),
        // Server-side encryption of uploaded objects; omitted = the bucket's default encryption.
        sse: z.enum(['AES256', 'aws:kms']).optional(),
        // KMS key id or ARN, with sse: aws:kms (omitted = the account's aws/s3 key).
        kmsKeyId: z.string().min(1).max(2048).optional(),
      })
      .strict()
      .superRefine((value, ctx) => {
        if (value.kmsKeyId !== undefined && value.sse !== 'aws:kms') {
          ctx.addIssue({
            code: 'custom',
            path: ['kmsKeyId'],
            message: 'goes with sse: aws:kms; set integrations.claude.sessionStorage.s3.sse: aws:kms, or remove kmsKeyId',
          });
        }
      })
      .prefault({}),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.backend === 's3' && !value.s3.bucket) {
      ctx.addIssue({
        code: 'custom',
        path: ['s3', 'bucket'],
        message: 'is required when backend is "s3": set integrations.claude.sessionStorage.s3.bucket, or use backend: local',
      });
    }
  });

const customRule = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be kebab-case, e.g. "internal-token"'),
    pattern: z.string().min(1),
    flags: z
      .string()
      .regex(/^[gimsuy]*$/)
      .optional(),
    kind: z.enum(['secret', 'pii']).default('secret'),
  })
  .strict();

const webhook = z
  .object({
    // Shown in logs and metrics; defaults to the URL's host.
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
      .optional(),
    url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. https://hooks.slack.com/services/...' }),
    events: z
      .array(z.enum(['session.end']))
      .min(1)
      .default(['session.end']),
    format: z.enum(['generic', 'slack', 'discord']).default('generic'),
    // Name of the environment variable that holds the HMAC-SHA256 signing key.
    secretEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name, e.g. RBK_WEBHOOK_SECRET')
      .optional(),
    // Refused with a pointer to secretEnv: a secret never belongs in the config file.
    secret: z.unknown().optional(),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.secret !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message:
          'do not put the secret in the config: export it in an environment variable and name that variable in secretEnv (e.g. secretEnv: RBK_WEBHOOK_SECRET)',
      });
    }
  });

const learningSchema = z
  .object({
    // Runbooks that proposals diff against; relative paths resolve against the session's cwd.
    // Unset: <output dir>/runbooks.
    runbookDir: z.string().min(1).optional(),
    synthesizer: z.enum(['extractive', 'anthropic', 'openai']).default('extractive'),
    anthropic: z
      .object({
        model: z.string().min(1).max(200).default('claude-sonnet-4-5'),
        // Else ANTHROPIC_BASE_URL, else the SDK's default.
        baseUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. https://api.anthropic.com' }).optional(),
        timeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
        maxTokens: z.number().int().min(256).max(64_000).default(4096),
        // Refused: the key belongs in ANTHROPIC_API_KEY, never in the config file.
        apiKey: z.unknown().optional(),
      })
      .strict()
      .superRefine((value, ctx) => {
        if (value.apiKey !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['apiKey'],
            message: "do not put the API key in the config: export ANTHROPIC_API_KEY in the daemon's environment",
          });
      })
      .prefault({}),
    // Any OpenAI-compatible chat completions endpoint: a team's own model server (vLLM, Ollama,
    // llama.cpp, LiteLLM) or a hosted one. The key, when the server needs one, comes from the
    // environment variable named by apiKeyEnv, never from this file.
    openai: z
      .object({
        // e.g. http://127.0.0.1:8000/v1 (the path up to /chat/completions).
        baseUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. http://127.0.0.1:8000/v1' }).optional(),
        model: z.string().min(1).max(200).default('gpt-4o-mini'),
        timeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
        maxTokens: z.number().int().min(256).max(64_000).default(4096),
        apiKeyEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as OPENAI_API_KEY')
          .default('OPENAI_API_KEY'),
        apiKey: z.unknown().optional(),
      })
      .strict()
      .superRefine((value, ctx) => {
        if (value.apiKey !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['apiKey'],
            message: "do not put the API key in the config: export it in the daemon's environment (the variable apiKeyEnv names, OPENAI_API_KEY by default)",
          });
      })
      .prefault({}),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      })
      .strict()
      .prefault({}),
    hook: z
      .object({
        // How long `rbk hook` waits for the daemon before spooling the event.
        timeoutMs: z.number().int().min(50).max(60_000).default(2000),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        // More folders of transcripts, beside ~/.claude/projects, ~/.config/claude/projects and
        // $CLAUDE_CONFIG_DIR/projects: read by the sweep and by `rbk import` given no path.
        transcriptRoots: z.array(z.string()).default([]),
        // Read the roots once when the daemon starts (the sweep job, jobs.sweep, runs on its schedule too).
        sweepAtStart: z.boolean().default(true),
        spoolDrainIntervalMs: z.number().int().min(100).default(5000),
      })
      .strict()
      .prefault({}),
    redaction: z
      .object({
        mode: z.enum(['ingest', 'cron']).default('ingest'),
        ipAddresses: z.boolean().default(false),
        allowlist: z.array(z.string()).default([]),
        // AWS's documented example keys, [FILTERED], ****, pk_live_ publishable keys: never redacted.
        publicPlaceholders: z.boolean().default(true),
        customRules: z.array(customRule).default([]),
        disabledRules: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        redact: cronExpression.default('*/30 * * * *'),
        retention: cronExpression.default('17 3 * * *'),
        compact: cronExpression.default('47 3 * * *'),
        sync: cronExpression.default('*/15 * * * *'),
        // Transcripts no hook announced (hooks off, another settings source, an IDE): see daemon/ingest/sweep.ts.
        sweep: cronExpression.default('*/10 * * * *'),
        // A full PRAGMA integrity_check of the database (daemon/store/integrity.ts).
        integrity: cronExpression.default('33 4 * * *'),
        // A compressed copy of the database (backup.to), keeping backup.keep of them.
        backup: cronExpression.default('7 2 * * *'),
        // Rows stored before storage v2 packed in place (daemon/maintenance/pack.ts). It also runs
        // when the daemon starts with rows left, and is a no-op once every row is packed.
        pack: cronExpression.default('53 * * * *'),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        // dir: files in backup.dir. central-copy: objects under backups/host=<host>/ in the
        // central copy's storage (S3 with its SSE settings, or the local artifacts folder).
        to: z.enum(['dir', 'central-copy']).default('dir'),
        // Relative paths are resolved against the data dir. Put it on another disk when you can.
        dir: z.string().min(1).default('backups'),
        // Generations kept; older backups of this host are deleted after a new one is complete.
        keep: z.number().int().min(1).max(1000).default(7),
      })
      .strict()
      .prefault({}),
    integrity: z
      .object({
        // At start, PRAGMA quick_check table by table for at most this long before serving; tables
        // not reached are checked first at the next start. 0 turns the start check off.
        startBudgetMs: z.number().int().min(0).max(600_000).default(3000),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        local: z
          .object({ days: z.number().int().min(1).default(365) })
          .strict()
          .prefault({}),
        s3: z
          .object({ days: z.number().int().min(1).optional() })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    compaction: z
      .object({
        keepRawDays: z.number().int().min(0).default(30),
        // S3 compaction (daemon/sync/compaction.ts): a session's parts are merged into one
        // object per dataset once it has been closed (ended or idle) this long.
        s3: z
          .object({ closedHours: z.number().int().min(0).max(87_600).default(24) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    pricing: z
      .object({
        // Per-model overrides in USD per million tokens, merged over the embedded table.
        overrides: z
          .record(
            z.string(),
            z
              .object({
                input: z.number().nonnegative().optional(),
                output: z.number().nonnegative().optional(),
                cacheWrite5m: z.number().nonnegative().optional(),
                cacheWrite1h: z.number().nonnegative().optional(),
                cacheRead: z.number().nonnegative().optional(),
              })
              .strict(),
          )
          .default({}),
        // USD per server-side web search; unset = the embedded price (WEB_SEARCH_USD_PER_REQUEST).
        webSearchPerRequest: z.number().nonnegative().optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        // Not 9464: Claude Code's own OpenTelemetry exporter listens there.
        listen: z
          .string()
          .regex(/^[^:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9477')
          .refine((v) => !v.endsWith(':9464'), "port 9464 is Claude Code's own Prometheus exporter; use another, e.g. 127.0.0.1:9477")
          .default('127.0.0.1:9477'),
      })
      .strict()
      .prefault({}),
    // The web console and its JSON API (daemon/http, docs/console.md): loopback only unless auth is on.
    ui: z
      .object({
        enabled: z.boolean().default(true),
        listen: z
          .string()
          .regex(/^(\[[0-9a-fA-F:]+\]|[^:[\]]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9478')
          .default('127.0.0.1:9478'),
        // Access needs the per-install secret (rbk ui opens a one-time login URL). Turning it off
        // is allowed on loopback only, and lets every local user read your sessions.
        auth: z.boolean().default(true),
        // Host headers accepted besides 127.0.0.1, localhost and [::1] on the bound port (DNS
        // rebinding defence): add a name here only if you reach the console through it.
        allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/, 'must be a host name, optionally with :port')).default([]),
        // How long a login lasts before `rbk ui` is needed again.
        loginDays: z.number().int().min(1).max(365).default(30),
      })
      .strict()
      .prefault({})
      .refine((ui) => ui.auth || isLoopbackListen(ui.listen), {
        message: 'a listen address other than loopback needs auth: set ui.auth: true, or listen on 127.0.0.1',
        path: ['listen'],
      }),
    // The OTLP/HTTP receiver (daemon/http/otlp.ts, docs/telemetry.md): agents' OpenTelemetry logs,
    // traces and metrics. Loopback only; exporters send the per-install token (<data dir>/otlp-token).
    otel: z
      .object({
        enabled: z.boolean().default(true),
        listen: z
          .string()
          .regex(/^(\[[0-9a-fA-F:]+\]|[^:[\]]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9479')
          .refine((v) => isLoopbackListen(v), 'must be a loopback address (127.0.0.1, localhost or [::1]): telemetry carries session content')
          .refine((v) => !v.endsWith(':9464'), "port 9464 is Claude Code's own Prometheus exporter; use another, e.g. 127.0.0.1:9479")
          .default('127.0.0.1:9479'),
        // A request body (after gzip) larger than this is refused with 413. OTLP exporters batch
        // 512 records by default: a few hundred KB.
        maxBodyBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .max(256 * 1024 * 1024)
          .default(16 * 1024 * 1024),
        // rbk install points Claude Code's telemetry at this receiver (the settings' env block).
        claudeCode: z.boolean().default(true),
        // Also send every export rbk received to your own collector (OTLP/HTTP base URLs, e.g.
        // http://127.0.0.1:4318). Headers for it come from the environment variable named in
        // headersEnv (OTEL_EXPORTER_OTLP_HEADERS syntax: k=v,k2=v2), never from this file.
        forward: z
          .array(
            z
              .object({
                url: z.url({ message: 'must be an OTLP/HTTP base URL such as http://127.0.0.1:4318' }),
                headersEnv: z
                  .string()
                  .regex(/^[A-Z_][A-Z0-9_]*$/)
                  .optional(),
              })
              .strict(),
          )
          .max(4)
          .default([]),
      })
      .strict()
      .prefault({}),
    // Webhooks sent when a session ends (daemon/notify). Secrets come from the environment only.
    notify: z
      .object({
        // Wait this long after SessionEnd so that the transcript's last lines are ingested first.
        debounceMs: z.number().int().min(0).max(600_000).default(3000),
        // Deliveries waiting per webhook; beyond it new ones are dropped (and counted).
        queueLimit: z.number().int().min(1).max(100_000).default(1000),
        retry: z
          .object({
            maxAttempts: z.number().int().min(1).max(50).default(6),
            initialDelayMs: z.number().int().min(10).max(3_600_000).default(1000),
            maxDelayMs: z.number().int().min(10).max(86_400_000).default(300_000),
          })
          .strict()
          .prefault({}),
        webhooks: z.array(webhook).default([]),
      })
      .strict()
      .prefault({}),
    // rbk learn (daemon/learn, docs/learn.md). The Anthropic API key comes from ANTHROPIC_API_KEY only.
    learning: learningSchema,
    // The central copy's uploader (daemon/sync): when it runs and how it backs off.
    sync: z
      .object({
        // Upload on Stop/SessionEnd, on idle sessions and on retry timers; false leaves only the
        // cron job (jobs.sync) and `rbk sync`.
        automatic: z.boolean().default(true),
        // Wait this long after Stop/SessionEnd so that the transcript's last lines are in first.
        debounceMs: z.number().int().min(0).max(3_600_000).default(5000),
        // A session with new rows and no activity for this long is uploaded without waiting for cron.
        idleMinutes: z.number().int().min(1).max(1440).default(10),
        // Stop fires after every turn: a session is uploaded on it at most once per this interval.
        minIntervalMs: z.number().int().min(0).max(86_400_000).default(300_000),
        // Exponential backoff with full jitter after a failed upload, per session.
        backoffBaseMs: z.number().int().min(10).max(3_600_000).default(1000),
        backoffCapMs: z.number().int().min(10).max(86_400_000).default(60_000),
        // Bounds one part object; a session with more new rows uploads the rest in the next pass.
        maxPartRows: z.number().int().min(1).max(1_000_000).default(50_000),
        // …and its text (before gzip): four sessions upload at once, each part held in memory.
        maxPartBytes: z.number().int().min(1024).max(1_073_741_824).default(4_194_304),
      })
      .strict()
      .prefault({}),
    integrations: z
      .object({
        claude: z
          .object({
            sessionStorage: sessionStorage.prefault({}),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RbkConfig = z.infer<typeof configSchema>;

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function isLoopbackListen(listen: string): boolean {
  return isLoopbackHost(parseListen(listen).host);
}
