/**
 * Reads what a test's Gatepass stored, on SQLite or, when TEST_DATABASE_URL is set, in the
 * data folder's PostgreSQL schema.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { testSchema } from './gatepass.js';
import { readDatabaseFiles } from './secret-scan.js';

export type DatabaseDump = Record<string, unknown[]>;

async function dumpPostgres(url: string, schema: string): Promise<DatabaseDump> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      'select table_name from information_schema.tables where table_schema = $1 order by table_name',
      [schema],
    );
    const dump: DatabaseDump = {};
    for (const { table_name: table } of tables.rows) {
      dump[table] = (await client.query(`select * from ${schema}."${table}" order by 1`)).rows;
    }
    return dump;
  } finally {
    await client.end();
  }
}

function dumpSqlite(dataDir: string): DatabaseDump {
  const db = new SQLite(join(dataDir, 'gatepass.db'), { readonly: true });
  try {
    const tables = db
      .prepare("select name from sqlite_master where type = 'table' order by name")
      .all() as Array<{
      name: string;
    }>;
    return Object.fromEntries(
      tables.map(({ name }) => [name, db.prepare(`select * from "${name}" order by 1`).all()]),
    );
  } finally {
    db.close();
  }
}

/** Every row of every table, by table name. */
export async function dumpDatabase(dataDir: string): Promise<DatabaseDump> {
  const url = process.env.TEST_DATABASE_URL;
  return url ? dumpPostgres(url, testSchema(dataDir)) : dumpSqlite(dataDir);
}

/**
 * Everything the database holds, to search for secrets: the SQLite files as bytes, including
 * the write-ahead log, or every PostgreSQL row as JSON.
 */
export async function readDatabase(dataDir: string): Promise<Buffer> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return readDatabaseFiles(dataDir);
  return Buffer.from(JSON.stringify(await dumpPostgres(url, testSchema(dataDir))));
}
