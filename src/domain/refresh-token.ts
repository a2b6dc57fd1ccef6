/**
 * Refresh tokens are sealed, self-contained values: `gp_<env>_rt_` followed by base64url of
 * version, IV, AES-256-GCM ciphertext and tag. Issuing one writes nothing. The database learns of
 * a chain only when one of its tokens is used or revoked, and then stores the chain id alone.
 *
 * The GCM tag plays the part of the checksum that other secrets carry: an altered or invented
 * token fails to open before any lookup.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { type Environment, environmentFromMarker, environmentMarker } from './environment.js';
import { randomBytesPooled } from './random.js';

const VERSION = 1;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
/**
 * The body grows with the scope, so its upper bound is the 4096 characters of a token API
 * parameter less the 11-character prefix. A tighter bound would reject tokens of platforms with
 * many modules that the server itself issued.
 * NOTE: a scope of more than about 3 KB still yields a token that no request can carry.
 */
const PATTERN = /^gp_(test|live)_rt_([A-Za-z0-9_-]{40,4085})$/;

/** What a refresh token carries. Times are epoch seconds, except `authTime`. */
export interface RefreshTokenPayload {
  /** Chain id: shared by every token in one rotation lineage. */
  chainId: string;
  /** Position in the chain: 0 for the token issued by the first grant, then one more per refresh. */
  generation: number;
  environment: Environment;
  platformId: string;
  clientId: string;
  /** Client secret the chain was started with; revoking it ends the chain. Absent for users. */
  clientSecretId?: string;
  userId?: string;
  scope: string[];
  /**
   * Start of the chain in epoch milliseconds, unlike the other times, so that a revocation of the
   * platform's or user's sessions in the same second is still ordered correctly against it.
   */
  authTime: number;
  issuedAt: number;
  expiresAt: number;
}

interface WirePayload {
  c: string;
  g: number;
  p: string;
  i: string;
  k?: string;
  u?: string;
  s: string[];
  a: number;
  t: number;
  x: number;
}

export function sealRefreshToken(key: Uint8Array, payload: RefreshTokenPayload): string {
  const wire: WirePayload = {
    c: payload.chainId,
    g: payload.generation,
    p: payload.platformId,
    i: payload.clientId,
    s: payload.scope,
    a: payload.authTime,
    t: payload.issuedAt,
    x: payload.expiresAt,
  };
  if (payload.clientSecretId) wire.k = payload.clientSecretId;
  if (payload.userId) wire.u = payload.userId;

  const marker = environmentMarker(payload.environment);
  const iv = randomBytesPooled(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The prefix is authenticated data, so a token cannot be moved to the other environment.
  cipher.setAAD(Buffer.from(marker));
  const body = Buffer.concat([cipher.update(JSON.stringify(wire), 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]);
  return `gp_${marker}_rt_${sealed.toString('base64url')}`;
}

/** Return the environment named by a refresh token's prefix, without opening it. */
export function refreshTokenEnvironment(token: string): Environment | undefined {
  const match = PATTERN.exec(token);
  return match ? environmentFromMarker(match[1] ?? '') : undefined;
}

/**
 * Open a refresh token sealed with `key`. Returns undefined for any token that is malformed,
 * altered, of another environment or sealed with another key: callers answer all of these
 * with the same `invalid_grant`.
 */
export function openRefreshToken(
  key: Uint8Array,
  environment: Environment,
  token: string,
): RefreshTokenPayload | undefined {
  const match = PATTERN.exec(token);
  if (!match || environmentFromMarker(match[1] ?? '') !== environment) return undefined;

  const sealed = Buffer.from(match[2] ?? '', 'base64url');
  if (sealed.length < 1 + IV_LENGTH + TAG_LENGTH + 2 || sealed[0] !== VERSION) return undefined;
  const iv = sealed.subarray(1, 1 + IV_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const body = sealed.subarray(1 + IV_LENGTH, sealed.length - TAG_LENGTH);

  let wire: WirePayload;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(environmentMarker(environment)));
    decipher.setAuthTag(tag);
    const text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    wire = JSON.parse(text) as WirePayload;
  } catch {
    return undefined;
  }

  const payload: RefreshTokenPayload = {
    chainId: wire.c,
    generation: wire.g,
    environment,
    platformId: wire.p,
    clientId: wire.i,
    scope: wire.s,
    authTime: wire.a,
    issuedAt: wire.t,
    expiresAt: wire.x,
  };
  if (wire.k) payload.clientSecretId = wire.k;
  if (wire.u) payload.userId = wire.u;
  return payload;
}
