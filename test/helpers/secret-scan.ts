/**
 * Searches logs and database files for secrets that a test created. Each secret is searched
 * as a whole and by its random part, so a value stored without its prefix or a JWT stored
 * without its header is still found.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Strings to search for one secret: the value itself and its random part. */
export function needlesOf(secret: string): string[] {
  const needles = [secret];
  const prefixed = /^gp_(?:test|live)_[a-z]{2}_(.{32,})$/.exec(secret);
  if (prefixed?.[1]) needles.push(prefixed[1]);
  const jwtParts = secret.split('.');
  if (jwtParts.length === 3 && jwtParts[2]) needles.push(jwtParts[2]);
  return needles;
}

/** Return the labels of the secrets whose value or random part occurs in `haystack`. */
export function findSecrets(haystack: Buffer | string, secrets: Record<string, string>): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : haystack;
  return Object.entries(secrets)
    .filter(([, secret]) => needlesOf(secret).some((needle) => bytes.includes(needle)))
    .map(([label]) => label);
}

/** Read the SQLite database and its write-ahead log and shared-memory files, as bytes. */
export function readDatabaseFiles(dataDir: string): Buffer {
  const files = readdirSync(dataDir).filter((name) => name.startsWith('gatepass.db'));
  if (!files.includes('gatepass.db')) throw new Error(`no gatepass.db in ${dataDir}`);
  return Buffer.concat(files.map((name) => readFileSync(join(dataDir, name))));
}
