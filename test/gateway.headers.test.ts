import assert from 'node:assert/strict';
import {
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  request,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult, IssuedCredentials } from '../src/services/platforms.js';
import {
  basic,
  gatewayHeaders,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

interface CallResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * Send a request with node:http, which sends the path exactly as written. fetch would resolve
 * ".." and "%2e%2e" segments and join repeated headers before they reach the server.
 */
function rawCall(
  base: string,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<CallResult> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'GET',
        // Node.js sends an array value as repeated header lines, though the typings allow only
        // a string for some names, such as authorization.
        headers: headers as OutgoingHttpHeaders,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { unparsed: text };
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
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

function secretHeaders(credentials: IssuedCredentials): Record<string, string> {
  const secrets = credentials.modules.demo;
  const headers: Record<string, string> = {};
  if (secrets?.module_secret) headers['x-module-secret'] = secrets.module_secret;
  if (secrets?.provider_secret) headers['x-provider-secret'] = secrets.provider_secret;
  return headers;
}

/** Change the case of the first letter in the token's claims, keeping the signature. */
function flipOneLetter(token: string): string {
  const start = token.indexOf('.') + 1;
  for (let i = start; i < token.length; i++) {
    const char = token.charAt(i);
    const flipped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
    if (flipped !== char) return `${token.slice(0, i)}${flipped}${token.slice(i + 1)}`;
  }
  throw new Error('the token has no letter to change');
}

describe('gateway credential headers', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let otherPlatform: BoardingResult;
  let accessToken: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    otherPlatform = await gp.board('Globex');
    accessToken = await accessTokenFor(gp.staging, platform);
  });
  after(() => gp.close());

  const demo = (path = '/resource') => `${gp.staging}/demo${path}`;

  async function callWithAuthorization(authorization: string) {
    return fetch(demo(), { headers: { authorization, ...secretHeaders(platform) } });
  }

  test('lowercase bearer scheme works', async () => {
    const response = await callWithAuthorization(`bearer ${accessToken}`);
    assert.equal(response.status, 200);
  });

  test('uppercase BEARER scheme works', async () => {
    const response = await callWithAuthorization(`BEARER ${accessToken}`);
    assert.equal(response.status, 200);
  });

  test('two spaces after Bearer work', async () => {
    const response = await callWithAuthorization(`Bearer  ${accessToken}`);
    assert.equal(response.status, 200);
  });

  test('token with changed case fails', async () => {
    const response = await callWithAuthorization(`Bearer ${flipOneLetter(accessToken)}`);
    assert.equal(response.status, 401);
  });

  test('token with changed signature case fails', async () => {
    const last = accessToken.length - 2;
    const char = accessToken.charAt(last);
    const flipped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
    const token = `${accessToken.slice(0, last)}${flipped === char ? '0' : flipped}${accessToken.slice(last + 1)}`;
    const response = await callWithAuthorization(`Bearer ${token}`);
    assert.equal(response.status, 401);
  });

  test('scheme without space fails', async () => {
    const response = await callWithAuthorization(`Bearer${accessToken}`);
    assert.equal(response.status, 401);
  });

  test('query access_token is not read', async () => {
    const response = await fetch(demo(`/resource?access_token=${accessToken}`), {
      headers: secretHeaders(platform),
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 401);
    assert.equal(body.code, 'missing_credentials');
  });

  test('query client credentials are not read', async () => {
    const query = new URLSearchParams({
      client_id: platform.client_id,
      client_secret: platform.client_secret,
      'x-client-id': platform.client_id,
      'x-client-secret': platform.client_secret,
    });
    const response = await fetch(demo(`/resource?${query}`), {
      headers: secretHeaders(platform),
    });
    assert.equal(response.status, 401);
  });

  test('query module secret is not read', async () => {
    const secret = platform.modules.demo?.module_secret ?? '';
    const query = new URLSearchParams({ module_secret: secret, 'x-module-secret': secret });
    const { 'x-module-secret': _omitted, ...headers } = gatewayHeaders(platform);
    const response = await fetch(demo(`/resource?${query}`), { headers });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 401);
    assert.equal(body.code, 'missing_module_secret');
  });

  test('dot segments are rejected', async () => {
    const paths = [
      '/demo/../admin',
      '/demo/a/../../admin',
      '/demo/%2e%2e/admin',
      '/demo/%2E%2E/admin',
      '/demo/.%2e/admin',
      '/demo/a/..',
      '/demo/a/..?page=1',
      '/demo/./resource',
      '/demo/..%2fadmin',
      '/demo/..%5cadmin',
      '/demo/a%2f..%2f..%2fadmin',
    ];
    for (const path of paths) {
      const result = await rawCall(gp.staging, path, gatewayHeaders(platform));
      assert.equal(result.status, 400, `${path} returned ${result.status}`);
      assert.equal(result.body.code, 'invalid_request', path);
    }
  });

  test('encoded module prefix is rejected', async () => {
    for (const path of ['/d%65mo/resource', '/%64emo/x', '/dem%6f']) {
      const result = await rawCall(gp.staging, path, gatewayHeaders(platform));
      assert.equal(result.status, 400, `${path} returned ${JSON.stringify(result.body)}`);
    }
  });

  test('dots inside names are forwarded', async () => {
    const result = await rawCall(
      gp.staging,
      '/demo/files/a..b/.well-known',
      gatewayHeaders(platform),
    );
    assert.equal(result.status, 200);
    assert.equal(result.body.path, '/files/a..b/.well-known');
  });

  test('other platform module secret fails', async () => {
    const response = await fetch(demo(), {
      headers: {
        ...gatewayHeaders(platform),
        'x-module-secret': otherPlatform.modules.demo?.module_secret ?? '',
      },
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 401);
    assert.equal(body.code, 'invalid_module_secret');
  });

  test('other platform provider secret fails', async () => {
    const response = await fetch(demo(), {
      headers: {
        ...gatewayHeaders(platform),
        'x-provider-secret': otherPlatform.modules.demo?.provider_secret ?? '',
      },
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 401);
    assert.equal(body.code, 'invalid_provider_secret');
  });

  test('other platform secrets with JWT fail', async () => {
    const response = await fetch(demo(), {
      headers: { authorization: `Bearer ${accessToken}`, ...secretHeaders(otherPlatform) },
    });
    assert.equal(response.status, 401);
  });

  test('repeated Authorization header is rejected', async () => {
    const result = await rawCall(gp.staging, '/demo/resource', {
      authorization: [`Bearer ${accessToken}`, 'Bearer forged'],
      ...secretHeaders(platform),
    });
    assert.equal(result.status, 400);
    assert.equal(result.body.code, 'invalid_request');
  });

  test('repeated module secret is rejected', async () => {
    const secret = platform.modules.demo?.module_secret ?? '';
    const result = await rawCall(gp.staging, '/demo/resource', {
      ...gatewayHeaders(platform),
      'x-module-secret': [secret, secret],
    });
    assert.equal(result.status, 400);
    assert.equal(result.body.code, 'invalid_request');
  });

  test('connection-listed headers are dropped', async () => {
    const result = await rawCall(gp.staging, '/demo/resource', {
      ...gatewayHeaders(platform),
      connection: 'keep-alive, x-hop-only',
      'x-hop-only': '1',
      'x-end-to-end': '1',
    });
    const received = result.body.received_headers as string[];
    assert.equal(result.status, 200);
    assert.ok(!received.includes('x-hop-only'), 'a header named in Connection was forwarded');
    assert.ok(received.includes('x-end-to-end'), 'an ordinary header was not forwarded');
  });

  test('error replies carry X-Request-Id', async () => {
    const result = await rawCall(gp.staging, '/demo/%2e%2e/admin', gatewayHeaders(platform));
    assert.match(String(result.headers['x-request-id']), /^req_/);
    assert.equal(result.body.request_id, result.headers['x-request-id']);
  });
});

describe('gateway custom header names', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({
      settings: {
        'gateway.headers': {
          clientId: 'X-Api-Client',
          clientSecret: 'x-api-secret',
          moduleSecret: 'x-api-module-key',
          providerSecret: 'X-Api-Provider-Key',
        },
      },
    });
    platform = await gp.board();
  });
  after(() => gp.close());

  const renamedHeaders = () => ({
    'x-api-client': platform.client_id,
    'x-api-secret': platform.client_secret,
    'x-api-module-key': platform.modules.demo?.module_secret ?? '',
    'x-api-provider-key': platform.modules.demo?.provider_secret ?? '',
  });

  test('renamed headers authenticate', async () => {
    const response = await fetch(`${gp.staging}/demo/resource`, { headers: renamedHeaders() });
    assert.equal(response.status, 200);
  });

  test('renamed headers are not forwarded', async () => {
    const response = await fetch(`${gp.staging}/demo/resource`, { headers: renamedHeaders() });
    const body = (await response.json()) as { received_headers: string[] };
    for (const name of Object.keys(renamedHeaders()))
      assert.ok(!body.received_headers.includes(name), `${name} must not reach the upstream`);
  });

  test('default names are not read', async () => {
    const response = await fetch(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(platform),
    });
    assert.equal(response.status, 401);
  });
});

describe('gateway response headers', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let upstream: Server;

  before(async () => {
    upstream = createServer((_request, response) => {
      response.setHeader('x-request-id', 'upstream-request-1');
      response.setHeader('x-upstream-header', 'kept');
      response.setHeader('content-type', 'application/json');
      response.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gp = await startTestGatepass({
      settings: {
        modules: [
          {
            id: 'echo',
            name: 'Echo',
            prefix: '/echo',
            upstreams: { staging: url, production: url },
          },
        ],
      },
    });
    platform = await gp.board('Acme Retail', ['echo']);
  });
  after(async () => {
    await gp.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  test('upstream headers reach the client', async () => {
    const response = await fetch(`${gp.staging}/echo/x`, {
      headers: gatewayHeaders(platform, 'echo'),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-upstream-header'), 'kept');
  });

  test('gateway request id is kept', async () => {
    const response = await fetch(`${gp.staging}/echo/x`, {
      headers: gatewayHeaders(platform, 'echo'),
    });
    const requestId = response.headers.get('x-request-id') ?? '';
    await gp.running.context.requestLog.flush();
    const rows = await gp.running.context.store.requestLog.list({ limit: 1000 });
    assert.match(requestId, /^req_/);
    assert.ok(
      rows.some((row) => row.request_id === requestId),
      'the client must see the request id of the request-log row',
    );
  });
});
