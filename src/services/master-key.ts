/**
 * The master key and the keys derived from it. Secret hashes, refresh tokens and stored
 * signing keys all depend on it, and it is kept outside the database: in configuration
 * (`GATEPASS_MASTER_KEY`) or in `<dataDir>/master.key`, created on first start, mode 0600.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Environment } from '../domain/environment.js';

export interface DerivedKeys {
  /** HMAC key of stored secret hashes. */
  secretHash: Buffer;
  /** AES-256-GCM key of stored private signing keys. */
  signingKeySeal: Buffer;
  /** HMAC key of the audit log's hash chain. */
  auditChain: Buffer;
  /** AES-256-GCM key of production credentials sealed for a platform's owners at go-live. */
  credentialReveal: Buffer;
  /** AES-256-GCM key of refresh tokens, one per environment so that they cannot cross. */
  refreshToken: Record<Environment, Buffer>;
}

function decodeKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new Error(
      `${origin}: the master key must be 32 bytes as 64 hex digits or base64, but it decodes to ${key.length} bytes. ` +
        'Generate one with: openssl rand -base64 32',
    );
  }
  return key;
}

/** Read the master key from configuration or the data folder, creating the file if neither has one. */
export function loadMasterKey(options: {
  masterKey?: string | undefined;
  dataDir: string;
}): Buffer {
  if (options.masterKey) return decodeKey(options.masterKey, 'masterKey (GATEPASS_MASTER_KEY)');

  const folder = resolve(options.dataDir);
  const file = join(folder, 'master.key');
  if (existsSync(file)) return decodeKey(readFileSync(file, 'utf8'), file);

  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  // `wx` fails if another process created the file in between, instead of overwriting its key.
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `gatepass ${purpose}`, 32));
}

export function deriveKeys(master: Buffer): DerivedKeys {
  return {
    secretHash: derive(master, 'secret hash'),
    signingKeySeal: derive(master, 'signing key seal'),
    auditChain: derive(master, 'audit chain'),
    credentialReveal: derive(master, 'credential reveal'),
    refreshToken: {
      staging: derive(master, 'refresh token staging'),
      production: derive(master, 'refresh token production'),
    },
  };
}
