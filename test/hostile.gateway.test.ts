/**
 * Hostile calls through the gateway: headers that the forwarder cannot pass on, content types
 * the framework cannot read, path parameters that hide dot segments, requests the HTTP parser
 * rejects, credentials in trailers, prototype-named headers and the shared rate-limit bucket.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import { basic, gatewayHeaders, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';
import { postFormText } from './helpers/token-api.js';

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/**
 * Send `head` and `body` as they are over one connection and parse the first response. Waits
 * at most `waitMs` for the server to respond and close the connection.
 */
function sendRaw(url: string, head: string, body = '', waitMs = 5_000): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(Buffer.from(`${head}connection: close\r\n\r\n${body}`, 'latin1'));
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${waitMs} ms: ${text.slice(0, 200)}`));
    }, waitMs);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      // An interim 100 Continue may precede the final response.
      const final = text.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, '');
      const [headText = '', ...rest] = final.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = headText.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(rest.join('\r\n\r\n')) as Record<string, unknown>;
      } catch {
        parsed = { unparsed: rest.join('\r\n\r\n') };
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: parsed });
    });
  });
}

/** Header lines of `headers`, for a raw request head. */
function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
}

/** Assert the gateway's JSON error with `status` and `code`, as `sendRaw` parsed it. */
function assertRawError(reply: RawReply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.code, code);
  assert.match(reply.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(typeof reply.body.message, 'string');
  assert.ok(reply.headers['x-request-id'], 'the response must carry X-Request-Id');
  assert.equal(reply.body.request_id, reply.headers['x-request-id']);
}

describe('gateway hostile requests', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('Expect 100-continue call is forwarded', async () => {
    const { hostname, port } = new URL(gp.staging);
    const body = 'x'.repeat(2048);
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        {
          host: hostname,
          port,
          path: '/demo/upload',
          method: 'POST',
          headers: {
            ...gatewayHeaders(platform),
            expect: '100-continue',
            'content-type': 'text/plain',
            'content-length': String(body.length),
          },
          timeout: 5_000,
        },
        (response) => {
          let text = '';
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('continue', () => request.end(body));
      request.on('timeout', () => request.destroy(new Error('no response within 5 s')));
      request.on('error', reject);
    });

    assert.equal(reply.status, 200, reply.text);
    const echoed = JSON.parse(reply.text) as Record<string, unknown>;
    assert.equal(echoed.body, body);
  });

  for (const contentType of ['', 'invalid', 'a/b/c', ';;']) {
    test(`content type "${contentType}" returns 400`, async () => {
      const head =
        'POST /demo/upload HTTP/1.1\r\nhost: gatepass\r\n' +
        `${headerLines(gatewayHeaders(platform))}content-type: ${contentType}\r\ncontent-length: 3\r\n`;
      assertRawError(await sendRaw(gp.staging, head, 'abc'), 400, 'invalid_request');
    });
  }

  test('unauthenticated bad content type returns 400', async () => {
    const head =
      'POST /demo/upload HTTP/1.1\r\nhost: gatepass\r\ncontent-type: invalid\r\ncontent-length: 3\r\n';
    assertRawError(await sendRaw(gp.staging, head, 'abc'), 400, 'invalid_request');
  });

  for (const path of [
    '/demo/..;/admin',
    '/demo/%2e%2e;/admin',
    '/demo/.;/admin',
    '/demo/a/..;x=1/b',
  ]) {
    test(`path parameter dot segment ${path}`, async () => {
      const head = `GET ${path} HTTP/1.1\r\nhost: gatepass\r\n${headerLines(gatewayHeaders(platform))}`;
      assertRawError(await sendRaw(gp.staging, head), 400, 'invalid_request');
    });
  }

  test('unparsable request gets JSON error', async () => {
    const head = `GET /demo/caf\u00e9 HTTP/1.1\r\nhost: gatepass\r\n${headerLines(gatewayHeaders(platform))}`;
    assertRawError(await sendRaw(gp.staging, head), 400, 'invalid_request');
  });

  test('credentials in trailers are not read', async () => {
    const head =
      'POST /demo/upload HTTP/1.1\r\nhost: gatepass\r\ncontent-type: text/plain\r\n' +
      'transfer-encoding: chunked\r\ntrailer: x-client-id, x-client-secret\r\n';
    const body = `3\r\nabc\r\n0\r\n${headerLines({
      'x-client-id': platform.client_id,
      'x-client-secret': platform.client_secret,
    })}\r\n`;
    assertRawError(await sendRaw(gp.staging, head, body), 401, 'missing_credentials');
  });

  test('prototype-named headers are harmless', async () => {
    const head =
      'GET /demo/resource HTTP/1.1\r\nhost: gatepass\r\n' +
      `${headerLines(gatewayHeaders(platform))}__proto__: {"x-client-id":"other"}\r\n` +
      'constructor: x\r\nhasOwnProperty: y\r\n';
    const reply = await sendRaw(gp.staging, head);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.module, 'demo');
  });

  test('connection header cannot drop identity', async () => {
    const head =
      'GET /demo/resource HTTP/1.1\r\nhost: gatepass\r\n' +
      `${headerLines(gatewayHeaders(platform))}` +
      'x-gatepass-platform: plt_forged\r\nconnection: x-gatepass-assertion, x-gatepass-platform, x-request-id\r\n';
    const reply = await sendRaw(gp.staging, head);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const identity = reply.body.identity as Record<string, string>;
    assert.equal(identity['x-gatepass-platform'], platform.platform.id);
    assert.match(identity['x-gatepass-assertion'] ?? '', /^eyJ/);
  });

  test('latin-1 header values are forwarded', async () => {
    const head = `GET /demo/resource HTTP/1.1\r\nhost: gatepass\r\n${headerLines(gatewayHeaders(platform))}x-note: caf\u00e9\r\n`;
    const reply = await sendRaw(gp.staging, head);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  });

  test('encoded NUL in the path is forwarded', async () => {
    const head = `GET /demo/a%00b HTTP/1.1\r\nhost: gatepass\r\n${headerLines(gatewayHeaders(platform))}`;
    const reply = await sendRaw(gp.staging, head);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.path, '/a%00b');
  });

  test('overlong UTF-8 dots are rejected', async () => {
    const head = `GET /demo/%c0%ae%c0%ae/admin HTTP/1.1\r\nhost: gatepass\r\n${headerLines(gatewayHeaders(platform))}`;
    assertRawError(await sendRaw(gp.staging, head), 400, 'invalid_request');
  });
});

describe('gateway rate limit across methods', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let other: BoardingResult;
  let accessToken: string;

  before(async () => {
    gp = await startTestGatepass({ settings: { 'rateLimits.gatewayPerMinute': 3 } });
    platform = await gp.board();
    other = await gp.board('Other Platform');
    const reply = await postFormText(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(reply.status, 200, reply.text);
    accessToken = String(reply.body.access_token);
  });
  after(() => gp.close());

  test('both methods share one bucket', async () => {
    const jwtHeaders = {
      authorization: `Bearer ${accessToken}`,
      'x-module-secret': platform.modules.demo?.module_secret ?? '',
      'x-provider-secret': platform.modules.demo?.provider_secret ?? '',
    };
    const statuses: number[] = [];
    for (const headers of [gatewayHeaders(platform), jwtHeaders, gatewayHeaders(platform)]) {
      const response = await fetch(`${gp.staging}/demo/resource`, { headers });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [200, 200, 200]);

    const limited = await fetch(`${gp.staging}/demo/resource`, { headers: jwtHeaders });
    const body = (await limited.json()) as Record<string, unknown>;
    assert.equal(limited.status, 429);
    assert.equal(body.code, 'rate_limited');
    assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.match(limited.headers.get('ratelimit') ?? '', /^"per-module";r=0;t=\d+$/);
  });

  test('limit of one platform spares another', async () => {
    const response = await fetch(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(other),
    });
    await response.arrayBuffer();
    assert.equal(response.status, 200);
  });

  test('rejected calls do not spend the bucket', async () => {
    const fresh = await gp.board('Fresh Platform');
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${gp.staging}/demo/resource`, {
        headers: { ...gatewayHeaders(fresh), 'x-module-secret': 'wrong' },
      });
      await response.arrayBuffer();
      assert.equal(response.status, 401);
    }
    const response = await fetch(`${gp.staging}/demo/resource`, {
      headers: gatewayHeaders(fresh),
    });
    await response.arrayBuffer();
    assert.equal(response.status, 200);
  });
});
