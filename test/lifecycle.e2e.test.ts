/**
 * Walks one platform through its whole life with the built `gatepass` command and real HTTP.
 * The steps are boarding, staging calls, the go-live checklist, approval, production calls,
 * secret rotation and revocation, suspension and resumption, and signing-key rotation through
 * the remote admin API. The audit log and its hash chain are checked last. Operator commands
 * run in processes of their own next to `gatepass start`, so the server sees their changes
 * only when its cached client views expire, after `cacheTtlMs` (2 s by default). Needs
 * `npm run build` first (`npm test` runs it).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { decodeProtectedHeader } from 'jose';
import {
  type CliResult,
  COMMAND,
  cleanEnvironment,
  exited,
  freePorts,
  ROOT,
  runCli,
  waitForExit,
  waitForReady,
} from './helpers/command.js';

/** The server's cache lifetime of client views (2 s by default) plus a margin. */
const CACHE_WAIT_MS = 2_500;
/** Upper bound on polls for state that Gatepass writes in batches, every 0.5 s or 1 s. */
const POLL_DEADLINE_MS = 10_000;
const OPERATOR_ITEMS = ['agreement-signed', 'compliance-verified', 'production-addresses'];

interface Credentials {
  environment: string;
  client_id: string;
  client_secret: string;
  modules: Record<string, { module_secret: string; provider_secret?: string }>;
}

interface Boarding extends Credentials {
  platform: { id: string; name: string; status: string };
}

interface AuditRow {
  seq: number;
  action: string;
  actor_id: string;
  platform_id: string | null;
  environment: string | null;
  data: Record<string, unknown>;
}

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(ms, 0)));

async function gatewayCall(base: string, headers: Record<string, string>): Promise<Reply> {
  const response = await fetch(`${base}/demo/x`, { headers });
  return { status: response.status, body: await response.json() };
}

async function requestToken(base: string, clientId: string, secret: string): Promise<Reply> {
  const response = await fetch(`${base}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
    }).toString(),
  });
  return { status: response.status, body: await response.json() };
}

function moduleHeaders(credentials: Credentials): Record<string, string> {
  const demo = credentials.modules.demo;
  return {
    'x-module-secret': demo?.module_secret ?? '',
    'x-provider-secret': demo?.provider_secret ?? '',
  };
}

function clientHeaders(credentials: Credentials, secret = credentials.client_secret) {
  return {
    'x-client-id': credentials.client_id,
    'x-client-secret': secret,
    ...moduleHeaders(credentials),
  };
}

function bearerHeaders(credentials: Credentials, token: string) {
  return { authorization: `Bearer ${token}`, ...moduleHeaders(credentials) };
}

describe('platform lifecycle end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-lifecycle-'));
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess;
  let serverOutput = '';
  let staging = '';
  let production = '';
  let admin = '';
  let boarding: Boarding;
  let live: Credentials;
  let platformId = '';
  /** The staging client secret in use after each rotation. */
  let clientSecret = '';
  let operatorKey = '';
  let revokedSecretId = '';

  /** Run a command that must succeed, and parse its JSON output. */
  async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const result = await runCli([...args, '--json'], { ...env, ...extraEnv });
    assert.equal(result.code, 0, `gatepass ${args.join(' ')} failed: ${result.stderr}`);
    // biome-ignore lint/suspicious/noExplicitAny: command output is checked field by field
    return JSON.parse(result.stdout) as any;
  }

  before(async () => {
    const [adminPort, stagingPort, productionPort] = await freePorts(3);
    staging = `http://127.0.0.1:${stagingPort}`;
    production = `http://127.0.0.1:${productionPort}`;
    admin = `http://127.0.0.1:${adminPort}`;
    env = {
      ...cleanEnvironment(),
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_ADMIN_PORT: String(adminPort),
      GATEPASS_STAGING_PORT: String(stagingPort),
      GATEPASS_PRODUCTION_PORT: String(productionPort),
      GATEPASS_LOG_LEVEL: 'warn',
    };
    server = spawn(process.execPath, [COMMAND, 'start'], { cwd: ROOT, env });
    server.stdout?.on('data', (chunk) => {
      serverOutput += chunk;
    });
    server.stderr?.on('data', (chunk) => {
      serverOutput += chunk;
    });
    await waitForReady(`${admin}/readyz`, server, () => serverOutput);
  });

  after(async () => {
    // Reached with the child still running only when a test failed before the stop test.
    if (server && !exited(server)) {
      server.kill('SIGKILL');
      await waitForExit(server);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('board prints staging credentials', async () => {
    boarding = await cli(['platforms', 'board', 'Lifecycle Retail', '--modules', 'demo']);
    platformId = boarding.platform.id;
    clientSecret = boarding.client_secret;

    assert.equal(boarding.platform.status, 'staging');
    assert.match(boarding.client_id, /^gpc_test_/);
    assert.match(boarding.client_secret, /^gp_test_cs_/);
    assert.match(boarding.modules.demo?.module_secret ?? '', /^gp_test_ms_/);
    assert.match(boarding.modules.demo?.provider_secret ?? '', /^gp_test_ps_/);
  });

  test('staging call with a token', async () => {
    const token = await requestToken(staging, boarding.client_id, clientSecret);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const call = await gatewayCall(staging, bearerHeaders(boarding, token.body.access_token));

    assert.equal(call.status, 200, JSON.stringify(call.body));
    assert.equal(call.body.environment, 'staging');
    assert.equal(call.body.path, '/x');
  });

  test('staging-tests item checks itself', async () => {
    const deadline = Date.now() + POLL_DEADLINE_MS;
    let checklist = await cli(['checklist', 'show', platformId]);
    const stagingTests = () =>
      checklist.items.find((item: { id: string }) => item.id === 'staging-tests');
    while (!stagingTests()?.checked && Date.now() < deadline) {
      await sleep(250);
      checklist = await cli(['checklist', 'show', platformId]);
    }

    assert.equal(stagingTests()?.checked, true);
    assert.equal(stagingTests()?.automatic, true);
    assert.deepEqual(checklist.untested_modules, []);
  });

  test('operator checks the other items', async () => {
    let checklist: { items: Array<{ id: string; checked: boolean; comment: string | null }> } = {
      items: [],
    };
    for (const item of OPERATOR_ITEMS) {
      checklist = await cli([
        'checklist',
        'check',
        platformId,
        item,
        '--comment',
        `Verified ${item} with the partner.`,
      ]);
    }

    for (const item of OPERATOR_ITEMS) {
      const state = checklist.items.find((i) => i.id === item);
      assert.equal(state?.checked, true, item);
      assert.equal(state?.comment, `Verified ${item} with the partner.`);
    }
  });

  test('comment joins the thread', async () => {
    const comment = await cli([
      'checklist',
      'comment',
      platformId,
      '--body',
      'Production addresses confirmed by email.',
    ]);
    const checklist = await cli(['checklist', 'show', platformId]);

    assert.equal(comment.author_kind, 'operator');
    assert.deepEqual(
      checklist.comments.map((c: { body: string }) => c.body),
      ['Production addresses confirmed by email.'],
    );
  });

  test('approve returns production credentials', async () => {
    const approved = await cli(['golive', 'approve', platformId]);
    live = approved.production;

    assert.equal(approved.status, 'live');
    assert.equal(live.environment, 'production');
    assert.match(live.client_id, /^gpc_live_/);
    assert.match(live.client_secret, /^gp_live_cs_/);
    assert.match(live.modules.demo?.module_secret ?? '', /^gp_live_ms_/);
    assert.match(live.modules.demo?.provider_secret ?? '', /^gp_live_ps_/);
  });

  test('second approve reveals nothing', async () => {
    const result = await runCli(['golive', 'approve', platformId, '--json'], env);

    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /already live/);
  });

  test('show lists no production secret', async () => {
    const shown = await cli(['platforms', 'show', platformId]);
    const text = JSON.stringify(shown);

    assert.equal(shown.platform.status, 'live');
    assert.ok(!text.includes(live.client_secret));
    assert.ok(!text.includes(live.modules.demo?.module_secret ?? ''));
  });

  test('production calls work on production', async () => {
    const token = await requestToken(production, live.client_id, live.client_secret);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const withToken = await gatewayCall(production, bearerHeaders(live, token.body.access_token));
    const withHeaders = await gatewayCall(production, clientHeaders(live));

    assert.equal(withToken.status, 200, JSON.stringify(withToken.body));
    assert.equal(withToken.body.environment, 'production');
    assert.equal(withHeaders.status, 200, JSON.stringify(withHeaders.body));
  });

  test('production credentials fail on staging', async () => {
    const token = await requestToken(production, live.client_id, live.client_secret);
    const withHeaders = await gatewayCall(staging, clientHeaders(live));
    const withToken = await gatewayCall(staging, bearerHeaders(live, token.body.access_token));
    const tokenOnStaging = await requestToken(staging, live.client_id, live.client_secret);

    assert.equal(withHeaders.status, 403);
    assert.equal(withHeaders.body.code, 'wrong_environment');
    assert.match(withHeaders.body.message, /production environment/);
    assert.equal(withToken.status, 401);
    assert.equal(tokenOnStaging.status, 401);
  });

  test('rotation overlap keeps both secrets', async () => {
    const rotated = await cli([
      'credentials',
      'rotate',
      platformId,
      '--env',
      'staging',
      '--kind',
      'client',
      '--overlap-seconds',
      '3',
    ]);
    const oldSecret = clientSecret;
    clientSecret = rotated.secret;
    assert.match(rotated.secret, /^gp_test_cs_/);

    const oldDuringOverlap = await gatewayCall(staging, clientHeaders(boarding, oldSecret));
    // The server may still hold a view without the new secret for up to its cache lifetime.
    const deadline = Date.now() + CACHE_WAIT_MS;
    let fresh = await gatewayCall(staging, clientHeaders(boarding, clientSecret));
    while (fresh.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      fresh = await gatewayCall(staging, clientHeaders(boarding, clientSecret));
    }
    assert.equal(oldDuringOverlap.status, 200, JSON.stringify(oldDuringOverlap.body));
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));

    await sleep(rotated.replaced_expires_at + CACHE_WAIT_MS - Date.now());
    const oldAfter = await gatewayCall(staging, clientHeaders(boarding, oldSecret));
    const newAfter = await gatewayCall(staging, clientHeaders(boarding, clientSecret));
    const oldToken = await requestToken(staging, boarding.client_id, oldSecret);

    assert.equal(oldAfter.status, 401);
    assert.equal(oldAfter.body.code, 'invalid_credentials');
    assert.equal(newAfter.status, 200, JSON.stringify(newAfter.body));
    assert.equal(oldToken.status, 401);
  });

  test('revoke stops that secret', async () => {
    const rotated = await cli([
      'credentials',
      'rotate',
      platformId,
      '--env',
      'staging',
      '--kind',
      'client',
      '--overlap-seconds',
      '3600',
    ]);
    const revokedSecret = clientSecret;
    clientSecret = rotated.secret;
    revokedSecretId = rotated.replaced_secret_id;
    const revoked = await cli(['credentials', 'revoke', revokedSecretId]);
    await sleep(CACHE_WAIT_MS);

    const withRevoked = await gatewayCall(staging, clientHeaders(boarding, revokedSecret));
    const withCurrent = await gatewayCall(staging, clientHeaders(boarding, clientSecret));
    const listed = await cli(['credentials', 'list', platformId]);
    const row = listed.find((s: { id: string }) => s.id === rotated.replaced_secret_id);

    assert.equal(revoked.revoked, true);
    assert.equal(withRevoked.status, 401);
    assert.equal(withCurrent.status, 200, JSON.stringify(withCurrent.body));
    assert.equal(typeof row?.revoked_at, 'number');
  });

  let tokenBeforeSuspension = '';

  test('suspend rejects headers and tokens', async () => {
    const token = await requestToken(staging, boarding.client_id, clientSecret);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    tokenBeforeSuspension = token.body.access_token;
    const before = await gatewayCall(staging, bearerHeaders(boarding, tokenBeforeSuspension));
    assert.equal(before.status, 200, JSON.stringify(before.body));
    // Access tokens carry whole seconds. A token from the same second as the suspension works
    // again after a resume, so the test waits for the next second before suspending.
    await sleep(1_100);

    const suspended = await cli(['platforms', 'suspend', platformId]);
    await sleep(CACHE_WAIT_MS);
    const withHeaders = await gatewayCall(staging, clientHeaders(boarding, clientSecret));
    const withToken = await gatewayCall(staging, bearerHeaders(boarding, tokenBeforeSuspension));
    const production_ = await gatewayCall(production, clientHeaders(live));
    const newToken = await requestToken(staging, boarding.client_id, clientSecret);

    assert.equal(suspended.status, 'suspended');
    assert.equal(withHeaders.status, 403);
    assert.equal(withHeaders.body.code, 'platform_suspended');
    assert.equal(withToken.status, 403);
    assert.equal(withToken.body.code, 'platform_suspended');
    assert.equal(production_.status, 403);
    assert.equal(newToken.status, 401);
    assert.equal(newToken.body.error, 'invalid_client');
  });

  test('resume restores calls', async () => {
    const resumed = await cli(['platforms', 'resume', platformId]);
    await sleep(CACHE_WAIT_MS);
    const withHeaders = await gatewayCall(staging, clientHeaders(boarding, clientSecret));
    const token = await requestToken(staging, boarding.client_id, clientSecret);
    const withNewToken = await gatewayCall(
      staging,
      bearerHeaders(boarding, token.body.access_token),
    );
    const withOldToken = await gatewayCall(staging, bearerHeaders(boarding, tokenBeforeSuspension));
    const liveCall = await gatewayCall(production, clientHeaders(live));

    assert.equal(resumed.status, 'live');
    assert.equal(withHeaders.status, 200, JSON.stringify(withHeaders.body));
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(withNewToken.status, 200, JSON.stringify(withNewToken.body));
    assert.equal(withOldToken.status, 401);
    assert.equal(liveCall.status, 200, JSON.stringify(liveCall.body));
  });

  test('remote mode needs an operator key', async () => {
    const result: CliResult = await runCli(['--url', admin, 'platforms', 'list', '--json'], env);

    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /GATEPASS_OPERATOR_KEY/);
  });

  test('remote mode rejects a wrong key', async () => {
    const result = await runCli(['--url', admin, 'platforms', 'list', '--json'], {
      ...env,
      GATEPASS_OPERATOR_KEY: `gp_admin_${'A'.repeat(49)}`,
    });

    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /operator key is invalid/);
  });

  test('remote mode lists platforms', async () => {
    const created = await cli(['operators', 'create-key', 'lifecycle-operator']);
    operatorKey = created.key;
    const platforms = await cli(['--url', admin, 'platforms', 'list'], {
      GATEPASS_OPERATOR_KEY: operatorKey,
    });

    assert.match(operatorKey, /^gp_admin_/);
    assert.deepEqual(
      platforms.map((p: { id: string }) => p.id),
      [platformId],
    );
  });

  test('keys rotate publishes a new kid', async () => {
    const token = await requestToken(staging, boarding.client_id, clientSecret);
    const oldKid = decodeProtectedHeader(token.body.access_token).kid;
    const rotated = await cli(
      ['--url', admin, 'keys', 'rotate', '--env', 'staging', '--publish-delay-seconds', '0'],
      { GATEPASS_OPERATOR_KEY: operatorKey },
    );
    const jwks = (await (await fetch(`${staging}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    const kids = jwks.keys.map((k) => k.kid);
    const oldTokenCall = await gatewayCall(
      staging,
      bearerHeaders(boarding, token.body.access_token),
    );
    const newToken = await requestToken(staging, boarding.client_id, clientSecret);

    assert.notEqual(rotated.kid, oldKid);
    assert.ok(kids.includes(rotated.kid), `${rotated.kid} not in ${kids.join(', ')}`);
    assert.ok(kids.includes(oldKid ?? ''), 'the old kid is no longer published');
    assert.equal(oldTokenCall.status, 200, JSON.stringify(oldTokenCall.body));
    assert.equal(decodeProtectedHeader(newToken.body.access_token).kid, rotated.kid);
  });

  test('audit lists every step', async () => {
    // Each step and the rows it must have written. Where one action has several steps, the
    // row's data tells which step wrote it.
    const steps: Array<{ action: string; rows: number; where?: (row: AuditRow) => boolean }> = [
      { action: 'platform.boarded', rows: 1 },
      { action: 'credential.issued', rows: 3, where: (r) => r.environment === 'staging' },
      { action: 'checklist.checked', rows: OPERATOR_ITEMS.length },
      { action: 'checklist.commented', rows: 1 },
      { action: 'golive.approved', rows: 1 },
      { action: 'credential.issued', rows: 3, where: (r) => r.environment === 'production' },
      { action: 'platform.live', rows: 1 },
      { action: 'credential.rotated', rows: 2 },
      { action: 'credential.revoked', rows: 1, where: (r) => r.data.secretId === revokedSecretId },
      { action: 'platform.suspended', rows: 1 },
      { action: 'platform.resumed', rows: 1 },
      { action: 'operator.key_created', rows: 1 },
      { action: 'signing_key.rotated', rows: 1, where: (r) => r.actor_id === 'lifecycle-operator' },
    ];
    const count = (rows: AuditRow[], step: (typeof steps)[number]) =>
      rows.filter((r) => r.action === step.action && (step.where?.(r) ?? true)).length;
    // The server writes the audit rows of remote commands in batches, once a second.
    const deadline = Date.now() + POLL_DEADLINE_MS;
    let rows: AuditRow[] = await cli(['audit', 'list', '--limit', '1000']);
    while (steps.some((step) => count(rows, step) < step.rows) && Date.now() < deadline) {
      await sleep(250);
      rows = await cli(['audit', 'list', '--limit', '1000']);
    }

    for (const step of steps) assert.equal(count(rows, step), step.rows, step.action);
    assert.deepEqual(
      rows
        .filter((r) => r.action === 'checklist.checked')
        .map((r) => r.data.itemId)
        .sort(),
      [...OPERATOR_ITEMS].sort(),
    );
    assert.ok(
      rows.filter((r) => r.platform_id !== null).every((r) => r.platform_id === platformId),
    );
  });

  test('audit verify returns ok', async () => {
    const verdict = await cli(['audit', 'verify']);

    assert.equal(verdict.ok, true);
    assert.ok(verdict.rows > 10);
  });

  test('SIGTERM stops the server', async () => {
    server.kill('SIGTERM');
    const { code, signal } = await waitForExit(server);

    assert.equal(signal, null);
    assert.equal(code, 0, serverOutput);
  });

  test('altered audit row fails verify', async () => {
    const database = new SQLite(join(dataDir, 'gatepass.db'));
    let target: { id: number; seq: number };
    try {
      target = database
        .prepare("select id, seq from audit_events where action = 'platform.suspended'")
        .get() as { id: number; seq: number };
      database
        .prepare("update audit_events set actor_id = 'someone-else' where id = ?")
        .run(target.id);
    } finally {
      database.close();
    }

    const json = await runCli(['audit', 'verify', '--json'], env);
    const verdict = JSON.parse(json.stdout) as { ok: boolean; seq: number; id: number };
    const human = await runCli(['audit', 'verify'], env);

    assert.equal(json.code, 4, json.stderr);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.seq, target.seq);
    assert.equal(verdict.id, target.id);
    assert.equal(human.code, 4, human.stderr);
    assert.match(human.stdout, new RegExp(`seq\\s+${target.seq}\\b`));
  });
});
