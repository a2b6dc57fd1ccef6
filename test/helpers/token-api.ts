/** Requests to the token API that `postForm` cannot express: raw bodies, JSON and exact texts. */
import assert from 'node:assert/strict';
import type { BoardingResult } from '../../src/services/platforms.js';
import { basic, postForm, type TestGatepass } from './gatepass.js';

export interface TokenReply {
  status: number;
  headers: Headers;
  /** The body exactly as sent, for byte-for-byte comparisons. */
  text: string;
  body: Record<string, unknown>;
}

/** POST `body` as it is to `url`, and parse the reply as JSON when it is JSON. */
export async function postRaw(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<TokenReply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Callers assert on the status and content type; an unparsed body stays empty.
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

/** POST `value` as an `application/json` body. */
export function postJson(
  url: string,
  value: unknown,
  headers: Record<string, string> = {},
): Promise<TokenReply> {
  return postRaw(url, JSON.stringify(value), { ...headers, 'content-type': 'application/json' });
}

/** Form-encode `form` the way `postForm` does, keeping the reply's text. */
export function postFormText(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<TokenReply> {
  return postRaw(url, new URLSearchParams(form).toString(), headers);
}

/** Assert an RFC 6749 section 5.2 error reply, one assert per property. */
export function assertOAuthError(reply: TokenReply, status: number, error: string): void {
  assert.equal(reply.status, status, `status of ${reply.text}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(reply.body.error, error);
  assert.equal(typeof reply.body.error_description, 'string');
  assert.notEqual(reply.body.error_description, '');
  assert.equal(reply.headers.get('cache-control'), 'no-store');
  assert.equal(reply.headers.get('pragma'), 'no-cache');
}

/** Run `client_credentials` for `board` on the staging listener and return the token response. */
export async function clientCredentials(
  gp: TestGatepass,
  board: BoardingResult,
  form: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const reply = await postForm(
    `${gp.staging}/v1/auth/token`,
    { grant_type: 'client_credentials', ...form },
    { authorization: basic(board.client_id, board.client_secret) },
  );
  assert.equal(reply.status, 200, `client_credentials failed: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Base64 of `text`, for hand-made Basic headers. */
export function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

/** A second module, so that a platform can have one module and lack another. */
export const PAYOUTS_MODULE = {
  id: 'payouts',
  name: 'Payouts',
  prefix: '/payouts',
  upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
};

export const DEMO_MODULE = {
  id: 'demo',
  name: 'Demo module',
  prefix: '/demo',
  upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
  requiresProviderSecret: true,
};

/** Settings that configure both modules. */
export const TWO_MODULES = { modules: [DEMO_MODULE, PAYOUTS_MODULE] };
