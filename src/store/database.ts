/** Open the database named by the configuration and bring its schema up to date. */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Logger } from 'pino';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Human-readable location, for start-up messages; never includes a password. */
  location: string;
}

function openSqlite(dataDir: string): OpenDatabase {
  const folder = resolve(dataDir);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const file = join(folder, 'gatepass.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
    dialect: 'sqlite',
    location: file,
  };
}

/** Open a PostgreSQL pool. The driver is imported here, so that SQLite starts without loading it. */
async function openPostgres(
  url: string,
  poolSize: number,
  log: Logger | undefined,
): Promise<OpenDatabase> {
  const { default: pg } = await import('pg');
  // PostgreSQL returns int8 as a string to avoid losing precision past 2^53. Every int8 here is
  // an epoch-millisecond time or a row id, far below that.
  pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
  // Without a connect timeout, a database host that stops answering (rather than refusing)
  // would hold every request until the operating system gives up on the connection.
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
  });
  // An idle connection that breaks, as when PostgreSQL stops, is emitted as 'error' on the pool
  // (pg-pool 3), which throws it as an uncaught exception when nothing listens. The pool drops
  // that connection and opens a new one on demand, so the error only needs logging.
  pool.on('error', (error) => {
    log?.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool replaces it');
  });
  const shown = new URL(url);
  shown.password = '';
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    dialect: 'postgres',
    location: shown.toString(),
  };
}

/** Maximum migration attempts when a concurrent schema drop fails Kysely's catalog query. */
const MIGRATION_ATTEMPTS = 5;

/** Apply pending migrations. Kysely's migrator takes a lock, so concurrent starts apply them once. */
export async function migrate(open: OpenDatabase): Promise<void> {
  // Kysely looks for its migration tables in every schema it can see; naming the connection's
  // own schema keeps installations that share a PostgreSQL database apart.
  const schema =
    open.dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(open.db)).rows[0]
          ?.schema
      : undefined;
  const migrator = new Migrator({
    db: open.db,
    provider: migrationProvider(open.dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return;
    // To find its tables, Kysely 0.28 reads the catalog of every schema, and PostgreSQL fails
    // that query with 3F000 (invalid_schema_name) when another schema is dropped meanwhile.
    // The failed attempt applied nothing, so it is tried again after a pause.
    if ((error as { code?: unknown }).code === '3F000' && attempt < MIGRATION_ATTEMPTS) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `Database migration ${failed} failed on ${open.location}: ${(error as Error).message}`,
    );
  }
}

export async function openDatabase(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  poolSize?: number;
  /** Receives errors of idle PostgreSQL connections. */
  log?: Logger;
}): Promise<OpenDatabase> {
  const open = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options.poolSize ?? 10, options.log)
    : openSqlite(options.dataDir);
  await migrate(open);
  return open;
}

/** Error codes that mean the database cannot be reached, as opposed to a failed query. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'SQLITE_BUSY',
]);

/**
 * Whether an error means the database is unreachable or refusing connections, so the caller
 * should answer 503 and retry later, rather than report a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = String((error as { code?: unknown }).code ?? '');
  // PostgreSQL class 08 is connection exceptions; 57P01 to 57P03 are shutdowns.
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || /^57P0[1-3]$/.test(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Connection ended unexpectedly|not queryable/i.test(
    error.message,
  );
}
