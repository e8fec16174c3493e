// Config validation for the central copy. Through the real daemon (rbkd exits 2 before touching
// anything, and its message names the full key), and through the parser for the newer keys: SSE,
// the key prefix and the sync tuning.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../daemon/config/load.js';
import { makeDataDir, spawnDaemon } from '../support/rbk.js';
import { S3_ENV } from './support.js';

const storage = (body: string) => `metrics: { enabled: false }\nintegrations:\n  claude:\n    sessionStorage:\n${body.replace(/^/gm, '      ')}\n`;

async function daemonRefuses(config: string): Promise<string> {
  const t = makeDataDir({ config });
  try {
    const d = spawnDaemon(t, { env: S3_ENV });
    const exit = await d.exited;
    expect(exit.code).toBe(2);
    return d.log();
  } finally {
    t.cleanup();
  }
}

function configError(text: string): string {
  try {
    parseConfigText(text, 'config.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

describe('rbkd refuses a bad storage config, naming the key', () => {
  it('backend s3 without a bucket', async () => {
    const log = await daemonRefuses(storage('backend: s3\ns3:\n  region: eu-west-1'));
    expect(log).toMatch(/integrations\.claude\.sessionStorage\.s3\.bucket: is required when backend is "s3"/);
  });

  it('an endpoint that is not a URL', async () => {
    const log = await daemonRefuses(storage('backend: s3\ns3:\n  bucket: team-sessions\n  endpoint: 127.0.0.1:4568'));
    expect(log).toMatch(/integrations\.claude\.sessionStorage\.s3\.endpoint: must be a URL such as https:\/\/s3\.eu-west-1\.amazonaws\.com/);
  });

  it('an unknown backend', async () => {
    const log = await daemonRefuses(storage('backend: github'));
    expect(log).toContain('integrations.claude.sessionStorage.backend: must be one of "local", "s3"');
  });
});

describe('central copy config keys', () => {
  it('defaults: local backend, automatic uploads, 1 s → 60 s backoff, no SSE', () => {
    const c = parseConfigText('');
    expect(c.integrations.claude.sessionStorage.backend).toBe('local');
    expect(c.integrations.claude.sessionStorage.s3.sse).toBeUndefined();
    expect(c.sync).toEqual({
      automatic: true,
      debounceMs: 5000,
      idleMinutes: 10,
      minIntervalMs: 300_000,
      backoffBaseMs: 1000,
      backoffCapMs: 60_000,
      maxPartRows: 50_000,
      maxPartBytes: 4_194_304,
    });
  });

  it('SSE: AES256 or aws:kms with a key id; a key id needs aws:kms; anything else names the key', () => {
    const kms = parseConfigText(storage('backend: s3\ns3:\n  bucket: team-sessions\n  sse: aws:kms\n  kmsKeyId: arn:aws:kms:eu-west-1:111122223333:key/abcd'));
    expect(kms.integrations.claude.sessionStorage.s3).toMatchObject({ sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd' });
    expect(parseConfigText(storage('backend: s3\ns3:\n  bucket: team-sessions\n  sse: AES256')).integrations.claude.sessionStorage.s3.sse).toBe('AES256');
    expect(configError(storage('backend: s3\ns3:\n  bucket: team-sessions\n  sse: AES256\n  kmsKeyId: abcd'))).toMatch(
      /integrations\.claude\.sessionStorage\.s3\.kmsKeyId: goes with sse: aws:kms/,
    );
    expect(configError(storage('backend: s3\ns3:\n  bucket: team-sessions\n  sse: rot13'))).toContain(
      'integrations.claude.sessionStorage.s3.sse: must be one of "AES256", "aws:kms"',
    );
  });

  it('no credential keys: they are refused as unknown, the credential chain is the only source', () => {
    expect(configError(storage('backend: s3\ns3:\n  bucket: team-sessions\n  accessKeyId: AKIA4Q24M3S7P2YU3ND2'))).toMatch(
      /integrations\.claude\.sessionStorage\.s3\.accessKeyId: unknown key/,
    );
    expect(configError(storage('backend: s3\ns3:\n  bucket: team-sessions\n  secretAccessKey: x'))).toMatch(/s3\.secretAccessKey: unknown key/);
  });

  it('a key prefix that could leave its place is refused', () => {
    expect(configError(storage('backend: s3\ns3:\n  bucket: team-sessions\n  prefix: "../other"'))).toMatch(
      /integrations\.claude\.sessionStorage\.s3\.prefix: must not contain "\.\."/,
    );
    expect(configError(storage('backend: s3\ns3:\n  bucket: team-sessions\n  prefix: "a b"'))).toMatch(
      /integrations\.claude\.sessionStorage\.s3\.prefix: must be a key prefix/,
    );
  });

  it('sync tuning keys are range-checked and named', () => {
    expect(configError('sync:\n  backoffBaseMs: 0\n')).toMatch(/sync\.backoffBaseMs: /);
    expect(configError('sync:\n  idleMinutes: soon\n')).toMatch(/sync\.idleMinutes: /);
    expect(configError('sync:\n  debounce: 5\n')).toMatch(/sync\.debounce: unknown key/);
  });
});
