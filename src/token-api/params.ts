/**
 * Reading token API parameters. Form and JSON bodies are accepted with the same rules: every
 * parameter is a string of bounded length, and one given twice is rejected (RFC 6749 section
 * 3.2), so that no caller can make two readings of one request disagree.
 */
import { OAuthError } from '../domain/errors.js';
import { quoteSubmitted } from '../domain/secrets.js';
import type { ClientCredentials } from '../services/tokens.js';

/** Longest accepted parameter value, in characters; refresh tokens are about 400. */
export const MAX_PARAMETER_LENGTH = 4096;

/** Marks a form parameter that occurred more than once. */
export const REPEATED = Symbol('repeated');

export type RawParams = Record<string, string | typeof REPEATED>;

/** Parse an `application/x-www-form-urlencoded` body, marking repeated names. */
export function parseForm(body: string): RawParams {
  // No prototype, so a parameter named __proto__ is an ordinary key and its repeats are caught.
  const params: RawParams = Object.create(null) as RawParams;
  for (const [name, value] of new URLSearchParams(body)) {
    params[name] = Object.hasOwn(params, name) ? REPEATED : value;
  }
  return params;
}

/** JSON strings and the structural characters that change nesting or end a member name. */
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|[{}[\]:]/g;

/** Return the member names that occur more than once in the top-level object of valid JSON. */
function repeatedTopLevelNames(text: string): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  let depth = 0;
  let previousString: string | undefined;
  for (const [token] of text.matchAll(JSON_TOKEN)) {
    if (token === '{' || token === '[') depth += 1;
    else if (token === '}' || token === ']') depth -= 1;
    else if (token === ':' && depth === 1 && previousString !== undefined) {
      // Decode the name, so that "client\u005fsecret" and "client_secret" count as one.
      const name = JSON.parse(previousString) as string;
      if (seen.has(name)) repeated.add(name);
      seen.add(name);
    }
    previousString = token.startsWith('"') ? token : undefined;
  }
  return repeated;
}

/**
 * Parse an `application/json` body, marking repeated top-level names as `parseForm` does,
 * because JSON.parse keeps the last of them silently and the two body types would disagree.
 */
export function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const params: Record<string, unknown> = Object.create(null);
  for (const [name, member] of Object.entries(value)) params[name] = member;
  for (const name of repeatedTopLevelNames(text)) params[name] = REPEATED;
  return params;
}

/** Check a parsed body and return its parameters as strings, or throw `invalid_request`. */
export function readParams(body: unknown): Record<string, string> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new OAuthError(
      'invalid_request',
      'The request body must be a form (application/x-www-form-urlencoded) or a JSON object.',
    );
  }
  const params = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (value === REPEATED)
      throw new OAuthError(
        'invalid_request',
        `Parameter ${quoteSubmitted(name)} is repeated; send each parameter once.`,
      );
    if (typeof value !== 'string')
      throw new OAuthError(
        'invalid_request',
        `Parameter ${quoteSubmitted(name)} must be a string.`,
      );
    if (value.length > MAX_PARAMETER_LENGTH) {
      throw new OAuthError(
        'invalid_request',
        `Parameter ${quoteSubmitted(name)} is longer than ${MAX_PARAMETER_LENGTH} characters.`,
      );
    }
    params[name] = value;
  }
  return params;
}

export function required(params: Record<string, string>, name: string): string {
  const value = params[name];
  if (value === undefined || value === '')
    throw new OAuthError('invalid_request', `Parameter "${name}" is required.`);
  return value;
}

/** Decode one half of a Basic credential, which RFC 6749 section 2.3.1 form-encodes. */
function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

export type BasicCredentials =
  | { present: false }
  | { present: true; credentials: ClientCredentials };

/**
 * Read HTTP Basic client authentication. Split on the first colon only (RFC 7617 section 2),
 * since the secret may contain colons. A malformed header is `invalid_client`, never a 5xx.
 */
export function readBasic(header: string | undefined): BasicCredentials {
  if (header === undefined) return { present: false };
  const match = /^basic(?: +(.*))?$/i.exec(header.trim());
  if (!match) return { present: false };
  const encoded = match[1]?.trim() ?? '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw malformedBasic();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw malformedBasic();
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (!clientId || !clientSecret) throw malformedBasic();
  return { present: true, credentials: { clientId, clientSecret } };
}

function malformedBasic(): OAuthError {
  return new OAuthError(
    'invalid_client',
    'The Authorization header is not valid HTTP Basic: expected "Basic base64(client_id:client_secret)".',
    'malformed_basic',
  );
}

/**
 * Find the client credentials of a request, from the Basic header or the body. Using both is
 * `invalid_request` (RFC 6749 section 2.3: one method per request).
 */
export function readClientCredentials(
  header: string | undefined,
  params: Record<string, string>,
): { credentials?: ClientCredentials; basic: boolean } {
  const basic = readBasic(header);
  const bodyId = params.client_id;
  const bodySecret = params.client_secret;
  if (basic.present) {
    if (bodySecret !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'Client credentials were sent both in the Authorization header and in the body; use one method.',
      );
    }
    if (bodyId !== undefined && bodyId !== basic.credentials.clientId) {
      throw new OAuthError(
        'invalid_request',
        'The client_id in the body differs from the one in the Authorization header.',
      );
    }
    return { credentials: basic.credentials, basic: true };
  }
  if (bodySecret !== undefined) {
    if (!bodyId)
      throw new OAuthError(
        'invalid_request',
        'Parameter "client_id" is required with "client_secret".',
      );
    return { credentials: { clientId: bodyId, clientSecret: bodySecret }, basic: false };
  }
  return { basic: false };
}
