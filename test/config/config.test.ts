import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfigText } from '../../daemon/config/load.js';

/** The ConfigError parseConfigText throws for `yaml`. */
function configError(yaml: string, file = '/etc/rbk/config.yaml'): ConfigError {
  try {
    parseConfigText(yaml, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).file).toBe(file);
    return err as ConfigError;
  }
  throw new Error(`expected the config to be refused:\n${yaml}`);
}

const s3 = (body: string): string => `integrations:\n  claude:\n    sessionStorage:\n${body.replace(/^/gm, '      ')}\n`;

describe('config defaults', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rbk-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a missing file gives the embedded defaults', () => {
    const { config, source } = loadConfig(path.join(dir, 'does-not-exist.yaml'));
    expect(source).toBe('embedded defaults');
    expect(config.log.level).toBe('info');
    expect(config.hook.timeoutMs).toBe(2000);
    expect(config.ingest).toEqual({ transcriptRoots: [], sweepAtStart: true, spoolDrainIntervalMs: 5000 });
    expect(config.integrity).toEqual({ startBudgetMs: 3000 });
    expect(config.backup).toEqual({ to: 'dir', dir: 'backups', keep: 7 });
    expect(config.jobs).toMatchObject({ sweep: '*/10 * * * *', integrity: '33 4 * * *', backup: '7 2 * * *', pack: '53 * * * *' });
    expect(config.redaction).toEqual({ mode: 'ingest', ipAddresses: false, allowlist: [], customRules: [], disabledRules: [], publicPlaceholders: true });
    expect(config.metrics).toEqual({ enabled: true, listen: '127.0.0.1:9477' });
    expect(config.retention.local.days).toBe(365);
    expect(config.integrations.claude.sessionStorage).toEqual({
      backend: 'local',
      mirrorLocal: false,
      localBaseDir: 'artifacts',
      localExport: 'on-demand',
      s3: { prefix: 'rbk', forcePathStyle: false },
    });
  });

  it('an empty file, a comment-only file and an empty mapping all give the same defaults', () => {
    const defaults = loadConfig(path.join(dir, 'nope.yaml')).config;
    for (const text of ['', '# nothing here\n', '{}\n']) {
      const file = path.join(dir, 'c.yaml');
      fs.writeFileSync(file, text);
      const loaded = loadConfig(file);
      expect(loaded.source).toBe(file);
      expect(loaded.config).toEqual(defaults);
    }
  });

  it('fills defaults around the keys that are set', () => {
    const c = parseConfigText(`log:\n  level: debug\n${s3('backend: s3\ns3:\n  bucket: my-bucket\n  endpoint: http://127.0.0.1:4568')}`);
    expect(c.log.level).toBe('debug');
    expect(c.hook.timeoutMs).toBe(2000);
    expect(c.integrations.claude.sessionStorage).toEqual({
      backend: 's3',
      mirrorLocal: false,
      localBaseDir: 'artifacts',
      localExport: 'on-demand',
      s3: { bucket: 'my-bucket', endpoint: 'http://127.0.0.1:4568', prefix: 'rbk', forcePathStyle: false },
    });
  });

  it('a directory in place of the file is an error naming it, not silently the defaults', () => {
    expect(() => loadConfig(dir)).toThrow(ConfigError);
    expect(() => loadConfig(dir)).toThrow(`cannot read config ${dir}`);
  });
});

describe('config validation', () => {
  it('backend s3 without a bucket names integrations.claude.sessionStorage.s3.bucket', () => {
    const err = configError(s3('backend: s3'));
    expect(err.message).toContain('invalid config in /etc/rbk/config.yaml');
    expect(err.message).toMatch(/^ {2}integrations\.claude\.sessionStorage\.s3\.bucket: is required when backend is "s3"/m);
  });

  it('backend local does not need a bucket', () => {
    expect(parseConfigText(s3('backend: local')).integrations.claude.sessionStorage.backend).toBe('local');
  });

  it('a bad endpoint URL names the key and shows what a URL looks like', () => {
    const err = configError(s3('backend: s3\ns3:\n  bucket: my-bucket\n  endpoint: not a url'));
    expect(err.message).toMatch(/integrations\.claude\.sessionStorage\.s3\.endpoint: must be a URL such as https:\/\//);
  });

  it('an unknown backend lists the allowed values', () => {
    const err = configError(s3('backend: gcs'));
    expect(err.message).toContain('integrations.claude.sessionStorage.backend: must be one of "local", "s3"');
  });

  it('an unknown key is named with its full path', () => {
    expect(configError('logg:\n  level: info\n').message).toMatch(/^ {2}\/etc\/rbk\/config\.yaml:1:1: logg: unknown key/m);
    expect(configError(s3('backend: local\nbuckett: x')).message).toMatch(/integrations\.claude\.sessionStorage\.buckett: unknown key/);
  });

  it('wrong types and ranges name the key', () => {
    expect(configError('hook:\n  timeoutMs: fast\n').message).toMatch(/hook\.timeoutMs: /);
    expect(configError('hook:\n  timeoutMs: 10\n').message).toMatch(/hook\.timeoutMs: /);
    expect(configError('log:\n  level: loud\n').message).toContain('log.level: must be one of "debug", "info", "warn", "error"');
    expect(configError('jobs:\n  redact: every hour\n').message).toContain('jobs.redact: must be a cron expression');
  });

  it('reports every problem at once, one per line', () => {
    const err = configError(`logg: 1\n${s3('backend: s3')}`);
    const lines = err.message.split('\n').slice(1);
    expect(lines).toHaveLength(2);
    expect(err.message).toContain('logg: unknown key');
    expect(err.message).toContain('integrations.claude.sessionStorage.s3.bucket');
  });

  it('invalid YAML says so: file:line:column, the line quoted with a caret, and a full sentence', () => {
    const err = configError('log:\n  level: info\n hook: [unclosed\n');
    expect(err.message).toMatch(/^\/etc\/rbk\/config\.yaml:\d+:\d+: not valid YAML: .+\.$/m);
    expect(err.message.split('\n')).toHaveLength(4);
    expect(err.message.split('\n').at(-1)).toMatch(/\.$/);
  });

  it('an unclosed { or [ is reported where it was opened, not where the parser gave up', () => {
    // The "{" on line 4 is never closed; the YAML parser notices only on line 5.
    const err = configError('log:\n  level: info\nsync:\n  automatic: { true\n  debounceMs: 5\n');
    const [first, quoted, caret, hint] = err.message.split('\n');
    expect(first).toBe('/etc/rbk/config.yaml:4:14: not valid YAML: this { is never closed.');
    expect(quoted).toBe('  4 |   automatic: { true');
    expect(caret).toBe('    |              ^');
    expect(hint).toBe('Close it with } on the same line, or write the value as an indented block instead.');
    const seq = configError('metrics:\n  listen: [127.0.0.1\nlog:\n  level: info\n');
    expect(seq.message.split('\n')[0]).toBe('/etc/rbk/config.yaml:2:11: not valid YAML: this [ is never closed.');
    // A quote that is never closed, with brackets inside it that do not count.
    const quote = configError("log:\n  level: 'info {\nsync:\n  debounceMs: 5\n");
    expect(quote.message.split('\n')[0]).toBe("/etc/rbk/config.yaml:2:10: not valid YAML: this ' is never closed.");
  });

  it('schema problems say where the key is written (line:column)', () => {
    const err = configError('log:\n  level: loud\nsync:\n  debounceMss: 5\n');
    expect(err.message).toContain('/etc/rbk/config.yaml:2:10: log.level: must be one of "debug", "info", "warn", "error".');
    expect(err.message).toContain('/etc/rbk/config.yaml:4:3: sync.debounceMss: unknown key; remove it, or check its spelling');
  });

  it('a top level that is not a mapping is refused', () => {
    expect(configError('- a\n- b\n').message).toContain('the top level must be a mapping of keys');
    expect(configError('- a\n').message).toContain('not a list');
    expect(configError('just a string\n').message).toContain('not string');
  });
});
