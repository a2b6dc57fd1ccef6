/**
 * Runs two `gatepass start` processes of the built command on one PostgreSQL schema and one
 * Redis, as two nodes behind a load balancer would be. Both start at the same moment, so their
 * migrations race. The tests board through node A and check that node B honours what A did:
 * tokens, refresh-token rotation, suspension (through a Redis notice, within one second) and
 * a rate limit counted across both nodes. Needs `npm run build` first (`npm test` runs it),
 * TEST_DATABASE_URL and TEST_REDIS_URL.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrationProvider } from '../src/store/migrations.js';
import {
  COMMAND,
  cleanEnvironment,
  exited,
  freePorts,
  ROOT,
  runCli,
  waitForExit,
  waitForReady,
} from './helpers/command.js';
import { dropTestDatabase, testDatabase, testSchema } from './helpers/gatepass.js';

const DATABASE_URL = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.TEST_REDIS_URL;
const SKIP = !DATABASE_URL
  ? 'set TEST_DATABASE_URL to a PostgreSQL database to run two nodes on it'
  : !REDIS_URL
    ? 'set TEST_REDIS_URL to a Redis server to share notices and rate limits between nodes'
    : false;

/** Maximum time a change made on one node may take to reach another through Redis. */
const NOTICE_DEADLINE_MS = 1_000;
/** Upper bound on the wait for a node to exit after SIGTERM, before it is killed. */
const STOP_DEADLINE_MS = 10_000;

interface Node {
  name: string;
  child: ChildProcess;
  output: string;
  admin: string;
  staging: string;
}

interface Boarding {
  platform: { id: string };
  client_id: string;
  client_secret: string;
  modules: Record<string, { module_secret: string; provider_secret?: string }>;
}

interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // A body that is not JSON stays text, so assertion messages show the response.
  }
  return { status: response.status, headers: response.headers, body };
}

function moduleHeaders(boarding: Boarding): Record<string, string> {
  return {
    'x-module-secret': boarding.modules.demo?.module_secret ?? '',
    'x-provider-secret': boarding.modules.demo?.provider_secret ?? '',
  };
}

function clientHeaders(boarding: Boarding): Record<string, string> {
  return {
    'x-client-id': boarding.client_id,
    'x-client-secret': boarding.client_secret,
    ...moduleHeaders(boarding),
  };
}

function bearerHeaders(boarding: Boarding, accessToken: string): Record<string, string> {
  return { authorization: `Bearer ${accessToken}`, ...moduleHeaders(boarding) };
}

async function gatewayCall(node: Node, headers: Record<string, string>): Promise<Reply> {
  return reply(await fetch(`${node.staging}/demo/anything`, { headers }));
}

async function tokenRequest(node: Node, form: Record<string, string>): Promise<Reply> {
  const response = await fetch(`${node.staging}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return reply(response);
}

async function clientCredentials(node: Node, boarding: Boarding): Promise<Reply> {
  return tokenRequest(node, {
    grant_type: 'client_credentials',
    client_id: boarding.client_id,
    client_secret: boarding.client_secret,
  });
}

describe('two nodes on one database', { skip: SKIP }, () => {
  const folders = {
    a: mkdtempSync(join(tmpdir(), 'gatepass-node-a-')),
    b: mkdtempSync(join(tmpdir(), 'gatepass-node-b-')),
  };
  const masterKey = randomBytes(32).toString('base64');
  const nodes: Node[] = [];
  let a: Node;
  let b: Node;
  let databaseUrl = '';
  let operatorKey = '';

  /** Send a request to a node's admin API as the test's operator. */
  async function adminCall(node: Node, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${operatorKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    return reply(await fetch(`${node.admin}/admin/v1${path}`, init));
  }

  async function board(node: Node, name: string): Promise<Boarding> {
    const result = await adminCall(node, 'POST', '/platforms', { name, modules: ['demo'] });
    assert.equal(result.status, 201, JSON.stringify(result.body));
    return result.body as Boarding;
  }

  function spawnNode(name: string, env: NodeJS.ProcessEnv): Node {
    const child = spawn(process.execPath, [COMMAND, 'start'], { cwd: ROOT, env });
    const node: Node = {
      name,
      child,
      output: '',
      admin: `http://127.0.0.1:${env.GATEPASS_ADMIN_PORT}`,
      staging: `http://127.0.0.1:${env.GATEPASS_STAGING_PORT}`,
    };
    child.stdout?.on('data', (chunk) => {
      node.output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      node.output += chunk;
    });
    nodes.push(node);
    return node;
  }

  before(async () => {
    assert.ok(existsSync(COMMAND), `${COMMAND} is missing; run npm run build first`);
    databaseUrl = String((await testDatabase(folders.a)).databaseUrl);
    const ports = await freePorts(6);
    const base = {
      ...cleanEnvironment(),
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      GATEPASS_MASTER_KEY: masterKey,
      // Both nodes stand behind one address, which is the issuer of every token.
      GATEPASS_STAGING_URL: `http://127.0.0.1:${ports[1]}`,
      GATEPASS_PRODUCTION_URL: `http://127.0.0.1:${ports[2]}`,
      // Cached views live a minute, so only a notice can bring a change to the other node
      // within a second.
      GATEPASS_CACHE_TTL_MS: '60000',
      GATEPASS_LOG_LEVEL: 'warn',
    };
    const env = (folder: string, first: number): NodeJS.ProcessEnv => ({
      ...base,
      GATEPASS_DATA_DIR: folder,
      GATEPASS_ADMIN_PORT: String(ports[first]),
      GATEPASS_STAGING_PORT: String(ports[first + 1]),
      GATEPASS_PRODUCTION_PORT: String(ports[first + 2]),
    });
    // Both spawn before either is awaited, so their migrations run at the same time.
    a = spawnNode('A', env(folders.a, 0));
    b = spawnNode('B', env(folders.b, 3));
    await Promise.all(
      nodes.map((node) => waitForReady(`${node.admin}/readyz`, node.child, () => node.output)),
    );

    const created = await runCli(['operators', 'create-key', 'multi-node-test', '--json'], {
      ...cleanEnvironment(),
      DATABASE_URL: databaseUrl,
      GATEPASS_MASTER_KEY: masterKey,
      GATEPASS_DATA_DIR: folders.a,
    });
    assert.equal(created.code, 0, created.stderr);
    operatorKey = String((JSON.parse(created.stdout) as { key?: unknown }).key);
  });

  after(async () => {
    for (const node of nodes) {
      if (exited(node.child)) continue;
      node.child.kill('SIGTERM');
      const stopped = await Promise.race([waitForExit(node.child), sleep(STOP_DEADLINE_MS)]);
      if (!stopped) {
        node.child.kill('SIGKILL');
        await waitForExit(node.child);
      }
    }
    for (const folder of Object.values(folders)) rmSync(folder, { recursive: true, force: true });
    await dropTestDatabase(folders.a);
  });

  test('concurrent starts migrate once', async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const schema = testSchema(folders.a);
      const applied = await client.query<{ name: string }>(
        `select name from ${schema}.kysely_migration order by name`,
      );
      const expected = Object.keys(await migrationProvider('postgres').getMigrations()).sort();
      assert.deepEqual(
        applied.rows.map((row) => row.name),
        expected,
      );
    } finally {
      await client.end();
    }
    for (const node of nodes) assert.ok(!exited(node.child), `node ${node.name} exited`);
  });

  test('concurrent starts keep one key', async () => {
    // Each node creates a first signing key when it finds none. All but one must be retired,
    // because the extras would otherwise stay published through every later rotation.
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      const keys = await client.query<{ environment: string; kid: string }>(
        `select environment, kid from ${testSchema(folders.a)}.signing_keys
          where retired_at is null order by environment`,
      );
      const live = keys.rows.map((row) => row.environment);
      assert.deepEqual(live, ['production', 'staging'], JSON.stringify(keys.rows));
    } finally {
      await client.end();
    }
  });

  test('token from A works at B', async () => {
    const boarding = await board(a, 'Cross Node Retail');
    const token = await clientCredentials(a, boarding);
    assert.equal(token.status, 200, JSON.stringify(token.body));

    const call = await gatewayCall(b, bearerHeaders(boarding, String(token.body.access_token)));
    assert.equal(call.status, 200, JSON.stringify(call.body));
    assert.equal(call.body.environment, 'staging');
    assert.equal(call.body.path, '/anything');
  });

  test('concurrent refresh on both nodes', async () => {
    const boarding = await board(a, 'Refresh Race Retail');
    const token = await clientCredentials(a, boarding);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const refreshToken = String(token.body.refresh_token);

    const form = { grant_type: 'refresh_token', refresh_token: refreshToken };
    const replies = await Promise.all([tokenRequest(a, form), tokenRequest(b, form)]);
    const statuses = replies.map((r) => r.status).sort();
    const bodies = JSON.stringify(replies.map((r) => r.body));

    assert.deepEqual(statuses, [200, 400], bodies);
    const winner = replies.find((r) => r.status === 200);
    const loser = replies.find((r) => r.status === 400);
    assert.equal(loser?.body.error, 'invalid_grant', bodies);
    assert.notEqual(winner?.body.refresh_token, refreshToken);

    // A race within the grace window is not reuse: the winner's new token still refreshes.
    const next = await tokenRequest(b, {
      grant_type: 'refresh_token',
      refresh_token: String(winner?.body.refresh_token),
    });
    assert.equal(next.status, 200, JSON.stringify(next.body));
  });

  test('suspension on A reaches B', async () => {
    const boarding = await board(a, 'Suspended Retail');
    const token = await clientCredentials(a, boarding);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const bearer = bearerHeaders(boarding, String(token.body.access_token));
    // Both calls succeed first, so B has the platform's view in its cache.
    const warmHeaders = await gatewayCall(b, clientHeaders(boarding));
    assert.equal(warmHeaders.status, 200, JSON.stringify(warmHeaders.body));
    const warmToken = await gatewayCall(b, bearer);
    assert.equal(warmToken.status, 200, JSON.stringify(warmToken.body));

    const suspended = await adminCall(a, 'POST', `/platforms/${boarding.platform.id}/suspend`);
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    const deadline = Date.now() + NOTICE_DEADLINE_MS;

    let byHeaders: Reply | undefined;
    let byToken: Reply | undefined;
    while (Date.now() < deadline) {
      byHeaders = await gatewayCall(b, clientHeaders(boarding));
      byToken = await gatewayCall(b, bearer);
      if (byHeaders.status !== 200 && byToken.status !== 200) break;
      await sleep(50);
    }
    const within = `within ${NOTICE_DEADLINE_MS} ms of the suspension`;
    assert.equal(byHeaders?.status, 403, `client headers ${within}: ${JSON.stringify(byHeaders)}`);
    assert.equal(byHeaders?.body.code, 'platform_suspended');
    assert.equal(byToken?.status, 403, `access token ${within}: ${JSON.stringify(byToken)}`);
    assert.equal(byToken?.body.code, 'platform_suspended');
  });

  test('rate limit spans both nodes', async () => {
    const limit = 5;
    const extra = 3;
    const boarding = await board(a, 'Rate Limited Retail');
    const limits = await adminCall(a, 'PUT', `/platforms/${boarding.platform.id}/limits`, {
      rate_limit_per_minute: limit,
    });
    assert.equal(limits.status, 200, JSON.stringify(limits.body));

    const replies: Reply[] = [];
    for (let i = 0; i < limit + extra; i++) {
      replies.push(await gatewayCall(i % 2 === 0 ? a : b, clientHeaders(boarding)));
    }
    const statuses = replies.map((r) => r.status);
    const expected = [...Array(limit).fill(200), ...Array(extra).fill(429)];

    const outcomes = replies.map((r) => `${r.status} ${r.body?.code ?? ''}`).join(', ');
    assert.deepEqual(statuses, expected, outcomes);
    for (const rejected of replies.slice(limit)) {
      assert.equal(rejected.body.code, 'rate_limited');
      const retryAfter = Number(rejected.headers.get('retry-after'));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60,
        `Retry-After is ${rejected.headers.get('retry-after')}`,
      );
    }
  });
});
