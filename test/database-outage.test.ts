/**
 * Runs Gatepass on PostgreSQL through a TCP proxy that the test can cut, as if PostgreSQL had
 * stopped: new connections are refused and open ones are destroyed. While it is cut, readiness
 * fails and names the database, the token API returns 503 with Retry-After, and gateway calls
 * with a token obtained before go on from cache, their request-log rows waiting in memory.
 * Once the proxy resumes, everything recovers without a restart. Needs TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { BoardingResult } from '../src/services/platforms.js';
import {
  dropTestDatabase,
  postForm,
  startTestGatepass,
  type TestGatepass,
  testDatabase,
  testSchema,
} from './helpers/gatepass.js';

const DATABASE_URL = process.env.TEST_DATABASE_URL;
const SKIP = DATABASE_URL
  ? false
  : 'set TEST_DATABASE_URL to a PostgreSQL database to cut it off through a proxy';

/** Upper bound on waits for Gatepass to notice that the database left or came back. */
const RECOVERY_DEADLINE_MS = 15_000;
/** Lifetime of cached client views, short so that calls during the outage use expired views. */
const CACHE_TTL_MS = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP proxy on 127.0.0.1 in front of PostgreSQL. `cut` stops listening, so new connections
 * are refused, and destroys the open ones; `resume` listens on the same port again.
 */
class DatabaseProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.forward(client));
  }

  private forward(client: Socket): void {
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // Either side failing ends both, and the other side gets a reset, as from a stopped server.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  listen(port = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.port = typeof address === 'object' && address ? address.port : port;
        resolve();
      });
    });
  }

  cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closed;
  }

  resume(): Promise<void> {
    return this.listen(this.port);
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.cut();
  }
}

async function queryDirectly<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('database outage', { skip: SKIP }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-outage-'));
  const schema = testSchema(dataDir);
  let proxy: DatabaseProxy;
  let gatepass: TestGatepass;
  let bearer: Record<string, string> = {};
  let clientId = '';
  let clientSecret = '';
  let refreshToken = '';
  /** A platform boarded before the cut whose client was never looked up, so it is not cached. */
  let uncached: BoardingResult;
  /** Request ids of the gateway calls made while the database was away. */
  const outageRequestIds: string[] = [];

  const tokenUrl = () => `${gatepass.staging}/v1/auth/token`;

  before(async () => {
    const target = new URL(String(DATABASE_URL));
    proxy = new DatabaseProxy(target.hostname, Number(target.port || 5432));
    await proxy.listen();
    const proxied = new URL(String((await testDatabase(dataDir)).databaseUrl));
    proxied.host = `127.0.0.1:${proxy.port}`;
    gatepass = await startTestGatepass({
      dataDir,
      settings: {
        databaseUrl: proxied.toString(),
        databasePoolSize: 2,
        cacheTtlMs: CACHE_TTL_MS,
      },
    });

    const boarding = await gatepass.board('Outage Retail');
    uncached = await gatepass.board('Uncached Retail');
    clientId = boarding.client_id;
    clientSecret = boarding.client_secret;
    const token = await postForm(tokenUrl(), {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    refreshToken = String(token.body.refresh_token);
    bearer = {
      authorization: `Bearer ${String(token.body.access_token)}`,
      'x-module-secret': boarding.modules.demo?.module_secret ?? '',
      'x-provider-secret': boarding.modules.demo?.provider_secret ?? '',
    };

    // One call before the cut puts the client's view and the verified token in cache.
    const warm = await fetch(`${gatepass.staging}/demo/warm`, { headers: bearer });
    assert.equal(warm.status, 200, await warm.text());
  });

  after(async () => {
    await gatepass?.close();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await dropTestDatabase(dataDir);
  });

  test('readyz names the database', async () => {
    await proxy.cut();
    const response = await fetch(`${gatepass.admin}/readyz`);
    const body = (await response.json()) as Record<string, unknown>;

    assert.equal(response.status, 503, JSON.stringify(body));
    assert.equal(body.database, 'unreachable');
  });

  test('token API returns 503', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['refresh_token', { grant_type: 'refresh_token', refresh_token: refreshToken }],
      [
        'client_credentials of a client not in cache',
        {
          grant_type: 'client_credentials',
          client_id: uncached.client_id,
          client_secret: uncached.client_secret,
        },
      ],
    ];
    for (const [name, form] of cases) {
      const result = await postForm(tokenUrl(), form);
      const detail = `${name}: ${JSON.stringify(result.body)}`;

      assert.equal(result.status, 503, detail);
      assert.equal(result.body.error, 'temporarily_unavailable', detail);
      assert.match(String(result.body.error_description), /database/, detail);
      const retryAfter = Number(result.headers.get('retry-after'));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter > 0,
        `${name}: Retry-After is ${result.headers.get('retry-after')}`,
      );
    }
  });

  test('gateway serves cached token', async () => {
    // Past the cache lifetime, the view is reloaded, fails, and is served stale.
    await sleep(CACHE_TTL_MS * 2);
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${gatepass.staging}/demo/outage/${i}`, { headers: bearer });
      const body = await response.text();
      assert.equal(response.status, 200, body);
      outageRequestIds.push(String(response.headers.get('x-request-id')));
    }
    // A flush now fails, so the rows stay in memory rather than in the database.
    await gatepass.running.context.requestLog.flush();
    const stored = await queryDirectly<{ request_id: string }>(
      `select request_id from ${schema}.request_log where request_id = any($1)`,
      [outageRequestIds],
    );
    assert.deepEqual(stored, []);
  });

  test('recovers after the database returns', async () => {
    await proxy.resume();
    const deadline = Date.now() + RECOVERY_DEADLINE_MS;
    let ready = { status: 0, body: '' };
    while (Date.now() < deadline) {
      const response = await fetch(`${gatepass.admin}/readyz`);
      ready = { status: response.status, body: await response.text() };
      if (ready.status === 200) break;
      await sleep(100);
    }
    assert.equal(ready.status, 200, `readyz after ${RECOVERY_DEADLINE_MS} ms: ${ready.body}`);

    const refreshed = await postForm(tokenUrl(), {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    // This client's view was never cached, so issuing its token reads the database.
    const issued = await postForm(tokenUrl(), {
      grant_type: 'client_credentials',
      client_id: uncached.client_id,
      client_secret: uncached.client_secret,
    });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
  });

  test('outage rows written after recovery', async () => {
    await gatepass.running.context.requestLog.flush();
    const stored = await queryDirectly<{ request_id: string; status: number; path: string }>(
      `select request_id, status, path from ${schema}.request_log
        where request_id = any($1) order by path`,
      [outageRequestIds],
    );

    assert.deepEqual(
      stored.map((row) => [row.request_id, row.status, row.path]),
      outageRequestIds.map((id, i) => [id, 200, `/demo/outage/${i}`]),
    );
  });
});
