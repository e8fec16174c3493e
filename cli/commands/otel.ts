// `rbk otel env`: the environment that points an OpenTelemetry-instrumented agent (any OTel SDK,
// Node or Python) at rbk's OTLP receiver: the endpoint, the protocol and the receiver's token
// (docs/telemetry.md). Read from the config and the data dir, so it works before rbkd runs; the
// token file is made here if the daemon has not made it yet, with the same 0600 rule.
import { resolvePaths } from '../../common/paths.js';
import { loadOrCreateSecret } from '../../common/secret-file.js';
import { loadConfig } from '../../daemon/config/load.js';
import { parseListen } from '../../daemon/listen.js';
import { call } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import type { Io } from '../io.js';
import { shellQuote } from '../install/shell.js';

export async function otelEnvCommand(io: Io, opts: { json: boolean; serviceName?: string }): Promise<number> {
  const paths = resolvePaths();
  const { config } = loadConfig(paths.config);
  if (!config.otel.enabled) throw new CliError(`the OTLP receiver is off: set otel.enabled: true in ${paths.config} and restart rbkd`, EXIT.failure);
  const { host, port } = parseListen(config.otel.listen);
  // The running daemon knows the address it bound (the config may say port 0); else the config's.
  let endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    const s = await call<{ otel?: { url?: string } }>('Admin', 'Status', {}, 2000);
    if (s.otel?.url) endpoint = s.otel.url;
  } catch {
    /* not running: the config's address is where it will listen */
  }
  const token = loadOrCreateSecret(paths.otlpToken, 'OTLP token');
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer ${token}`,
    // GenAI spans are what rbk turns into sessions; logs carry GenAI events where the SDK sends them.
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_METRICS_EXPORTER: 'none',
    ...(opts.serviceName ? { OTEL_SERVICE_NAME: opts.serviceName } : {}),
  };
  if (opts.json) {
    io.json({ env, tokenFile: paths.otlpToken });
    return EXIT.ok;
  }
  for (const [k, v] of Object.entries(env)) io.out(`export ${k}=${shellQuote(v)}`);
  return EXIT.ok;
}
