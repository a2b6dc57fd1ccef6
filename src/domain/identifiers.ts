/** Identifiers of stored objects. They are not secrets, so they carry no checksum. */
import { type Environment, environmentFromMarker, environmentMarker } from './environment.js';
import { randomId } from './secrets.js';

const CLIENT_ID_PATTERN = /^gpc_(test|live)_[0-9A-Za-z]{24}$/;

export function newClientId(environment: Environment): string {
  return `gpc_${environmentMarker(environment)}_${randomId(24)}`;
}

/** Return the environment a client id was issued for, or undefined when it is malformed. */
export function clientIdEnvironment(clientId: string): Environment | undefined {
  if (!CLIENT_ID_PATTERN.test(clientId)) return undefined;
  return environmentFromMarker(clientId.slice(4, 8));
}

export const newPlatformId = (): string => `plt_${randomId(16)}`;
export const newUserId = (): string => `usr_${randomId(16)}`;
export const newSecretId = (): string => `sec_${randomId(16)}`;
export const newChainId = (): string => randomId(22);
export const newRequestId = (): string => `req_${randomId(20)}`;
export const newKeyId = (environment: Environment): string =>
  `${environmentMarker(environment)}-${randomId(12)}`;

const SLUG_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/** A module id is a lower-case slug: a letter, then letters, digits or hyphens, 40 at most. */
export function isSlug(value: string): boolean {
  return SLUG_PATTERN.test(value);
}

/** Whether a module route prefix would shadow a route of the token API. */
export function isReservedPrefix(prefix: string): boolean {
  return ['/v1', '/.well-known'].some(
    (reserved) => prefix === reserved || prefix.startsWith(`${reserved}/`),
  );
}
