// Which agent ran a session (sessions.agent): claude-code, codex, or otel:<service.name> for any
// agent that exports OpenTelemetry. One rule for the daemon's filters, the CLI's --agent, what a
// pull accepts from a manifest, and the names the OTLP receiver makes.
export const AGENT_NAME = /^(claude-code|codex|otel:[^\u0000-\u001f]{1,100})$/;

export const AGENT_NAME_HELP = 'claude-code, codex or otel:<service name>';

/** The agent of an OpenTelemetry service: Claude Code's own, else otel:<service.name>. */
export function agentOfService(service: string): string {
  if (service === 'claude-code') return 'claude-code';
  const name = service.replace(/[\u0000-\u001f]/g, '').slice(0, 100);
  return `otel:${name || 'unknown_service'}`;
}
