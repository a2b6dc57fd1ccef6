import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { BoardingResult } from '../src/services/platforms.js';
import {
  basic,
  gatewayHeaders,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

interface Echo {
  environment: string | null;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  identity: Record<string, string>;
  received_headers: string[];
}

interface CallResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const CREDENTIAL_HEADERS = [
  'authorization',
  'x-client-id',
  'x-client-secret',
  'x-module-secret',
  'x-provider-secret',
];

async function call(url: string, init: RequestInit = {}): Promise<CallResult> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}

function echoOf(result: CallResult): Echo {
  return result.body as unknown as Echo;
}

async function clientCredentialsToken(gp: TestGatepass, board: BoardingResult): Promise<string> {
  const response = await postForm(
    `${gp.staging}/v1/auth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basic(board.client_id, board.client_secret) },
  );
  assert.equal(response.status, 200, 'the token API must issue an access token');
  return String(response.body.access_token);
}

/** Module and provider secrets of `board`, without the client headers. */
function moduleSecrets(board: BoardingResult): Record<string, string> {
  const { 'x-client-id': _id, 'x-client-secret': _secret, ...secrets } = gatewayHeaders(board);
  return secrets;
}

describe('gateway with valid credentials', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let accessToken: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    accessToken = await clientCredentialsToken(gp, platform);
  });
  after(() => gp.close());

  const jwtHeaders = () => ({
    authorization: `Bearer ${accessToken}`,
    ...moduleSecrets(platform),
  });

  test('JWT call returns 200', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: jwtHeaders() });
    assert.equal(result.status, 200);
    assert.equal(echoOf(result).environment, 'staging');
  });

  test('client headers call returns 200', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    assert.equal(result.status, 200);
    assert.equal(echoOf(result).environment, 'staging');
  });

  test('JWT call sends identity headers', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: jwtHeaders() });
    const { identity } = echoOf(result);
    assert.equal(identity['x-gatepass-platform'], platform.platform.id);
    assert.equal(identity['x-gatepass-environment'], 'staging');
    assert.equal(identity['x-gatepass-module'], 'demo');
    assert.equal(identity['x-gatepass-auth-method'], 'jwt');
    assert.equal(identity['x-gatepass-client-id'], platform.client_id);
    assert.equal(identity['x-request-id'], result.headers.get('x-request-id'));
  });

  test('client headers call sends identity headers', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    const { identity } = echoOf(result);
    assert.equal(identity['x-gatepass-platform'], platform.platform.id);
    assert.equal(identity['x-gatepass-environment'], 'staging');
    assert.equal(identity['x-gatepass-module'], 'demo');
    assert.equal(identity['x-gatepass-auth-method'], 'client_secret');
    assert.equal(identity['x-gatepass-client-id'], platform.client_id);
    assert.equal(identity['x-request-id'], result.headers.get('x-request-id'));
  });

  test('assertion verifies against staging JWKS', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: jwtHeaders() });
    const assertion = echoOf(result).identity['x-gatepass-assertion'];
    assert.ok(assertion, 'the upstream must receive x-gatepass-assertion');

    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(assertion, jwks, {
      issuer: gp.staging,
      audience: 'demo',
      typ: 'gatepass-assertion+jwt',
    });
    assert.equal(protectedHeader.typ, 'gatepass-assertion+jwt');
    assert.equal(payload.platform, platform.platform.id);
    assert.equal(payload.env, 'staging');
    assert.equal(payload.module, 'demo');
    assert.equal(payload.client_id, platform.client_id);
    assert.equal(payload.auth_method, 'jwt');
  });

  test('assertion fails production JWKS', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    const assertion = echoOf(result).identity['x-gatepass-assertion'] ?? '';
    const jwks = createRemoteJWKSet(new URL(`${gp.production}/.well-known/jwks.json`));
    await assert.rejects(jwtVerify(assertion, jwks, { issuer: gp.staging, audience: 'demo' }));
  });

  test('assertion is not an access token', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    const assertion = echoOf(result).identity['x-gatepass-assertion'] ?? '';
    assert.equal(decodeProtectedHeader(assertion).typ, 'gatepass-assertion+jwt');

    const replayed = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${assertion}`, ...moduleSecrets(platform) },
    });
    assert.equal(replayed.status, 401);
  });

  test('JWT call drops credential headers', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: jwtHeaders() });
    const received = echoOf(result).received_headers;
    for (const name of CREDENTIAL_HEADERS)
      assert.ok(!received.includes(name), `${name} must not reach the upstream`);
  });

  test('client headers call drops credential headers', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    const received = echoOf(result).received_headers;
    for (const name of CREDENTIAL_HEADERS)
      assert.ok(!received.includes(name), `${name} must not reach the upstream`);
  });

  test('credential values never reach upstream', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: jwtHeaders() });
    const echoed = JSON.stringify(result.body);
    const secrets = [accessToken, ...Object.values(moduleSecrets(platform))];
    for (const secret of secrets)
      assert.ok(!echoed.includes(secret), 'a credential value reached the upstream');
  });

  test('client identity headers are replaced', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: {
        ...gatewayHeaders(platform),
        'x-gatepass-platform': 'plt_forged',
        'x-gatepass-user': 'usr_forged',
        'x-gatepass-auth-method': 'jwt',
      },
    });
    const { identity } = echoOf(result);
    assert.equal(identity['x-gatepass-platform'], platform.platform.id);
    assert.equal(identity['x-gatepass-user'], undefined);
    assert.equal(identity['x-gatepass-auth-method'], 'client_secret');
  });

  test('client request id is replaced', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { ...gatewayHeaders(platform), 'x-request-id': 'req_forged' },
    });
    assert.notEqual(result.headers.get('x-request-id'), 'req_forged');
    assert.equal(echoOf(result).identity['x-request-id'], result.headers.get('x-request-id'));
  });

  test('method, query and JSON body arrive', async () => {
    const sent = { amount: 1250, currency: 'EUR', note: 'ünïcode & "quotes"', tags: ['a', 'b'] };
    const result = await call(`${gp.staging}/demo/transfers/42?limit=5&q=a%20b`, {
      method: 'POST',
      headers: { ...jwtHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify(sent),
    });
    const echo = echoOf(result);
    assert.equal(result.status, 200);
    assert.equal(echo.method, 'POST');
    assert.equal(echo.path, '/transfers/42');
    assert.deepEqual(echo.query, { limit: '5', q: 'a b' });
    assert.deepEqual(echo.body, sent);
  });

  test('large response streams back whole', async () => {
    // The echo of a 40,000-character body is larger than the responses the gateway reads whole.
    const note = 'x'.repeat(40_000);
    const result = await call(`${gp.staging}/demo/large`, {
      method: 'POST',
      headers: { ...jwtHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ note }),
    });
    assert.equal(result.status, 200);
    assert.ok(Number(result.headers.get('content-length')) > 40_000);
    assert.deepEqual(echoOf(result).body, { note });
  });

  test('PUT, PATCH and DELETE arrive', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const result = await call(`${gp.staging}/demo/items/7`, {
        method,
        headers: gatewayHeaders(platform),
      });
      assert.equal(echoOf(result).method, method);
    }
  });

  test('module root path forwards as slash', async () => {
    const result = await call(`${gp.staging}/demo?page=2`, { headers: gatewayHeaders(platform) });
    const echo = echoOf(result);
    assert.equal(echo.path, '/');
    assert.deepEqual(echo.query, { page: '2' });
  });

  test('success carries X-Request-Id', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    assert.match(result.headers.get('x-request-id') ?? '', /^req_[0-9A-Za-z]{20}$/);
  });

  test('each call gets its own request id', async () => {
    const first = await call(`${gp.staging}/demo/a`, { headers: gatewayHeaders(platform) });
    const second = await call(`${gp.staging}/demo/a`, { headers: gatewayHeaders(platform) });
    assert.notEqual(first.headers.get('x-request-id'), second.headers.get('x-request-id'));
  });

  test('user token sends user headers', async () => {
    const user = await gp.addUser(platform.platform.id, 'dev@example.test', 'correct horse 42');
    const token = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'dev@example.test',
      password: 'correct horse 42',
    });
    assert.equal(token.status, 200);

    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${token.body.access_token}`, ...moduleSecrets(platform) },
    });
    const { identity } = echoOf(result);
    assert.equal(result.status, 200);
    assert.equal(identity['x-gatepass-user'], user.id);
    assert.equal(identity['x-gatepass-user-email'], 'dev@example.test');
    assert.equal(identity['x-gatepass-auth-method'], 'jwt');
  });
});

describe('gateway request log', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let accessToken: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    accessToken = await clientCredentialsToken(gp, platform);
  });
  after(() => gp.close());

  async function rowFor(requestId: string | null) {
    await gp.running.context.requestLog.flush();
    const rows = await gp.running.context.store.requestLog.list({ limit: 1000 });
    return rows.find((row) => row.request_id === requestId);
  }

  test('client headers call is logged', async () => {
    const result = await call(`${gp.staging}/demo/orders?page=1`, {
      headers: gatewayHeaders(platform),
    });
    const row = await rowFor(result.headers.get('x-request-id'));
    assert.ok(row, 'the call must have a request-log row');
    assert.equal(row.platform_id, platform.platform.id);
    assert.equal(row.module_id, 'demo');
    assert.equal(row.environment, 'staging');
    assert.equal(row.method, 'GET');
    assert.equal(row.path, '/demo/orders');
    assert.equal(row.status, 200);
    assert.equal(row.auth_method, 'client_secret');
    assert.equal(row.error_code, null);
  });

  test('JWT call is logged', async () => {
    const result = await call(`${gp.staging}/demo/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, ...moduleSecrets(platform) },
    });
    const row = await rowFor(result.headers.get('x-request-id'));
    assert.ok(row, 'the call must have a request-log row');
    assert.equal(row.platform_id, platform.platform.id);
    assert.equal(row.module_id, 'demo');
    assert.equal(row.method, 'POST');
    assert.equal(row.status, 200);
    assert.equal(row.auth_method, 'jwt');
  });

  test('rejected secret call is logged', async () => {
    const result = await call(`${gp.staging}/demo/orders`, {
      headers: { ...gatewayHeaders(platform), 'x-module-secret': 'gp_test_ms_wrong' },
    });
    assert.equal(result.status, 401);
    const row = await rowFor(result.headers.get('x-request-id'));
    assert.ok(row, 'a call rejected after authentication must have a request-log row');
    assert.equal(row.platform_id, platform.platform.id);
    assert.equal(row.status, 401);
    assert.equal(row.auth_method, 'client_secret');
    assert.equal(row.error_code, 'invalid_module_secret');
  });

  test('log rows contain no secret', async () => {
    const secrets = [
      accessToken,
      platform.client_secret,
      ...Object.values(moduleSecrets(platform)),
    ];
    await call(`${gp.staging}/demo/a?access_token=${accessToken}`, {
      headers: gatewayHeaders(platform),
    });
    await call(`${gp.staging}/demo/b?module_secret=${secrets[2]}`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    await call(`${gp.staging}/demo/c`, {
      headers: { authorization: `Bearer ${accessToken}`, ...moduleSecrets(platform) },
    });

    await gp.running.context.requestLog.flush();
    const rows = await gp.running.context.store.requestLog.list({ limit: 1000 });
    assert.ok(rows.length >= 3, 'every call must have a request-log row');
    const stored = JSON.stringify(rows);
    for (const secret of secrets)
      assert.ok(!stored.includes(secret), 'a secret was written to the request log');
  });

  test('log lines contain no secret', async () => {
    const secrets = [
      accessToken,
      platform.client_secret,
      ...Object.values(moduleSecrets(platform)),
    ];
    await call(`${gp.staging}/demo/d?access_token=${accessToken}`, {
      headers: gatewayHeaders(platform),
    });
    await call(`${gp.staging}/demo/e`, {
      headers: { authorization: `Bearer ${accessToken}`, ...moduleSecrets(platform) },
    });
    const lines = gp.logs.join('\n');
    for (const secret of secrets)
      assert.ok(!lines.includes(secret), 'a secret was written to the log');
  });
});
