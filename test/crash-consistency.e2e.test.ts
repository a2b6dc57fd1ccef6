/**
 * Kills a real `gatepass start` with SIGKILL in the middle of a refresh, of reuse detection and
 * of a credential rotation, then reads the SQLite file and starts Gatepass again on it. Each
 * operation must be found either whole or not at all:
 *
 * - A refresh writes one compare-and-set on `refresh_chains`, so a kill leaves the chain either
 *   untouched or one generation on, and never revoked. Killed right after the write, the chain
 *   accepts exactly one token: one of the next generation, once. The presented token and a
 *   token two generations on are refused. The client lost the next token with the response, so
 *   it must start a new chain (a `NOTE:` in src/services/tokens.ts).
 * - Reuse detection revokes the chain and writes its `refresh.reuse_detected` audit row in one
 *   transaction: both or neither.
 * - A rotation inserts the new secret, sets the old one's expiry and writes the
 *   `credential.rotated` audit row in one transaction: all of them or none. Never a new secret
 *   without its audit row, nor an old secret expiring without a successor.
 *
 * The kills come from fault points (src/services/fault-points.ts), armed with
 * GATEPASS_FAULT_POINT, and in the last test from outside at random moments. Every restarted
 * server must also find its audit hash chain intact. Needs `npm run build` first.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import {
  openRefreshToken,
  type RefreshTokenPayload,
  sealRefreshToken,
} from '../src/domain/refresh-token.js';
import type { FaultPoint } from '../src/services/fault-points.js';
import { deriveKeys, loadMasterKey } from '../src/services/master-key.js';
import {
  COMMAND,
  cleanEnvironment,
  freePorts,
  ROOT,
  runCli,
  waitForExit,
  waitForReady,
} from './helpers/command.js';

/** Overlap of every rotation here, long enough that no replaced secret expires during the test. */
const OVERLAP_SECONDS = 3600;
/** Iterations of the randomized test, each with one kill at a random moment. */
const RANDOM_KILLS = 3;
/** Upper bound of the random delay before each kill, in milliseconds. */
const KILL_DELAY_MS = 250;

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

interface Server {
  child: ChildProcess;
  staging: string;
  admin: string;
  output: () => string;
}

interface ChainRow {
  chain_id: string;
  next_generation: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  updated_at: number;
}

interface SecretRow {
  id: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/**
 * Kind of secret a test rotates. Rotating the client secret twice revokes the first one and
 * every refresh chain started with it, so the test that also refreshes rotates a module secret.
 */
type RotatedKind = 'client' | 'module';

interface AuditRow {
  seq: number;
  action: string;
  data: Record<string, unknown>;
}

/** Every child this file started, so that `after` can kill those a failed test left running. */
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function childEnvironment(dataDir: string, faultPoint?: FaultPoint): NodeJS.ProcessEnv {
  return {
    ...cleanEnvironment(),
    GATEPASS_DATA_DIR: dataDir,
    GATEPASS_LOG_LEVEL: 'warn',
    ...(faultPoint ? { GATEPASS_FAULT_POINT: faultPoint } : {}),
  };
}

/** Start `gatepass start` on a data folder, with a fault point armed if one is given. */
async function startServer(dataDir: string, faultPoint?: FaultPoint): Promise<Server> {
  const [adminPort, stagingPort, productionPort] = await freePorts(3);
  const child = spawn(process.execPath, [COMMAND, 'start'], {
    cwd: ROOT,
    env: {
      ...childEnvironment(dataDir, faultPoint),
      GATEPASS_ADMIN_PORT: String(adminPort),
      GATEPASS_STAGING_PORT: String(stagingPort),
      GATEPASS_PRODUCTION_PORT: String(productionPort),
    },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitForReady(`${admin}/readyz`, child, () => output);
  return { child, staging: `http://127.0.0.1:${stagingPort}`, admin, output: () => output };
}

/** Stop a server with SIGTERM and check that it shut down cleanly. */
async function stopServer(server: Server): Promise<void> {
  server.child.kill('SIGTERM');
  const { code } = await waitForExit(server.child);
  assert.equal(code, 0, server.output());
}

/**
 * Run a request that must kill the server at its fault point: the request gets no response and
 * the server dies of SIGKILL.
 */
async function expectKilled(server: Server, request: Promise<Reply>): Promise<void> {
  const outcome = await request.then(
    (reply) => ({ reply }),
    (error: unknown) => ({ error }),
  );
  if ('reply' in outcome) {
    server.child.kill('SIGKILL');
    // The body is left out because a rotation's response contains the new secret.
    assert.fail(`the fault point was not reached: the request got status ${outcome.reply.status}`);
  }
  const { signal } = await waitForExit(server.child);
  assert.equal(signal, 'SIGKILL', server.output());
}

async function post(url: string, body: Record<string, unknown>, key?: string): Promise<Reply> {
  const json = key !== undefined;
  const response = await fetch(url, {
    method: 'POST',
    headers: json
      ? { 'content-type': 'application/json', authorization: `Bearer ${key}` }
      : { 'content-type': 'application/x-www-form-urlencoded' },
    body: json
      ? JSON.stringify(body)
      : new URLSearchParams(body as Record<string, string>).toString(),
  });
  return { status: response.status, body: await response.json() };
}

function clientCredentials(server: Server, clientId: string, secret: string): Promise<Reply> {
  return post(`${server.staging}/v1/auth/token`, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
  });
}

function refresh(server: Server, token: string): Promise<Reply> {
  return post(`${server.staging}/v1/auth/token`, {
    grant_type: 'refresh_token',
    refresh_token: token,
  });
}

/** Rotate a platform's staging client secret, or its module secret of the demo module. */
function rotate(
  server: Server,
  operatorKey: string,
  platformId: string,
  kind: RotatedKind = 'client',
): Promise<Reply> {
  return post(
    `${server.admin}/admin/v1/platforms/${platformId}/credentials/rotate`,
    {
      environment: 'staging',
      kind,
      ...(kind === 'module' ? { module: 'demo' } : {}),
      overlap_seconds: OVERLAP_SECONDS,
    },
    operatorKey,
  );
}

async function verifyAudit(server: Server, operatorKey: string): Promise<Reply> {
  const response = await fetch(`${server.admin}/admin/v1/audit/verify`, {
    headers: { authorization: `Bearer ${operatorKey}` },
  });
  return { status: response.status, body: await response.json() };
}

/** Open the data folder's SQLite file read-only, run `read` on it and close it. */
function readDatabase<T>(dataDir: string, read: (db: SQLite.Database) => T): T {
  const db = new SQLite(join(dataDir, 'gatepass.db'), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function chainRows(dataDir: string, chainId: string): ChainRow[] {
  return readDatabase(
    dataDir,
    (db) =>
      db
        .prepare(
          'select chain_id, next_generation, revoked_at, revoked_reason, updated_at from refresh_chains where chain_id = ?',
        )
        .all(chainId) as ChainRow[],
  );
}

/** Read the secrets of one kind of a client, oldest first. */
function secretsOf(dataDir: string, clientId: string, kind: RotatedKind): SecretRow[] {
  return readDatabase(
    dataDir,
    (db) =>
      db
        .prepare(
          'select id, created_at, expires_at, revoked_at, last_used_at from secrets where client_id = ? and kind = ? order by created_at, id',
        )
        .all(clientId, kind) as SecretRow[],
  );
}

function auditRows(dataDir: string, action: string): AuditRow[] {
  const rows = readDatabase(
    dataDir,
    (db) =>
      db
        .prepare('select seq, action, data from audit_events where action = ? order by seq')
        .all(action) as Array<{ seq: number; action: string; data: string }>,
  );
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
}

/** Return a secret row without its last-use time, which the batched usage writer may change. */
function withoutLastUse({ last_used_at: _lastUse, ...row }: SecretRow) {
  return row;
}

/**
 * Check that every rotation in the database is whole, and return how many there are. Each
 * secret beyond those in `before` has exactly one `credential.rotated` row, and each such row
 * names one of them. Exactly one secret is current (no expiry, not revoked). Every replaced
 * secret has an expiry or is revoked.
 */
function assertRotationsWhole(
  dataDir: string,
  clientId: string,
  kind: RotatedKind,
  before: SecretRow[],
): number {
  const secrets = secretsOf(dataDir, clientId, kind);
  const known = new Set(before.map((s) => s.id));
  const added = secrets.filter((s) => !known.has(s.id)).map((s) => s.id);
  const rotations = auditRows(dataDir, 'credential.rotated').filter(
    (row) => row.data.kind === kind,
  );
  const audited = rotations.map((row) => row.data.secretId as string);

  assert.deepEqual(
    [...added].sort(),
    [...audited].sort(),
    'the secrets added and the secrets in credential.rotated rows differ',
  );
  assert.equal(new Set(audited).size, audited.length, 'a secret has two credential.rotated rows');
  const current = secrets.filter((s) => s.expires_at === null && s.revoked_at === null);
  assert.equal(current.length, 1, `current secrets: ${JSON.stringify(current)}`);
  for (const row of rotations) {
    const replaced = secrets.find((s) => s.id === row.data.replacedSecretId);
    assert.ok(replaced, `replaced secret ${String(row.data.replacedSecretId)} is missing`);
    assert.ok(
      replaced.expires_at !== null || replaced.revoked_at !== null,
      `replaced secret ${replaced.id} neither expires nor is revoked`,
    );
  }
  return rotations.length;
}

describe('crash consistency of refresh and rotation', { concurrency: 4 }, () => {
  const templateDir = mkdtempSync(join(tmpdir(), 'gatepass-crash-'));
  const copies: string[] = [];
  let refreshKey: Buffer;
  let platformId = '';
  let clientId = '';
  let clientSecret = '';
  let operatorKey = '';
  /** One chain, refreshed twice: `chain[g]` is its token of generation g, and 2 is current. */
  const chain: string[] = [];
  let chainId = '';
  let templateChain: ChainRow[] = [];
  /** The template's client secrets and demo module secrets. */
  const templateSecrets: Record<RotatedKind, SecretRow[]> = { client: [], module: [] };

  /** Copy the prepared data folder, for one test to kill a server on. */
  function copyTemplate(): string {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-crash-'));
    cpSync(templateDir, dataDir, { recursive: true });
    copies.push(dataDir);
    return dataDir;
  }

  function open(token: string): RefreshTokenPayload {
    const payload = openRefreshToken(refreshKey, 'staging', token);
    assert.ok(payload, 'the refresh token does not open');
    return payload;
  }

  /** Seal a token of another generation of `token`'s chain, as the server would have issued it. */
  function tokenOfGeneration(token: string, generation: number): string {
    const issuedAt = Math.floor(Date.now() / 1000);
    return sealRefreshToken(refreshKey, {
      ...open(token),
      generation,
      issuedAt,
      expiresAt: issuedAt + 3600,
    });
  }

  /** Run a command on a data folder that must succeed, and parse its JSON output. */
  async function cli(dataDir: string, args: string[]) {
    const result = await runCli([...args, '--json'], childEnvironment(dataDir));
    assert.equal(result.code, 0, `gatepass ${args.join(' ')} failed: ${result.stderr}`);
    // biome-ignore lint/suspicious/noExplicitAny: command output is checked field by field
    return JSON.parse(result.stdout) as any;
  }

  async function assertAuditVerifies(server: Server): Promise<void> {
    const verdict = await verifyAudit(server, operatorKey);
    assert.equal(verdict.status, 200, JSON.stringify(verdict.body));
    assert.equal(verdict.body.ok, true, JSON.stringify(verdict.body));
  }

  before(async () => {
    const boarding = await cli(templateDir, [
      'platforms',
      'board',
      'Crash Retail',
      '--modules',
      'demo',
    ]);
    platformId = boarding.platform.id;
    clientId = boarding.client_id;
    clientSecret = boarding.client_secret;
    operatorKey = (await cli(templateDir, ['operators', 'create-key', 'crash-operator'])).key;
    refreshKey = deriveKeys(loadMasterKey({ dataDir: templateDir })).refreshToken.staging;

    const server = await startServer(templateDir);
    const granted = await clientCredentials(server, clientId, clientSecret);
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    chain.push(granted.body.refresh_token);
    for (let generation = 1; generation <= 2; generation++) {
      const refreshed = await refresh(server, chain[generation - 1] ?? '');
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      chain.push(refreshed.body.refresh_token);
    }
    await stopServer(server);

    chainId = open(chain[2] ?? '').chainId;
    templateChain = chainRows(templateDir, chainId);
    templateSecrets.client = secretsOf(templateDir, clientId, 'client');
    templateSecrets.module = secretsOf(templateDir, clientId, 'module');
    assert.equal(templateChain[0]?.next_generation, 2);
    assert.equal(templateSecrets.client.length, 1);
    assert.equal(templateSecrets.module.length, 1);
  });

  after(async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
    for (const dataDir of [templateDir, ...copies])
      rmSync(dataDir, { recursive: true, force: true });
  });

  for (const chainKind of ['used-chain', 'new-chain'] as const) {
    test(`${chainKind} refresh killed after consume`, async () => {
      const dataDir = copyTemplate();
      const killed = await startServer(dataDir, 'refresh.after-consume');
      let presented = chain[2] ?? '';
      if (chainKind === 'new-chain') {
        // Generation 0 of a new chain takes the insert path of the compare-and-set.
        const granted = await clientCredentials(killed, clientId, clientSecret);
        assert.equal(granted.status, 200, JSON.stringify(granted.body));
        presented = granted.body.refresh_token;
      }
      const { chainId: presentedChain, generation } = open(presented);
      await expectKilled(killed, refresh(killed, presented));

      const rows = chainRows(dataDir, presentedChain);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.next_generation, generation + 1);
      assert.equal(rows[0]?.revoked_at, null);

      const server = await startServer(dataDir);
      const successorToken = tokenOfGeneration(presented, generation + 1);
      const skipped = await refresh(server, tokenOfGeneration(presented, generation + 2));
      const successor = await refresh(server, successorToken);
      const successorAgain = await refresh(server, successorToken);
      // The successor was consumed, so the presented token is two behind: reuse whatever the time.
      const replayed = await refresh(server, presented);
      await assertAuditVerifies(server);
      await stopServer(server);

      assert.equal(skipped.status, 400);
      assert.equal(skipped.body.error, 'invalid_grant');
      assert.equal(successor.status, 200, JSON.stringify(successor.body));
      assert.equal(successorAgain.status, 400);
      assert.equal(successorAgain.body.error, 'invalid_grant');
      assert.equal(replayed.status, 400);
      assert.equal(replayed.body.error, 'invalid_grant');
      assert.equal(chainRows(dataDir, presentedChain)[0]?.revoked_reason, 'reuse_detected');
    });
  }

  test('reuse detection killed before commit', async () => {
    const dataDir = copyTemplate();
    const killed = await startServer(dataDir, 'refresh.reuse.before-commit');
    await expectKilled(killed, refresh(killed, chain[0] ?? ''));

    assert.deepEqual(chainRows(dataDir, chainId), templateChain);
    assert.deepEqual(auditRows(dataDir, 'refresh.reuse_detected'), []);

    const server = await startServer(dataDir);
    const reused = await refresh(server, chain[0] ?? '');
    const current = await refresh(server, chain[2] ?? '');
    await assertAuditVerifies(server);
    await stopServer(server);

    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, 'invalid_grant');
    assert.equal(current.status, 400);
    assert.equal(current.body.error, 'invalid_grant');
    assert.equal(chainRows(dataDir, chainId)[0]?.revoked_reason, 'reuse_detected');
    assert.deepEqual(
      auditRows(dataDir, 'refresh.reuse_detected').map((row) => row.data.chainId),
      [chainId],
    );
  });

  test('reuse detection killed after commit', async () => {
    const dataDir = copyTemplate();
    const killed = await startServer(dataDir, 'refresh.reuse.after-commit');
    await expectKilled(killed, refresh(killed, chain[0] ?? ''));

    assert.equal(chainRows(dataDir, chainId)[0]?.revoked_reason, 'reuse_detected');
    assert.deepEqual(
      auditRows(dataDir, 'refresh.reuse_detected').map((row) => row.data.chainId),
      [chainId],
    );

    const server = await startServer(dataDir);
    const current = await refresh(server, chain[2] ?? '');
    await assertAuditVerifies(server);
    await stopServer(server);

    assert.equal(current.status, 400);
    assert.equal(current.body.error, 'invalid_grant');
  });

  test('rotation killed before commit', async () => {
    const dataDir = copyTemplate();
    const killed = await startServer(dataDir, 'rotate.before-commit');
    await expectKilled(killed, rotate(killed, operatorKey, platformId));

    assert.deepEqual(
      secretsOf(dataDir, clientId, 'client').map(withoutLastUse),
      templateSecrets.client.map(withoutLastUse),
    );
    assert.equal(assertRotationsWhole(dataDir, clientId, 'client', templateSecrets.client), 0);

    const server = await startServer(dataDir);
    const granted = await clientCredentials(server, clientId, clientSecret);
    const rotated = await rotate(server, operatorKey, platformId);
    await assertAuditVerifies(server);
    await stopServer(server);

    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(assertRotationsWhole(dataDir, clientId, 'client', templateSecrets.client), 1);
  });

  test('rotation killed after commit', async () => {
    const dataDir = copyTemplate();
    const killed = await startServer(dataDir, 'rotate.after-commit');
    await expectKilled(killed, rotate(killed, operatorKey, platformId));

    assert.equal(assertRotationsWhole(dataDir, clientId, 'client', templateSecrets.client), 1);
    const [old, added] = secretsOf(dataDir, clientId, 'client');
    const [row] = auditRows(dataDir, 'credential.rotated');
    assert.equal(old?.id, templateSecrets.client[0]?.id);
    assert.equal(old?.revoked_at, null);
    assert.equal(old?.expires_at, (added?.created_at ?? 0) + OVERLAP_SECONDS * 1000);
    assert.equal(row?.data.replacedSecretId, old?.id);
    assert.equal(row?.data.overlapSeconds, OVERLAP_SECONDS);

    const server = await startServer(dataDir);
    const granted = await clientCredentials(server, clientId, clientSecret);
    await assertAuditVerifies(server);
    await stopServer(server);

    assert.equal(granted.status, 200, JSON.stringify(granted.body));
  });

  test('random kills leave whole operations', async () => {
    const dataDir = copyTemplate();
    /** The newest refresh token a response delivered, and its generation. */
    let token = chain[2] ?? '';
    let generation = 2;
    for (let kill = 0; kill <= RANDOM_KILLS; kill++) {
      const server = await startServer(dataDir);
      // The chain is where the last kill left it: at the newest delivered token, or one past it.
      const nextGeneration = chainRows(dataDir, chainId)[0]?.next_generation;
      const resumed = await refresh(
        server,
        nextGeneration === generation ? token : tokenOfGeneration(token, generation + 1),
      );
      assert.equal(resumed.status, 200, `after kill ${kill}: ${JSON.stringify(resumed.body)}`);
      token = resumed.body.refresh_token;
      generation = open(token).generation;
      await assertAuditVerifies(server);
      if (kill === RANDOM_KILLS) {
        await stopServer(server);
        break;
      }

      // Each loop runs until the kill drops its connection, which rejects the request in flight.
      // The kill comes a random time after both loops have completed an operation.
      const failures: Reply[] = [];
      let markRefreshed = () => {};
      let markRotated = () => {};
      const refreshed = new Promise<void>((resolve) => {
        markRefreshed = resolve;
      });
      const rotated = new Promise<void>((resolve) => {
        markRotated = resolve;
      });
      const refreshes = (async () => {
        for (;;) {
          const reply = await refresh(server, token);
          if (reply.status !== 200) return failures.push(reply);
          token = reply.body.refresh_token;
          generation += 1;
          markRefreshed();
        }
      })().catch(() => 'connection lost');
      const rotations = (async () => {
        for (;;) {
          const reply = await rotate(server, operatorKey, platformId, 'module');
          if (reply.status !== 201) return failures.push(reply);
          markRotated();
        }
      })().catch(() => 'connection lost');
      await Promise.race([Promise.all([refreshed, rotated]), refreshes, rotations]);
      const delay = Math.random() * KILL_DELAY_MS;
      await sleep(delay);
      server.child.kill('SIGKILL');
      await waitForExit(server.child);
      await Promise.all([refreshes, rotations]);

      const context = `kill ${kill + 1} after ${Math.round(delay)} ms`;
      assert.deepEqual(failures, [], context);
      const [row] = chainRows(dataDir, chainId);
      assert.equal(row?.revoked_at, null, context);
      assert.ok(
        row?.next_generation === generation || row?.next_generation === generation + 1,
        `${context}: chain at ${row?.next_generation}, newest delivered token ${generation}`,
      );
      assertRotationsWhole(dataDir, clientId, 'module', templateSecrets.module);
    }
  });
});
