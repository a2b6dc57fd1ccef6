/**
 * Runs the built `gatepass` command as a user would: `start` in a child process on free
 * loopback ports and a fresh data folder, then boarding, tokens, a user sign-in and gateway
 * calls from outside. At the end the child is stopped with SIGTERM and its output and database
 * files are searched for every secret the test saw. Needs `npm run build` first (`npm test`
 * runs it).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { findSecrets, readDatabaseFiles } from './helpers/secret-scan.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMMAND = join(ROOT, 'dist', 'cli', 'main.js');
/** Upper bound on the wait for `/readyz`, after which the test fails rather than hangs. */
const READY_DEADLINE_MS = 30_000;

/** Return a port that was free a moment ago, found by binding port 0 on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built command to completion, with `input` on its standard input. */
function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [COMMAND, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (exited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Poll `url` until it returns 200, and fail if the child exits or the deadline passes first. */
async function waitForReady(url: string, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`gatepass start exited early:\n${output().slice(-4000)}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
    } catch {
      // The listener is not bound yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `${url} did not return 200 within ${READY_DEADLINE_MS} ms. Last output:\n${output().slice(-4000)}`,
  );
}

interface Boarding {
  platform: { id: string; name: string; status: string };
  environment: string;
  client_id: string;
  client_secret: string;
  modules: Record<string, { module_secret: string; provider_secret?: string }>;
}

describe('gatepass command end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-e2e-'));
  const password = `Correct-${randomBytes(12).toString('hex')}-Horse`;
  const email = 'dev@acme-retail.test';
  /** Every secret the test created or received, by label. */
  const secrets: Record<string, string> = { password };
  /** Output of every command the test ran, except boarding's stdout, which shows the secrets by design. */
  const captured = { server: '', cli: '' };

  let env: NodeJS.ProcessEnv;
  let server: ChildProcess;
  let staging = '';
  let production = '';
  let admin = '';
  let boarding: Boarding;
  let config: client.Configuration;
  let clientAccessToken = '';
  let userAccessToken = '';

  before(async () => {
    const [adminPort, stagingPort, productionPort] = await freePorts(3);
    staging = `http://127.0.0.1:${stagingPort}`;
    production = `http://127.0.0.1:${productionPort}`;
    admin = `http://127.0.0.1:${adminPort}`;

    // Settings inherited from the shell would point the child at another database or key.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !name.startsWith('GATEPASS_') && name !== 'DATABASE_URL',
      ),
    );
    env = {
      ...inherited,
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_ADMIN_PORT: String(adminPort),
      GATEPASS_STAGING_PORT: String(stagingPort),
      GATEPASS_PRODUCTION_PORT: String(productionPort),
      // Trace writes every log line there is, so a leaked secret has every chance to show up.
      GATEPASS_LOG_LEVEL: 'trace',
    };

    server = spawn(process.execPath, [COMMAND, 'start'], { cwd: ROOT, env });
    server.stdout?.on('data', (chunk) => {
      captured.server += chunk;
    });
    server.stderr?.on('data', (chunk) => {
      captured.server += chunk;
    });
    await waitForReady(`${admin}/readyz`, server, () => captured.server);
  });

  after(async () => {
    // Reached with the child still running only when a test failed before the stop test.
    if (server && !exited(server)) {
      server.kill('SIGKILL');
      await waitForExit(server);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('board prints credentials as JSON', async () => {
    const result = await runCli(
      ['platforms', 'board', 'Acme Retail', '--modules', 'demo', '--json'],
      env,
    );
    captured.cli += result.stderr;
    assert.equal(result.code, 0, result.stderr);
    boarding = JSON.parse(result.stdout) as Boarding;

    assert.match(boarding.platform.id, /^\S+$/);
    assert.equal(boarding.platform.name, 'Acme Retail');
    assert.equal(boarding.platform.status, 'staging');
    assert.equal(boarding.environment, 'staging');
    assert.match(boarding.client_id, /^\S+$/);
    assert.match(boarding.client_secret, /^gp_test_cs_/);
    assert.deepEqual(Object.keys(boarding.modules), ['demo']);
    assert.match(boarding.modules.demo?.module_secret ?? '', /^gp_test_ms_/);
    assert.match(boarding.modules.demo?.provider_secret ?? '', /^gp_test_ps_/);

    secrets.client_secret = boarding.client_secret;
    secrets.module_secret = boarding.modules.demo?.module_secret ?? '';
    secrets.provider_secret = boarding.modules.demo?.provider_secret ?? '';
  });

  test('usage errors exit with code 2', async () => {
    const missingOption = await runCli(['platforms', 'board', 'Acme Retail'], env);
    assert.equal(missingOption.code, 2);
    assert.match(missingOption.stderr, /required option '--modules/);
    const unknownCommand = await runCli(['platforms', 'nosuch'], env);
    assert.equal(unknownCommand.code, 2);
    const help = await runCli(['platforms', '--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /board/);
  });

  test('client_credentials through openid-client', async () => {
    config = new client.Configuration(
      { issuer: staging, token_endpoint: `${staging}/v1/auth/token` },
      boarding.client_id,
      boarding.client_secret,
    );
    client.allowInsecureRequests(config);
    const tokens = await client.clientCredentialsGrant(config);

    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'demo');
    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(typeof tokens.refresh_token, 'string');
    clientAccessToken = tokens.access_token;
    secrets.client_access_token = tokens.access_token;
    secrets.client_refresh_token = tokens.refresh_token ?? '';
  });

  test('refresh_token through openid-client', async () => {
    const tokens = await client.refreshTokenGrant(config, secrets.client_refresh_token ?? '');

    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(typeof tokens.refresh_token, 'string');
    assert.notEqual(tokens.refresh_token, secrets.client_refresh_token);
    secrets.refreshed_access_token = tokens.access_token;
    secrets.refreshed_refresh_token = tokens.refresh_token ?? '';
  });

  test('users add reads password from stdin', async () => {
    const result = await runCli(
      [
        'users',
        'add',
        '--platform',
        boarding.platform.id,
        '--email',
        email,
        '--role',
        'developer',
        '--password-stdin',
        '--json',
      ],
      env,
      `${password}\n`,
    );
    captured.cli += result.stdout + result.stderr;
    assert.equal(result.code, 0, result.stderr);
    const user = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(user.email, email);
    assert.equal(user.role, 'developer');
    assert.equal(user.platform_id, boarding.platform.id);
  });

  test('user_credentials signs the user in', async () => {
    const response = await fetch(`${staging}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'user_credentials', email, password }).toString(),
    });
    const body = (await response.json()) as Record<string, unknown>;

    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.equal(typeof body.access_token, 'string');
    assert.equal(typeof body.refresh_token, 'string');
    userAccessToken = String(body.access_token);
    secrets.user_access_token = userAccessToken;
    secrets.user_refresh_token = String(body.refresh_token);
  });

  const moduleHeaders = () => ({
    'x-module-secret': boarding.modules.demo?.module_secret ?? '',
    'x-provider-secret': boarding.modules.demo?.provider_secret ?? '',
  });
  const clientHeaders = () => ({
    'x-client-id': boarding.client_id,
    'x-client-secret': boarding.client_secret,
    ...moduleHeaders(),
  });

  const gatewayCases: Array<{ name: string; headers: () => Record<string, string> }> = [
    {
      name: 'client access token',
      headers: () => ({ authorization: `Bearer ${clientAccessToken}`, ...moduleHeaders() }),
    },
    {
      name: 'user access token',
      headers: () => ({ authorization: `Bearer ${userAccessToken}`, ...moduleHeaders() }),
    },
    { name: 'client headers', headers: clientHeaders },
  ];

  for (const { name, headers } of gatewayCases) {
    test(`gateway accepts ${name}`, async () => {
      const response = await fetch(`${staging}/demo/anything`, { headers: headers() });
      const body = (await response.json()) as {
        environment?: string;
        path?: string;
        received_headers?: string[];
      };

      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.environment, 'staging');
      assert.equal(body.path, '/anything');
      for (const header of Object.keys(headers())) {
        assert.ok(!body.received_headers?.includes(header), `upstream received ${header}`);
      }
    });
  }

  test('production rejects staging client headers', async () => {
    const response = await fetch(`${production}/demo/anything`, { headers: clientHeaders() });
    const body = (await response.json()) as { code?: string; message?: string };

    assert.equal(response.status, 403);
    assert.equal(body.code, 'wrong_environment');
    assert.match(body.message ?? '', /staging environment/);
  });

  test('production rejects staging access token', async () => {
    // The production listener cannot verify a staging signature, so the token counts as
    // invalid (401) rather than forbidden, and the message still names its environment.
    const response = await fetch(`${production}/demo/anything`, {
      headers: { authorization: `Bearer ${clientAccessToken}`, ...moduleHeaders() },
    });
    const body = (await response.json()) as { code?: string; message?: string };

    assert.equal(response.status, 401);
    assert.equal(body.code, 'invalid_token');
    assert.match(body.message ?? '', /staging environment/);
  });

  test('SIGTERM stops the server cleanly', async () => {
    server.kill('SIGTERM');
    const { code, signal } = await waitForExit(server);

    assert.equal(signal, null);
    assert.equal(code, 0, captured.server);
  });

  test('start with another master key fails', async () => {
    const masterKey = randomBytes(32).toString('base64');
    const result = await runCli(['start'], { ...env, GATEPASS_MASTER_KEY: masterKey });
    captured.cli += result.stdout + result.stderr;

    assert.equal(result.code, 1);
    assert.match(result.stderr, /master key/);
  });

  test('output contains no secret', () => {
    const masterKeyFile = join(dataDir, 'master.key');
    assert.ok(existsSync(masterKeyFile));
    const all = { ...secrets, master_key: readFileSync(masterKeyFile, 'utf8').trim() };

    assert.deepEqual(findSecrets(captured.server, all), []);
    assert.deepEqual(findSecrets(captured.cli, all), []);
  });

  test('database files contain no secret', () => {
    const all = {
      ...secrets,
      master_key: readFileSync(join(dataDir, 'master.key'), 'utf8').trim(),
    };

    assert.deepEqual(findSecrets(readDatabaseFiles(dataDir), all), []);
  });

  test('scan finds a planted secret', () => {
    // Guards the two tests above: a scan that cannot find anything would always pass.
    const planted = `${captured.server}\n{"note":"${secrets.client_secret}"}`;

    assert.deepEqual(findSecrets(planted, { client_secret: secrets.client_secret ?? '' }), [
      'client_secret',
    ]);
  });
});
