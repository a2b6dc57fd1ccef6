/**
 * Secret formats: generation, checksums, parsing and keyed hashing.
 *
 * A secret reads `gp_<env>_<kind>_<body><check>`: `env` is `test` (staging) or `live`
 * (production), `kind` is one of SECRET_KINDS, `body` is 43 base62 characters (256 bits from
 * the CSPRNG) and `check` is 6 base62 characters derived from SHA-256 of everything before it.
 * Only `[A-Za-z0-9_]` occurs, so a secret reads the same whether or not a client form-encodes it
 * before HTTP Basic (RFC 6749 section 2.3.1), and a double click selects all of it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Environment, environmentFromMarker, environmentMarker } from './environment.js';
import { randomBase62 } from './random.js';

export const SECRET_KINDS = {
  client: 'cs',
  module: 'ms',
  provider: 'ps',
} as const;

export type SecretKind = keyof typeof SECRET_KINDS;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 43;
const CHECK_LENGTH = 6;
const SECRET_PATTERN = /^gp_(test|live)_([a-z]{2})_([0-9A-Za-z]{49})$/;

/** Encode bytes as base62 of a fixed length, so every secret has the same shape. */
function toBase62(bytes: Uint8Array, length: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = '';
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

function checksum(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  return toBase62(digest.subarray(0, 5), CHECK_LENGTH);
}

/** Return a random base62 identifier of `length` characters (about 5.95 bits each). */
export function randomId(length: number): string {
  return randomBase62(length);
}

export function generateSecret(kind: SecretKind, environment: Environment): string {
  // 32 random bytes are 256 bits; 43 base62 digits hold up to 256.07 bits, so none is lost.
  const head = `gp_${environmentMarker(environment)}_${SECRET_KINDS[kind]}_${toBase62(randomBytes(32), BODY_LENGTH)}`;
  return head + checksum(head);
}

export interface ParsedSecret {
  kind: SecretKind;
  environment: Environment;
}

/**
 * Parse a presented secret. Returns undefined for anything that is not a well-formed secret
 * with a valid checksum, so mistyped or invented values are rejected before any lookup.
 */
export function parseSecret(value: string): ParsedSecret | undefined {
  const match = SECRET_PATTERN.exec(value);
  if (!match) return undefined;
  const [, marker = '', kindCode, rest = ''] = match;
  const environment = environmentFromMarker(marker);
  const kind = (Object.keys(SECRET_KINDS) as SecretKind[]).find(
    (k) => SECRET_KINDS[k] === kindCode,
  );
  if (!environment || !kind) return undefined;
  const head = value.slice(0, value.length - CHECK_LENGTH);
  if (checksum(head) !== rest.slice(BODY_LENGTH)) return undefined;
  return { kind, environment };
}

/** Return the visible hint stored beside a secret's hash: its prefix and last four characters. */
export function secretHint(secret: string): string {
  return `${secret.slice(0, 11)}…${secret.slice(-4)}`;
}

/** Keyed hash stored in place of a secret: HMAC-SHA-256, base64url. */
export function hashSecret(key: Uint8Array, secret: string): string {
  return createHmac('sha256', key).update(secret).digest('base64url');
}

/** Compare two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    // Compare anyway so that a length mismatch costs the same as a content mismatch.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

const OPERATOR_KEY_PATTERN = /^gp_admin_([0-9A-Za-z]{49})$/;

/**
 * Generate an operator API key: `gp_admin_` with the same body and checksum as other secrets.
 * Operator keys belong to no environment.
 */
export function generateOperatorKey(): string {
  const head = `gp_admin_${toBase62(randomBytes(32), BODY_LENGTH)}`;
  return head + checksum(head);
}

export function isOperatorKey(value: string): boolean {
  const match = OPERATOR_KEY_PATTERN.exec(value);
  if (!match) return false;
  return checksum(value.slice(0, value.length - CHECK_LENGTH)) === value.slice(-CHECK_LENGTH);
}

const PLAIN_NAME = /^[A-Za-z0-9_.:-]{1,40}$/;
const LOOKS_SECRET = /gp_(test|live|admin)_|^eyJ/;

/**
 * Quote a value a client sent, for an error message, only when it is a short plain name that
 * cannot be a credential; otherwise describe it. A client that types a secret into the wrong
 * field must not get it back in an error that may be logged or shown.
 */
export function quoteSubmitted(value: string): string {
  return PLAIN_NAME.test(value) && !LOOKS_SECRET.test(value)
    ? `"${value}"`
    : '(the value sent, not repeated here)';
}
