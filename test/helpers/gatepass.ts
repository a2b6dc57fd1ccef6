/**
 * Starts a real Gatepass for a test: every listener on a free port of 127.0.0.1, a fresh
 * SQLite file in a temporary folder, and every log line kept in memory so tests can search it.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { type RunningGatepass, startGatepass } from '../../src/app/start.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import type { BoardingResult } from '../../src/services/platforms.js';

export interface TestGatepass {
  running: RunningGatepass;
  staging: string;
  production: string;
  admin: string;
  dataDir: string;
  /** Every log line written so far. */
  logs: string[];
  board(name?: string, modules?: string[]): Promise<BoardingResult>;
  addUser(
    platformId: string,
    email: string,
    password: string,
    role?: string,
  ): Promise<{ id: string }>;
  /** Stop the process's listeners, keeping the data folder. */
  stop(): Promise<void>;
  /** Stop and delete the data folder. */
  close(): Promise<void>;
}

export const OPERATOR = { kind: 'operator' as const, id: 'test-operator' };

export interface StartOptions {
  /** Settings by dotted path, such as `{ 'tokens.accessTokenTtl': 5 }`. */
  settings?: Record<string, unknown>;
  /** Reuse a data folder, to test a restart. */
  dataDir?: string;
}

/**
 * The PostgreSQL schema of a data folder when TEST_DATABASE_URL is set: one per folder, so a
 * restart on the same folder finds its data and tests never see each other's rows.
 */
export function testSchema(dataDir: string): string {
  return `gp_t_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`;
}

/** The database settings for a data folder: none for SQLite, a schema of its own on PostgreSQL. */
export async function testDatabase(dataDir: string): Promise<Record<string, unknown>> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return {};
  const schema = testSchema(dataDir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create schema if not exists ${schema}`);
  } finally {
    await client.end();
  }
  const separator = url.includes('?') ? '&' : '?';
  return {
    databaseUrl: `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
  };
}

/** Drop a data folder's PostgreSQL schema, if the tests run on PostgreSQL. */
export async function dropTestDatabase(dataDir: string): Promise<void> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${testSchema(dataDir)} cascade`);
  } finally {
    await client.end();
  }
}

export async function startTestGatepass(options: StartOptions = {}): Promise<TestGatepass> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gatepass-test-'));
  const config = loadConfig({
    env: {},
    overrides: {
      ...(await testDatabase(dataDir)),
      dataDir,
      'listeners.admin.port': 0,
      'listeners.staging.port': 0,
      'listeners.production.port': 0,
      ...options.settings,
    },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const running = await startGatepass(config, createLogger('debug', sink));
  const { addresses } = running;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.close();
  };

  return {
    running,
    staging: addresses.staging ?? '',
    production: addresses.production ?? '',
    admin: addresses.admin ?? '',
    dataDir,
    logs,
    board: (name = 'Acme Retail', modules = ['demo']) =>
      running.context.platforms.board(name, modules, OPERATOR),
    addUser: (platformId, email, password, role = 'developer') =>
      running.context.users.add({ platformId, email, password, role }, OPERATOR),
    stop,
    async close() {
      await stop();
      if (!options.dataDir) {
        rmSync(dataDir, { recursive: true, force: true });
        await dropTestDatabase(dataDir);
      }
    },
  };
}

/** POST a form to the token API and return the status, headers and parsed JSON body. */
export async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** Call a module through the gateway with client headers and the module's secrets. */
export function gatewayHeaders(board: BoardingResult, module = 'demo'): Record<string, string> {
  const secrets = board.modules[module];
  const headers: Record<string, string> = {
    'x-client-id': board.client_id,
    'x-client-secret': board.client_secret,
  };
  if (secrets?.module_secret) headers['x-module-secret'] = secrets.module_secret;
  if (secrets?.provider_secret) headers['x-provider-secret'] = secrets.provider_secret;
  return headers;
}
