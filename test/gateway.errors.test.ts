import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generateSecret } from '../src/domain/secrets.js';
import type { BoardingResult, IssuedCredentials } from '../src/services/platforms.js';
import {
  basic,
  gatewayHeaders,
  OPERATOR,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

interface CallResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(url: string, init: RequestInit = {}): Promise<CallResult> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { unparsed: text };
  }
  return { status: response.status, headers: response.headers, body };
}

/** Assert that `result` is the gateway's JSON error with `status` and `code`. */
function assertError(result: CallResult, status: number, code: string): void {
  assert.equal(
    result.status,
    status,
    `expected ${status} ${code}, got ${JSON.stringify(result.body)}`,
  );
  assert.equal(result.body.code, code);
  assert.match(result.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(result.body).sort(), ['code', 'message', 'request_id']);
  assert.equal(typeof result.body.message, 'string');
  assert.ok(result.headers.get('x-request-id'), 'the response must carry X-Request-Id');
  assert.equal(result.body.request_id, result.headers.get('x-request-id'));
}

function assertInvalidTokenChallenge(result: CallResult): void {
  const challenge = result.headers.get('www-authenticate') ?? '';
  assert.match(challenge, /^Bearer\b/);
  assert.match(challenge, /error="invalid_token"/);
}

async function accessTokenFor(base: string, credentials: IssuedCredentials): Promise<string> {
  const response = await postForm(
    `${base}/v1/auth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basic(credentials.client_id, credentials.client_secret) },
  );
  assert.equal(response.status, 200, 'the token API must issue an access token');
  return String(response.body.access_token);
}

/** Module and provider secret headers of `credentials` for `module`. */
function secretHeaders(credentials: IssuedCredentials, module = 'demo'): Record<string, string> {
  const secrets = credentials.modules[module];
  const headers: Record<string, string> = {};
  if (secrets?.module_secret) headers['x-module-secret'] = secrets.module_secret;
  if (secrets?.provider_secret) headers['x-provider-secret'] = secrets.provider_secret;
  return headers;
}

function clientHeaders(credentials: IssuedCredentials, module = 'demo'): Record<string, string> {
  return {
    'x-client-id': credentials.client_id,
    'x-client-secret': credentials.client_secret,
    ...secretHeaders(credentials, module),
  };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Return a port of 127.0.0.1 that nothing listens on, found by binding it once and releasing it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gateway error replies', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let otherPlatform: BoardingResult;
  let accessToken: string;
  /**
   * Upstream that never completes a response: it sends nothing at all, or on the paths below,
   * the headers and part of a 100-byte body, then stalls or closes the connection.
   */
  let slowUpstream: Server;
  /** Settles when the gateway closes the connection of each request the slow upstream holds. */
  const slowConnectionsClosed: Array<Promise<void>> = [];

  before(async () => {
    slowUpstream = createServer((request, response) => {
      if (request.url === '/stalled-body' || request.url === '/cut-body') {
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        response.write('0123456789', () => {
          if (request.url === '/cut-body') response.socket?.destroy();
        });
        return;
      }
      slowConnectionsClosed.push(
        new Promise((resolve) => request.socket.once('close', () => resolve())),
      );
    });
    const slowPort = await listen(slowUpstream);
    const refusedUrl = `http://127.0.0.1:${await closedPort()}`;
    const slowUrl = `http://127.0.0.1:${slowPort}`;
    gp = await startTestGatepass({
      settings: {
        modules: [
          {
            id: 'demo',
            name: 'Demo',
            prefix: '/demo',
            upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
            requiresProviderSecret: true,
          },
          {
            id: 'reports',
            name: 'Reports',
            prefix: '/reports',
            upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
          },
          {
            id: 'refused',
            name: 'Refused',
            prefix: '/refused',
            upstreams: { staging: refusedUrl, production: refusedUrl },
          },
          {
            id: 'slow',
            name: 'Slow',
            prefix: '/slow',
            upstreams: { staging: slowUrl, production: slowUrl },
            timeoutMs: 300,
          },
        ],
      },
    });
    platform = await gp.board('Acme Retail', ['demo', 'refused', 'slow']);
    otherPlatform = await gp.board('Globex', ['demo']);
    accessToken = await accessTokenFor(gp.staging, platform);
  });
  after(async () => {
    await gp.close();
    slowUpstream.closeAllConnections();
    await new Promise<void>((resolve) => slowUpstream.close(() => resolve()));
  });

  const demo = () => `${gp.staging}/demo/resource`;
  const bearer = (token: string): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    ...secretHeaders(platform),
  });

  test('missing credentials returns 401', async () => {
    const result = await call(demo());
    assertError(result, 401, 'missing_credentials');
    const challenge = result.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer\b/);
    assert.doesNotMatch(challenge, /error=/);
  });

  test('client id without secret returns 401', async () => {
    const result = await call(demo(), {
      headers: { 'x-client-id': platform.client_id, ...secretHeaders(platform) },
    });
    assertError(result, 401, 'missing_credentials');
  });

  test('wrong client secret returns 401', async () => {
    const result = await call(demo(), {
      headers: { ...clientHeaders(platform), 'x-client-secret': otherPlatform.client_secret },
    });
    assertError(result, 401, 'invalid_credentials');
  });

  test('malformed client secret returns 401', async () => {
    const result = await call(demo(), {
      headers: { ...clientHeaders(platform), 'x-client-secret': 'not-a-secret' },
    });
    assertError(result, 401, 'invalid_credentials');
  });

  test('unknown client matches wrong secret', async () => {
    const unknown = await call(demo(), {
      headers: {
        ...clientHeaders(platform),
        'x-client-id': 'gpc_test_000000000000000000000000',
      },
    });
    const wrong = await call(demo(), {
      headers: { ...clientHeaders(platform), 'x-client-secret': otherPlatform.client_secret },
    });
    assertError(unknown, 401, 'invalid_credentials');
    assert.equal(unknown.body.message, wrong.body.message);
  });

  test('garbage bearer tokens return 401', async () => {
    const tokens = {
      abc: 'abc',
      'three dots': 'a.b.c',
      empty: '',
      '10 KB garbage': 'x7Q-'.repeat(2560),
      '10 KB punctuation': '!#$%&*()[]{}'.repeat(853),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const result = await call(demo(), { headers: bearer(token) });
      assert.equal(result.status, 401, `${name} token`);
      assert.equal(result.body.code, 'invalid_token', `${name} token`);
      assert.match(
        result.headers.get('www-authenticate') ?? '',
        /^Bearer\b.*error="invalid_token"/,
        `${name} token`,
      );
    }
  });

  test('alg none tokens return 401', async () => {
    const claims = decodeJwt(accessToken);
    for (const alg of ['none', 'None', 'NONE']) {
      const token = `${base64url({ alg, typ: 'at+jwt' })}.${base64url(claims)}.`;
      const result = await call(demo(), { headers: bearer(token) });
      assert.equal(result.status, 401, `alg ${alg}`);
      assert.equal(result.body.code, 'invalid_token', `alg ${alg}`);
      assertInvalidTokenChallenge(result);
    }
  });

  test('unsigned token body returns 401', async () => {
    const result = await call(demo(), { headers: bearer(accessToken.replace(/\.[^.]*$/, '.')) });
    assertError(result, 401, 'invalid_token');
    assertInvalidTokenChallenge(result);
  });

  test('tampered token claims return 401', async () => {
    const [header, , signature] = accessToken.split('.');
    const claims = { ...decodeJwt(accessToken), platform: otherPlatform.platform.id };
    const result = await call(demo(), {
      headers: bearer(`${header}.${base64url(claims)}.${signature}`),
    });
    assertError(result, 401, 'invalid_token');
  });

  test('invalid token body has no library text', async () => {
    const result = await call(demo(), { headers: bearer('a.b.c') });
    assertError(result, 401, 'invalid_token');
    assert.doesNotMatch(String(result.body.message), /ERR_|JWS|JWT[A-Z]|Error/);
  });

  test('missing module secret returns 401', async () => {
    const { 'x-module-secret': _omitted, ...headers } = clientHeaders(platform);
    const result = await call(demo(), { headers });
    assertError(result, 401, 'missing_module_secret');
    assert.match(String(result.body.message), /x-module-secret header/);
  });

  test('wrong module secret returns 401', async () => {
    const result = await call(demo(), {
      headers: {
        ...clientHeaders(platform),
        'x-module-secret': generateSecret('module', 'staging'),
      },
    });
    assertError(result, 401, 'invalid_module_secret');
  });

  test('mistyped module secret returns 401', async () => {
    const secret = platform.modules.demo?.module_secret ?? '';
    const mistyped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const result = await call(demo(), {
      headers: { ...clientHeaders(platform), 'x-module-secret': mistyped },
    });
    assertError(result, 401, 'invalid_module_secret');
  });

  test('provider secret as module secret', async () => {
    const result = await call(demo(), {
      headers: {
        ...clientHeaders(platform),
        'x-module-secret': platform.modules.demo?.provider_secret ?? '',
      },
    });
    assertError(result, 401, 'invalid_module_secret');
  });

  test('module secret failure keeps token valid', async () => {
    const { 'x-module-secret': _omitted, ...headers } = bearer(accessToken);
    const result = await call(demo(), { headers });
    assertError(result, 401, 'missing_module_secret');
    assert.doesNotMatch(result.headers.get('www-authenticate') ?? '', /invalid_token/);
  });

  test('missing provider secret returns 401', async () => {
    const { 'x-provider-secret': _omitted, ...headers } = clientHeaders(platform);
    const result = await call(demo(), { headers });
    assertError(result, 401, 'missing_provider_secret');
  });

  test('wrong provider secret returns 401', async () => {
    const result = await call(demo(), {
      headers: {
        ...clientHeaders(platform),
        'x-provider-secret': generateSecret('provider', 'staging'),
      },
    });
    assertError(result, 401, 'invalid_provider_secret');
  });

  test('missing provider secret with JWT', async () => {
    const { 'x-provider-secret': _omitted, ...headers } = bearer(accessToken);
    const result = await call(demo(), { headers });
    assertError(result, 401, 'missing_provider_secret');
  });

  test('staging credentials on production return 403', async () => {
    const result = await call(`${gp.production}/demo/resource`, {
      headers: clientHeaders(platform),
    });
    assertError(result, 403, 'wrong_environment');
    assert.match(String(result.body.message), /staging environment/);
  });

  test('staging JWT on production returns 401', async () => {
    const result = await call(`${gp.production}/demo/resource`, { headers: bearer(accessToken) });
    assertError(result, 401, 'invalid_token');
    assert.match(String(result.body.message), /staging environment/);
    assertInvalidTokenChallenge(result);
  });

  test('module not enabled returns 403', async () => {
    const result = await call(`${gp.staging}/reports/daily`, { headers: clientHeaders(platform) });
    assertError(result, 403, 'module_not_enabled');
  });

  test('module not enabled with JWT', async () => {
    const result = await call(`${gp.staging}/reports/daily`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assertError(result, 403, 'module_not_enabled');
  });

  test('token scope excludes module', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials', scope: 'demo' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(response.status, 200);
    const result = await call(`${gp.staging}/refused/x`, {
      headers: {
        authorization: `Bearer ${response.body.access_token}`,
        ...secretHeaders(platform, 'refused'),
      },
    });
    assertError(result, 403, 'module_not_in_scope');
  });

  test('both credential methods return 400', async () => {
    const result = await call(demo(), {
      headers: { ...clientHeaders(platform), authorization: `Bearer ${accessToken}` },
    });
    assertError(result, 400, 'multiple_credentials');
  });

  test('refused upstream returns 502', async () => {
    const result = await call(`${gp.staging}/refused/x`, {
      headers: clientHeaders(platform, 'refused'),
    });
    assertError(result, 502, 'upstream_unavailable');
  });

  test('slow upstream returns 504', async () => {
    const result = await call(`${gp.staging}/slow/x`, { headers: clientHeaders(platform, 'slow') });
    assertError(result, 504, 'upstream_timeout');
  });

  test('slow upstream connection is cut', async () => {
    const held = slowConnectionsClosed.length;
    const result = await call(`${gp.staging}/slow/y`, { headers: clientHeaders(platform, 'slow') });
    assertError(result, 504, 'upstream_timeout');
    assert.equal(slowConnectionsClosed.length, held + 1, 'the upstream received the call');
    let timer: NodeJS.Timeout | undefined;
    const stillOpen = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still open'), 5_000);
    });
    const outcome = await Promise.race([
      slowConnectionsClosed[held]?.then(() => 'closed'),
      stillOpen,
    ]);
    clearTimeout(timer);
    assert.equal(outcome, 'closed', 'the gateway left the timed-out upstream connection open');
  });

  test('stalled upstream body returns 504', async () => {
    const result = await call(`${gp.staging}/slow/stalled-body`, {
      headers: clientHeaders(platform, 'slow'),
    });
    assertError(result, 504, 'upstream_timeout');
  });

  test('cut-off upstream body returns 502', async () => {
    const result = await call(`${gp.staging}/slow/cut-body`, {
      headers: clientHeaders(platform, 'slow'),
    });
    assertError(result, 502, 'upstream_unavailable');
  });

  test('large body returns 413', async () => {
    const limited = await startTestGatepass({ settings: { 'gateway.bodyLimit': 1024 } });
    try {
      const board = await limited.board();
      const result = await call(`${limited.staging}/demo/upload`, {
        method: 'POST',
        headers: { ...gatewayHeaders(board), 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(4096, 1),
      });
      assertError(result, 413, 'payload_too_large');
    } finally {
      await limited.close();
    }
  });

  test('bad input never returns 5xx', async () => {
    const inputs: Record<string, Record<string, string>> = {
      'Basic empty pair': { authorization: 'Basic Og==' },
      'Basic not base64': { authorization: 'Basic !!!notbase64' },
      'Basic without value': { authorization: 'Basic' },
      'scheme only': { authorization: 'Bearer' },
      'token with spaces': { authorization: 'Bearer a b c' },
      'latin-1 token': { authorization: 'Bearer \u00e9\u00e8' },
      'empty client id': { 'x-client-id': '', 'x-client-secret': platform.client_secret },
      'long client id': { 'x-client-id': 'x'.repeat(8000), 'x-client-secret': 'y' },
      'latin-1 client secret': {
        'x-client-id': platform.client_id,
        'x-client-secret': '\u00ff'.repeat(100),
      },
      'repeated client id': {
        'x-client-id': `${platform.client_id}, ${platform.client_id}`,
        'x-client-secret': platform.client_secret,
      },
      'latin-1 module secret': {
        'x-client-id': platform.client_id,
        'x-client-secret': platform.client_secret,
        'x-module-secret': '\u00e9',
      },
      'production secret kind': {
        'x-client-id': platform.client_id,
        'x-client-secret': generateSecret('client', 'production'),
      },
      'module secret as client secret': {
        'x-client-id': platform.client_id,
        'x-client-secret': platform.modules.demo?.module_secret ?? '',
      },
    };
    for (const [name, headers] of Object.entries(inputs)) {
      const result = await call(demo(), { headers });
      assert.ok(result.status < 500, `${name} returned ${result.status}`);
      assert.equal(typeof result.body.code, 'string', `${name} must return a JSON error`);
    }
  });
});

describe('gateway across environments', () => {
  let gp: TestGatepass;
  let staging: BoardingResult;
  let production: IssuedCredentials;

  before(async () => {
    gp = await startTestGatepass();
    staging = await gp.board();
    const { context } = gp.running;
    ({ credentials: production } = await context.platforms.issueEnvironment(
      context.store,
      staging.platform.id,
      'production',
      ['demo'],
    ));
  });
  after(() => gp.close());

  test('production credentials on production', async () => {
    const result = await call(`${gp.production}/demo/resource`, {
      headers: clientHeaders(production),
    });
    assert.equal(result.status, 200);
    assert.equal(result.body.environment, 'production');
  });

  test('production credentials on staging return 403', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: clientHeaders(production),
    });
    assertError(result, 403, 'wrong_environment');
    assert.match(String(result.body.message), /production environment/);
  });

  test('production JWT on staging returns 401', async () => {
    const token = await accessTokenFor(gp.production, production);
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${token}`, ...secretHeaders(staging) },
    });
    assertError(result, 401, 'invalid_token');
    assert.match(String(result.body.message), /production environment/);
  });

  test('staging module secret on production', async () => {
    const result = await call(`${gp.production}/demo/resource`, {
      headers: {
        ...clientHeaders(production),
        'x-module-secret': staging.modules.demo?.module_secret ?? '',
      },
    });
    assertError(result, 403, 'wrong_environment');
    assert.match(String(result.body.message), /staging environment/);
  });

  test('staging client id with production secret', async () => {
    const result = await call(`${gp.production}/demo/resource`, {
      headers: { ...clientHeaders(production), 'x-client-id': staging.client_id },
    });
    assert.equal(result.status, 403);
    assert.equal(result.body.code, 'wrong_environment');
  });
});

describe('gateway with suspended platform', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  /** Issued at least a second before the suspension. */
  let olderToken: string;
  /** Issued just before the suspension, usually in the same second. */
  let recentToken: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    olderToken = await accessTokenFor(gp.staging, platform);
    await sleep(1100);
    recentToken = await accessTokenFor(gp.staging, platform);
    const warmUp = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${recentToken}`, ...secretHeaders(platform) },
    });
    assert.equal(warmUp.status, 200, 'the token must work before the suspension');
    await gp.running.context.platforms.suspend(platform.platform.id, OPERATOR);
  });
  after(() => gp.close());

  test('client headers return 403', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: clientHeaders(platform) });
    assertError(result, 403, 'platform_suspended');
  });

  test('older access token returns 403', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${olderToken}`, ...secretHeaders(platform) },
    });
    assertError(result, 403, 'platform_suspended');
  });

  test('recent access token returns 403', async () => {
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${recentToken}`, ...secretHeaders(platform) },
    });
    assertError(result, 403, 'platform_suspended');
  });

  test('suspended call is logged', async () => {
    const result = await call(`${gp.staging}/demo/resource`, { headers: clientHeaders(platform) });
    await gp.running.context.requestLog.flush();
    const rows = await gp.running.context.store.requestLog.list({
      platformId: platform.platform.id,
    });
    const row = rows.find((r) => r.request_id === result.headers.get('x-request-id'));
    assert.ok(row, 'a call refused for suspension must have a request-log row');
    assert.equal(row.status, 403);
    assert.equal(row.error_code, 'platform_suspended');
  });

  test('older token rejected after resume', async () => {
    await gp.running.context.platforms.resume(platform.platform.id, OPERATOR);
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${olderToken}`, ...secretHeaders(platform) },
    });
    assertError(result, 401, 'invalid_token');
  });
});

describe('gateway with expired access token', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({
      settings: { 'tokens.accessTokenTtl': 1, 'tokens.clockToleranceSeconds': 0 },
    });
    platform = await gp.board();
  });
  after(() => gp.close());

  test('expired token returns 401', async () => {
    const token = await accessTokenFor(gp.staging, platform);
    await sleep(2200);
    const result = await call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${token}`, ...secretHeaders(platform) },
    });
    assertError(result, 401, 'invalid_token');
    assertInvalidTokenChallenge(result);
    assert.match(String(result.body.message), /expired/);
  });

  test('token used before expiry fails after', async () => {
    // JWT times are whole seconds, so a token issued late in a second expires almost at once.
    await sleep(1020 - (Date.now() % 1000));
    const token = await accessTokenFor(gp.staging, platform);
    const headers = { authorization: `Bearer ${token}`, ...secretHeaders(platform) };
    const fresh = await call(`${gp.staging}/demo/resource`, { headers });
    assert.equal(fresh.status, 200);
    await sleep(2200);
    const expired = await call(`${gp.staging}/demo/resource`, { headers });
    assertError(expired, 401, 'invalid_token');
  });
});

describe('gateway with minted tokens', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  /** Claims of a real access token, to copy and change. */
  let claims: Record<string, unknown>;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    claims = decodeJwt(await accessTokenFor(gp.staging, platform));
  });
  after(() => gp.close());

  /**
   * Sign the real claims with `changes` applied, using the staging key. An undefined value
   * removes the claim.
   */
  async function mint(changes: Record<string, unknown>, type = 'at+jwt'): Promise<string> {
    const minted: Record<string, unknown> = { ...claims, jti: `minted-${Math.random()}` };
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete minted[name];
      else minted[name] = value;
    }
    return gp.running.context.keyrings.staging.sign(minted, type);
  }

  async function callWith(token: string): Promise<CallResult> {
    return call(`${gp.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${token}`, ...secretHeaders(platform) },
    });
  }

  const nowSeconds = () => Math.floor(Date.now() / 1000);

  test('unchanged minted token returns 200', async () => {
    const result = await callWith(await mint({}));
    assert.equal(result.status, 200);
  });

  test('iat and nbf within leeway accepted', async () => {
    const soon = nowSeconds() + 5;
    const result = await callWith(await mint({ iat: soon, nbf: soon }));
    assert.equal(result.status, 200);
  });

  test('iat an hour ahead returns 401', async () => {
    const later = nowSeconds() + 3600;
    const result = await callWith(await mint({ iat: later, nbf: later - 3590 }));
    assertError(result, 401, 'invalid_token');
  });

  test('nbf an hour ahead returns 401', async () => {
    const result = await callWith(await mint({ nbf: nowSeconds() + 3600 }));
    assertError(result, 401, 'invalid_token');
  });

  test('exp within leeway accepted', async () => {
    // The default clock tolerance is 30 seconds.
    const result = await callWith(await mint({ exp: nowSeconds() - 5 }));
    assert.equal(result.status, 200);
  });

  test('exp past leeway returns 401', async () => {
    const result = await callWith(await mint({ exp: nowSeconds() - 31 }));
    assertError(result, 401, 'invalid_token');
    assert.match(String(result.body.message), /expired/);
  });

  for (const claim of ['iss', 'aud', 'exp', 'iat', 'jti', 'client_id', 'platform', 'env']) {
    test(`missing ${claim} returns 401`, async () => {
      const result = await callWith(await mint({ [claim]: undefined }));
      assertError(result, 401, 'invalid_token');
    });
  }

  test('wrong audience returns 401', async () => {
    const result = await callWith(await mint({ aud: 'https://elsewhere.example.test' }));
    assertError(result, 401, 'invalid_token');
  });

  test('wrong issuer returns 401', async () => {
    const result = await callWith(await mint({ iss: gp.production }));
    assertError(result, 401, 'invalid_token');
  });

  test('production env claim returns 401', async () => {
    const result = await callWith(await mint({ env: 'production' }));
    assert.equal(result.status, 401);
  });

  test('other JWT types return 401', async () => {
    for (const type of ['JWT', 'gatepass-assertion+jwt', 'refresh+jwt']) {
      const result = await callWith(await mint({}, type));
      assert.equal(result.status, 401, `typ ${type}`);
    }
  });

  test('other platform in claims returns 401', async () => {
    const other = await gp.board('Globex');
    const result = await callWith(await mint({ platform: other.platform.id }));
    assert.equal(result.status, 401);
  });
});

describe('gateway after key rotation', () => {
  let first: TestGatepass;
  let second: TestGatepass;
  let platform: BoardingResult;
  let oldToken: string;
  /** Reloads of the second instance's signing keys from the store. */
  let keyReloads = 0;

  before(async () => {
    // Two instances share one database, as behind a load balancer, so tokens name one issuer.
    const settings = { 'environments.staging.publicUrl': 'http://staging.gatepass.test' };
    first = await startTestGatepass({ settings });
    second = await startTestGatepass({ settings, dataDir: first.dataDir });
    platform = await first.board();
    oldToken = await accessTokenFor(first.staging, platform);

    const keys = second.running.context.store.signingKeys;
    const published = keys.published.bind(keys);
    keys.published = (environment, now) => {
      keyReloads++;
      return published(environment, now);
    };
    await first.running.context.keyrings.staging.rotate(0);
  });
  after(async () => {
    await second.stop();
    await first.close();
  });

  const callSecond = (token: string) =>
    call(`${second.staging}/demo/resource`, {
      headers: { authorization: `Bearer ${token}`, ...secretHeaders(platform) },
    });

  test('new key token works on other instance', async () => {
    const token = await accessTokenFor(first.staging, platform);
    assert.notEqual(decodeProtectedHeader(token).kid, decodeProtectedHeader(oldToken).kid);
    const result = await callSecond(token);
    assert.equal(result.status, 200);
  });

  test('old key token still works', async () => {
    const result = await callSecond(oldToken);
    assert.equal(result.status, 200);
  });

  test('random kids return 401 without reloads', async () => {
    const [, payload, signature] = oldToken.split('.');
    const reloadsBefore = keyReloads;
    for (let i = 0; i < 100; i++) {
      const header = base64url({ alg: 'EdDSA', kid: `test-random${i}`, typ: 'at+jwt' });
      const result = await callSecond(`${header}.${payload}.${signature}`);
      assert.equal(result.status, 401, `kid ${i}`);
    }
    assert.ok(keyReloads - reloadsBefore <= 2, `${keyReloads - reloadsBefore} key reloads`);
  });
});

describe('gateway with expiring secrets', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  async function expireSecret(
    secret: { kind: string; moduleId?: string },
    platformId: string,
    at: number,
  ) {
    let update = gp.running.context.store.db
      .updateTable('secrets')
      .set({ expires_at: at })
      .where('platform_id', '=', platformId)
      .where('kind', '=', secret.kind as 'client' | 'module' | 'provider');
    if (secret.moduleId) update = update.where('module_id', '=', secret.moduleId);
    await update.execute();
  }

  test('expired client secret returns 401', async () => {
    const platform = await gp.board('Expired Client Co');
    await expireSecret({ kind: 'client' }, platform.platform.id, Date.now() - 1000);
    const result = await call(`${gp.staging}/demo/resource`, { headers: clientHeaders(platform) });
    assertError(result, 401, 'invalid_credentials');
  });

  test('expired module secret returns 401', async () => {
    const platform = await gp.board('Expired Module Co');
    await expireSecret(
      { kind: 'module', moduleId: 'demo' },
      platform.platform.id,
      Date.now() - 1000,
    );
    const result = await call(`${gp.staging}/demo/resource`, { headers: clientHeaders(platform) });
    assertError(result, 401, 'invalid_module_secret');
  });

  test('cached secret expires on time', async () => {
    const platform = await gp.board('Expiring Co');
    await expireSecret({ kind: 'client' }, platform.platform.id, Date.now() + 1000);
    const before = await call(`${gp.staging}/demo/resource`, { headers: clientHeaders(platform) });
    assert.equal(before.status, 200);
    await sleep(1200);
    const result = await call(`${gp.staging}/demo/resource`, { headers: clientHeaders(platform) });
    assertError(result, 401, 'invalid_credentials');
  });
});
