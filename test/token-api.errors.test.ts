import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import { basic, OPERATOR, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';
import {
  assertOAuthError,
  b64,
  postFormText,
  postJson,
  postRaw,
  TWO_MODULES,
} from './helpers/token-api.js';

/** A well-formed client id that no platform has. */
const UNKNOWN_CLIENT_ID = 'gpc_test_000000000000000000000000';

describe('token API invalid_request', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let other: BoardingResult;
  let url: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    other = await gp.board('Other Platform');
    url = `${gp.staging}/v1/auth/token`;
  });
  after(() => gp.close());

  test('other methods return 405', async () => {
    for (const path of ['/v1/auth/token', '/v1/auth/revoke', '/v1/auth/introspect']) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const response = await fetch(`${gp.staging}${path}`, { method });
        const body = (await response.json()) as Record<string, unknown>;
        assert.equal(response.status, 405, `${method} ${path}`);
        assert.equal(response.headers.get('allow'), 'POST');
        assert.equal(body.error, 'invalid_request');
        assert.match(String(body.error_description), /accepts POST only/);
      }
    }
  });

  test('missing grant_type', async () => {
    const reply = await postFormText(url, {
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });
    assertOAuthError(reply, 400, 'invalid_request');
    assert.match(String(reply.body.error_description), /grant_type/);
  });

  test('repeated grant_type', async () => {
    const body = new URLSearchParams([
      ['grant_type', 'client_credentials'],
      ['grant_type', 'refresh_token'],
      ['client_id', platform.client_id],
      ['client_secret', platform.client_secret],
    ]).toString();
    const reply = await postRaw(url, body);
    assertOAuthError(reply, 400, 'invalid_request');
    assert.equal(reply.body.access_token, undefined);
  });

  test('repeated client_secret', async () => {
    const body = new URLSearchParams([
      ['grant_type', 'client_credentials'],
      ['client_id', platform.client_id],
      ['client_secret', 'wrong'],
      ['client_secret', platform.client_secret],
    ]).toString();
    const reply = await postRaw(url, body);
    assertOAuthError(reply, 400, 'invalid_request');
    assert.equal(reply.body.access_token, undefined);
  });

  test('repeated parameter with equal values', async () => {
    const body = new URLSearchParams([
      ['grant_type', 'client_credentials'],
      ['client_id', platform.client_id],
      ['client_id', platform.client_id],
      ['client_secret', platform.client_secret],
    ]).toString();
    const reply = await postRaw(url, body);
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('JSON array value', async () => {
    const reply = await postJson(url, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: ['a', 'b'],
    });
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('JSON number and null values', async () => {
    for (const value of [42, null, true, { nested: 'x' }]) {
      const reply = await postJson(url, {
        grant_type: 'client_credentials',
        client_id: platform.client_id,
        client_secret: value,
      });
      assert.equal(reply.status, 400, `client_secret ${JSON.stringify(value)}`);
      assert.equal(reply.body.error, 'invalid_request', `client_secret ${JSON.stringify(value)}`);
    }
  });

  test('repeated JSON parameter', async () => {
    const body = `{"grant_type":"client_credentials","client_id":"${platform.client_id}","client_secret":"wrong","client_secret":"${platform.client_secret}"}`;
    const reply = await postRaw(url, body, { 'content-type': 'application/json' });
    assertOAuthError(reply, 400, 'invalid_request');
    assert.equal(reply.body.access_token, undefined);
  });

  test('repeated JSON parameter with escapes', async () => {
    const body = `{"grant_type":"client_credentials","client_id":"${platform.client_id}","client_secret":"wrong","client\\u005fsecret":"${platform.client_secret}"}`;
    const reply = await postRaw(url, body, { 'content-type': 'application/json' });
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('names inside JSON strings', async () => {
    const reply = await postRaw(
      url,
      `{"grant_type":"client_credentials","scope":"demo","client_id":"${platform.client_id}","client_secret":"${platform.client_secret}","extra":"{\\"scope\\":1}"}`,
      { 'content-type': 'application/json' },
    );
    assert.equal(reply.status, 200, reply.text);
  });

  test('JSON body that is an array', async () => {
    const reply = await postJson(url, [['grant_type', 'client_credentials']]);
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('malformed JSON body', async () => {
    const reply = await postRaw(url, '{"grant_type": "client_credentials"', {
      'content-type': 'application/json',
    });
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('JSON prototype key', async () => {
    const reply = await postRaw(
      url,
      '{"grant_type":"client_credentials","__proto__":{"client_secret":"x"}}',
      { 'content-type': 'application/json' },
    );
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('unsupported content type', async () => {
    const reply = await postRaw(url, 'grant_type=client_credentials', {
      'content-type': 'text/plain',
    });
    assertOAuthError(reply, 400, 'invalid_request');
    assert.match(String(reply.body.error_description), /x-www-form-urlencoded/);
  });

  test('oversized parameter', async () => {
    const reply = await postFormText(url, {
      grant_type: 'refresh_token',
      refresh_token: 'x'.repeat(5000),
    });
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('Basic and body credentials', async () => {
    const reply = await postFormText(
      url,
      {
        grant_type: 'client_credentials',
        client_id: other.client_id,
        client_secret: other.client_secret,
      },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_request');
    assert.equal(reply.body.access_token, undefined);
  });

  test('Basic and identical body credentials', async () => {
    const reply = await postFormText(
      url,
      {
        grant_type: 'client_credentials',
        client_id: platform.client_id,
        client_secret: platform.client_secret,
      },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('Basic and a different body client_id', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'client_credentials', client_id: other.client_id },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('parameters in the URL query', async () => {
    const query = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });
    const reply = await postRaw(`${url}?${query}`, '');
    assertOAuthError(reply, 400, 'invalid_request');
    assert.equal(reply.body.access_token, undefined);
  });

  test('URL query secret stays out of logs', async () => {
    const query = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });
    await postRaw(`${url}?${query}`, '');
    assert.ok(!gp.logs.some((line) => line.includes(platform.client_secret)));
  });

  test('client_secret without client_id', async () => {
    const reply = await postFormText(url, {
      grant_type: 'client_credentials',
      client_secret: platform.client_secret,
    });
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('password grant with email and username', async () => {
    const reply = await postFormText(url, {
      grant_type: 'password',
      username: 'a@example.test',
      email: 'a@example.test',
      password: 'whatever password',
    });
    assertOAuthError(reply, 400, 'invalid_request');
  });

  test('refresh without refresh_token', async () => {
    const reply = await postFormText(url, { grant_type: 'refresh_token' });
    assertOAuthError(reply, 400, 'invalid_request');
  });
});

describe('token API invalid_client', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let suspended: BoardingResult;
  let url: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    suspended = await gp.board('Suspended Platform');
    await gp.running.context.platforms.suspend(suspended.platform.id, OPERATOR);
    url = `${gp.staging}/v1/auth/token`;
  });
  after(() => gp.close());

  /** Return a well-formed staging client secret that belongs to another platform. */
  function foreignSecret(): string {
    return suspended.client_secret;
  }

  test('wrong secret with Basic', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, foreignSecret()) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('wrong secret in the body', async () => {
    const reply = await postFormText(url, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: foreignSecret(),
    });
    assertOAuthError(reply, 401, 'invalid_client');
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('malformed secret', async () => {
    // Changing one character breaks the secret's checksum.
    const last = platform.client_secret.at(-1) === 'x' ? 'y' : 'x';
    const reply = await postFormText(url, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: `${platform.client_secret.slice(0, -1)}${last}`,
    });
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('unknown client', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'client_credentials' },
      { authorization: basic(UNKNOWN_CLIENT_ID, platform.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('suspended platform', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'client_credentials' },
      { authorization: basic(suspended.client_id, suspended.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('failures share one body', async () => {
    const attempt = (clientId: string, secret: string) =>
      postFormText(
        url,
        { grant_type: 'client_credentials' },
        { authorization: basic(clientId, secret) },
      );
    const wrongSecret = await attempt(platform.client_id, foreignSecret());
    const unknownClient = await attempt(UNKNOWN_CLIENT_ID, platform.client_secret);
    const suspendedPlatform = await attempt(suspended.client_id, suspended.client_secret);
    assert.equal(wrongSecret.status, 401);
    assert.equal(unknownClient.text, wrongSecret.text);
    assert.equal(suspendedPlatform.text, wrongSecret.text);
    assert.equal(unknownClient.status, wrongSecret.status);
    assert.equal(suspendedPlatform.status, wrongSecret.status);
  });

  test('missing client authentication', async () => {
    const reply = await postFormText(url, { grant_type: 'client_credentials' });
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('malformed Basic headers', async () => {
    const headers = [
      'Basic !!!notbase64',
      'Basic',
      'Basic ',
      `Basic ${b64('nocolon')}`,
      `Basic ${b64(':')}`,
      `Basic ${b64(`:${platform.client_secret}`)}`,
      `Basic ${b64(`${platform.client_id}:`)}`,
      `Basic ${b64(`${platform.client_id}:%E0%A4%A`)}`,
      'Basic ====',
    ];
    for (const authorization of headers) {
      const reply = await postFormText(
        url,
        { grant_type: 'client_credentials' },
        { authorization },
      );
      assert.ok(
        reply.status === 401 || reply.status === 400,
        `${authorization} gave ${reply.status}`,
      );
      assert.ok(
        reply.body.error === 'invalid_client' || reply.body.error === 'invalid_request',
        `${authorization} gave ${reply.text}`,
      );
      assert.equal(reply.body.access_token, undefined, authorization);
      if (reply.status === 401) {
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Basic /, authorization);
      }
    }
  });

  test('secret with a colon is not truncated', async () => {
    // A header whose secret is the real one plus ":x" must not match the real secret.
    const authorization = `Basic ${b64(`${platform.client_id}:${platform.client_secret}:x`)}`;
    const reply = await postFormText(url, { grant_type: 'client_credentials' }, { authorization });
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('staging credentials on production', async () => {
    const reply = await postFormText(
      `${gp.production}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
    assert.match(String(reply.body.error_description), /staging/);
    assert.equal(reply.body.access_token, undefined);
  });

  test('revoke with a wrong secret', async () => {
    const reply = await postFormText(
      `${gp.staging}/v1/auth/revoke`,
      { token: 'gp_test_rt_unknown' },
      { authorization: basic(platform.client_id, foreignSecret()) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
  });
});

describe('token API grant and scope errors', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let url: string;
  const password = 'correct horse battery staple';

  before(async () => {
    gp = await startTestGatepass({ settings: TWO_MODULES });
    platform = await gp.board();
    await gp.addUser(platform.platform.id, 'dev@example.test', password);
    url = `${gp.staging}/v1/auth/token`;
  });
  after(() => gp.close());

  test('unsupported grant type', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'foo' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'unsupported_grant_type');
  });

  test('authorization_code is unsupported', async () => {
    const reply = await postFormText(url, { grant_type: 'authorization_code', code: 'abc' });
    assertOAuthError(reply, 400, 'unsupported_grant_type');
  });

  test('unknown refresh token', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'refresh_token', refresh_token: 'unknown' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('wrong password', async () => {
    const reply = await postFormText(url, {
      grant_type: 'user_credentials',
      email: 'dev@example.test',
      password: 'not the password',
    });
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('wrong password and unknown email match', async () => {
    const wrongPassword = await postFormText(url, {
      grant_type: 'user_credentials',
      email: 'dev@example.test',
      password: 'not the password',
    });
    const unknownEmail = await postFormText(url, {
      grant_type: 'user_credentials',
      email: 'nobody@example.test',
      password: 'not the password',
    });
    assert.equal(wrongPassword.status, 400);
    assert.equal(unknownEmail.status, wrongPassword.status);
    assert.equal(unknownEmail.text, wrongPassword.text);
  });

  test('password grant wrong password', async () => {
    const reply = await postFormText(url, {
      grant_type: 'password',
      username: 'dev@example.test',
      password: 'not the password',
    });
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('module the platform lacks', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'client_credentials', scope: 'payouts' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_scope');
    assert.match(String(reply.body.error_description), /payouts/);
    assert.equal(reply.body.access_token, undefined);
  });

  test('scope with an unknown module', async () => {
    const reply = await postFormText(
      url,
      { grant_type: 'client_credentials', scope: 'demo nosuchmodule' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_scope');
  });

  test('user scope the platform lacks', async () => {
    const reply = await postFormText(url, {
      grant_type: 'user_credentials',
      email: 'dev@example.test',
      password,
      scope: 'payouts',
    });
    assertOAuthError(reply, 400, 'invalid_scope');
  });

  test('user of a staging platform on production', async () => {
    const reply = await postFormText(`${gp.production}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'dev@example.test',
      password,
    });
    assertOAuthError(reply, 400, 'unauthorized_client');
    assert.equal(reply.body.access_token, undefined);
  });

  test('user sign-in with another client', async () => {
    const other = await gp.board('Other Platform');
    const reply = await postFormText(
      url,
      { grant_type: 'user_credentials', email: 'dev@example.test', password },
      { authorization: basic(other.client_id, other.client_secret) },
    );
    assertOAuthError(reply, 400, 'unauthorized_client');
    assert.equal(reply.body.access_token, undefined);
  });

  test('user sign-in with a wrong client secret', async () => {
    const other = await gp.board('Third Platform');
    const reply = await postFormText(
      url,
      { grant_type: 'user_credentials', email: 'dev@example.test', password },
      { authorization: basic(platform.client_id, other.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('unknown route is JSON 404', async () => {
    const reply = await postFormText(`${gp.staging}/v1/auth/nothing`, { grant_type: 'x' });
    assert.equal(reply.status, 404);
    assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  });
});
