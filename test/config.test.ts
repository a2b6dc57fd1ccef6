/**
 * Configuration is validated once, at start: every bad value raises a ConfigError whose message
 * names the setting, and the command exits non-zero with that message. The CLI case runs the
 * built command, so it needs `npm run build` first (`npm test` runs it).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config/load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const folder = mkdtempSync(join(tmpdir(), 'gatepass-config-'));
after(() => rmSync(folder, { recursive: true, force: true }));

/** Write `content` as a JSON config file and return its path. */
function configFile(name: string, content: unknown): string {
  const path = join(folder, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

/** Run loadConfig and return the ConfigError it throws. Fails the test on any other outcome. */
function configError(options: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig(options);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('loadConfig accepted the configuration');
}

const demoModule = {
  id: 'payouts',
  name: 'Payouts',
  prefix: '/payouts',
  upstreams: { staging: 'http://127.0.0.1:9101', production: 'http://127.0.0.1:9102' },
};

describe('loadConfig', () => {
  test('defaults load without settings', () => {
    const config = loadConfig({ env: {} });

    assert.equal(config.listeners.staging.port, 8081);
    assert.equal(config.modules[0]?.id, 'demo');
  });

  test('port from environment applies', () => {
    const config = loadConfig({ env: { GATEPASS_STAGING_PORT: '9181' } });

    assert.equal(config.listeners.staging.port, 9181);
  });

  test('port that is not a number', () => {
    const error = configError({ env: { GATEPASS_STAGING_PORT: 'abc' } });

    assert.match(error.message, /GATEPASS_STAGING_PORT/);
    assert.match(error.message, /listeners\.staging\.port/);
    assert.match(error.message, /"abc"/);
  });

  test('port above 65535', () => {
    const error = configError({ env: { GATEPASS_STAGING_PORT: '70000' } });

    assert.match(error.message, /listeners\.staging\.port/);
    assert.match(error.message, /GATEPASS_STAGING_PORT/);
    assert.match(error.message, /65535/);
  });

  test('unknown log level', () => {
    const error = configError({ env: { GATEPASS_LOG_LEVEL: 'verbose' } });

    assert.match(error.message, /log\.level/);
    assert.match(error.message, /GATEPASS_LOG_LEVEL/);
  });

  test('unknown top-level key in file', () => {
    const file = configFile('unknown-top.json', { listners: { staging: { port: 9000 } } });
    const error = configError({ env: {}, file });

    assert.match(error.message, /"listners"/);
    assert.match(error.message, /unknown setting/);
  });

  test('unknown nested key in file', () => {
    const file = configFile('unknown-nested.json', { tokens: { accessTokenTTL: 60 } });
    const error = configError({ env: {}, file });

    assert.match(error.message, /tokens: unknown setting "accessTokenTTL"/);
  });

  test('file that is not JSON', () => {
    const file = join(folder, 'broken.json');
    writeFileSync(file, '{ "host": ');
    const error = configError({ env: {}, file });

    assert.match(error.message, /invalid JSON/);
    assert.ok(error.message.includes(file));
  });

  test('missing config file', () => {
    const file = join(folder, 'absent.json');
    const error = configError({ env: {}, file });

    assert.ok(error.message.includes(file));
    assert.match(error.message, /cannot be read/);
  });

  test('module prefix without slash', () => {
    const file = configFile('bad-prefix.json', { modules: [{ ...demoModule, prefix: 'payouts' }] });
    const error = configError({ env: {}, file });

    assert.match(error.message, /modules\.0\.prefix/);
    assert.match(error.message, /must start with "\/"/);
  });

  test('module prefix reserved for tokens', () => {
    const file = configFile('reserved-prefix.json', {
      modules: [{ ...demoModule, prefix: '/v1' }],
    });
    const error = configError({ env: {}, file });

    assert.match(error.message, /modules\.0\.prefix/);
    assert.match(error.message, /reserved/);
  });

  test('two modules on one prefix', () => {
    const file = configFile('same-prefix.json', {
      modules: [demoModule, { ...demoModule, id: 'identity', name: 'Identity' }],
    });
    const error = configError({ env: {}, file });

    assert.match(error.message, /modules\.1\.prefix/);
  });

  test('two listeners on one port', () => {
    const error = configError({
      env: { GATEPASS_STAGING_PORT: '9300', GATEPASS_PRODUCTION_PORT: '9300' },
    });

    assert.match(error.message, /listeners\.production\.port/);
    assert.match(error.message, /staging/);
  });

  test('every problem listed at once', () => {
    const error = configError({
      env: { GATEPASS_STAGING_PORT: 'abc', GATEPASS_ADMIN_PORT: '70000' },
    });

    assert.equal(error.problems.length, 2);
  });
});

describe('gatepass start with bad configuration', () => {
  let child: ChildProcess | undefined;
  // A start that wrongly accepted the value would keep listening; stop it so the run ends.
  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  test('exits non-zero naming setting', { timeout: 30_000 }, async () => {
    const dataDir = join(folder, 'cli-data');
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('GATEPASS_')),
    );
    const started = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'start'], {
      cwd: ROOT,
      env: { ...env, GATEPASS_DATA_DIR: dataDir, GATEPASS_STAGING_PORT: '70000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => started.once('close', resolve));

    assert.equal(code, 2);
    assert.match(stderr, /listeners\.staging\.port/);
    assert.match(stderr, /GATEPASS_STAGING_PORT/);
    assert.ok(!existsSync(dataDir), 'a rejected start created the data folder');
  });
});
