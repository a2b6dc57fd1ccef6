/**
 * Secrets never reach the logs or the database file. Token requests and gateway calls, accepted
 * and rejected, are made with every kind of secret. Then every log line and the bytes of the
 * SQLite files are searched for each one. The last tests plant a secret on purpose to show that
 * the search finds what is there.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { generateSecret } from '../src/domain/secrets.js';
import { createServer } from '../src/http/server.js';
import { createLogger } from '../src/observability/logger.js';
import type { BoardingResult } from '../src/services/platforms.js';
import { readDatabase } from './helpers/database.js';
import {
  basic,
  gatewayHeaders,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';

/** Return the secret with its last character changed, so that its checksum no longer matches. */
function mistyped(secret: string): string {
  return secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
}

describe('secrets at rest', () => {
  const email = 'owner@acme-retail.test';
  const password = `Owner-${randomBytes(12).toString('hex')}`;
  const secrets: Record<string, string> = {
    password,
    wrong_password: `Wrong-${randomBytes(12).toString('hex')}`,
    wrong_client_secret: generateSecret('client', 'staging'),
    wrong_module_secret: generateSecret('module', 'staging'),
  };
  let gp: TestGatepass;
  let platform: BoardingResult;
  let tokenUrl = '';

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    await gp.addUser(platform.platform.id, email, password, 'owner');
    tokenUrl = `${gp.staging}/v1/auth/token`;
    secrets.client_secret = platform.client_secret;
    secrets.module_secret = platform.modules.demo?.module_secret ?? '';
    secrets.provider_secret = platform.modules.demo?.provider_secret ?? '';
    secrets.mistyped_client_secret = mistyped(platform.client_secret);
  });

  after(() => gp.close());

  test('client_credentials with Basic succeeds', async () => {
    const response = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );

    assert.equal(response.status, 200, JSON.stringify(response.body));
    secrets.basic_access_token = String(response.body.access_token);
    secrets.basic_refresh_token = String(response.body.refresh_token);
  });

  test('client_credentials in body succeeds', async () => {
    const response = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });

    assert.equal(response.status, 200, JSON.stringify(response.body));
    secrets.body_access_token = String(response.body.access_token);
    secrets.body_refresh_token = String(response.body.refresh_token);
  });

  test('wrong client secret rejected', async () => {
    const response = await postForm(
      tokenUrl,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, secrets.wrong_client_secret ?? '') },
    );

    assert.equal(response.status, 401);
    assert.equal(response.body.error, 'invalid_client');
  });

  test('mistyped client secret rejected', async () => {
    const response = await postForm(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: secrets.mistyped_client_secret ?? '',
    });

    assert.equal(response.status, 401);
    assert.equal(response.body.error, 'invalid_client');
  });

  test('secret in query string rejected', async () => {
    const query = new URLSearchParams({ client_secret: platform.client_secret });
    const response = await postForm(`${tokenUrl}?${query}`, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'invalid_request');
  });

  test('refresh_token rotates', async () => {
    const response = await postForm(tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: secrets.basic_refresh_token ?? '',
    });

    assert.equal(response.status, 200, JSON.stringify(response.body));
    secrets.rotated_access_token = String(response.body.access_token);
    secrets.rotated_refresh_token = String(response.body.refresh_token);
  });

  test('used refresh_token rejected', async () => {
    const response = await postForm(tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: secrets.basic_refresh_token ?? '',
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'invalid_grant');
  });

  test('password grant wrong password', async () => {
    const response = await postForm(tokenUrl, {
      grant_type: 'password',
      username: email,
      password: secrets.wrong_password ?? '',
    });

    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'invalid_grant');
  });

  test('user_credentials succeeds', async () => {
    const response = await postForm(tokenUrl, { grant_type: 'user_credentials', email, password });

    assert.equal(response.status, 200, JSON.stringify(response.body));
    secrets.user_access_token = String(response.body.access_token);
    secrets.user_refresh_token = String(response.body.refresh_token);
  });

  test('introspect reports active token', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/introspect`,
      { token: secrets.body_access_token ?? '' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );

    assert.equal(response.status, 200);
    assert.equal(response.body.active, true);
  });

  test('revoke accepts refresh token', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/revoke`,
      { token: secrets.body_refresh_token ?? '' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );

    assert.equal(response.status, 200);
  });

  const moduleHeaders = () => ({
    'x-module-secret': platform.modules.demo?.module_secret ?? '',
    'x-provider-secret': platform.modules.demo?.provider_secret ?? '',
  });

  const gatewayCases: Array<{
    name: string;
    /** Whether the call also carries the client secret in its query string. */
    secretInQuery?: boolean;
    headers: () => Record<string, string>;
    status: number;
  }> = [
    {
      name: 'gateway accepts client headers',
      headers: () => gatewayHeaders(platform),
      status: 200,
    },
    {
      name: 'gateway accepts access token',
      headers: () => ({ authorization: `Bearer ${secrets.user_access_token}`, ...moduleHeaders() }),
      status: 200,
    },
    {
      name: 'gateway rejects wrong client secret',
      headers: () => ({
        ...gatewayHeaders(platform),
        'x-client-secret': secrets.wrong_client_secret ?? '',
      }),
      status: 401,
    },
    {
      name: 'gateway rejects wrong module secret',
      headers: () => ({
        ...gatewayHeaders(platform),
        'x-module-secret': secrets.wrong_module_secret ?? '',
      }),
      status: 401,
    },
    {
      name: 'gateway rejects refresh token',
      headers: () => ({
        authorization: `Bearer ${secrets.rotated_refresh_token}`,
        ...moduleHeaders(),
      }),
      status: 401,
    },
    {
      name: 'gateway forwards secret in query',
      secretInQuery: true,
      headers: () => gatewayHeaders(platform),
      status: 200,
    },
  ];

  for (const { name, secretInQuery, headers, status } of gatewayCases) {
    test(name, async () => {
      const target = secretInQuery
        ? `/demo/search?${new URLSearchParams({ q: platform.client_secret })}`
        : '/demo/anything';
      const response = await fetch(`${gp.staging}${target}`, { headers: headers() });

      assert.equal(response.status, status, await response.text());
    });
  }

  describe('after stop', () => {
    before(() => gp.stop());

    test('logs contain no secret', () => {
      assert.ok(gp.logs.length > 0);
      assert.deepEqual(findSecrets(gp.logs.join('\n'), secrets), []);
    });

    test('database contains no secret', async () => {
      assert.deepEqual(findSecrets(await readDatabase(gp.dataDir), secrets), []);
    });

    test('scan finds secret logged on purpose', () => {
      // The `note` key is not in the logger's redaction list, so the value is written as is.
      gp.running.context.log.info({ note: platform.client_secret }, 'planted secret');

      assert.deepEqual(findSecrets(gp.logs.join('\n'), { client_secret: platform.client_secret }), [
        'client_secret',
      ]);
    });

    test('scan finds stored client id', async () => {
      // The client id is not secret and is stored in clear, so the database scan must see it.
      assert.deepEqual(findSecrets(await readDatabase(gp.dataDir), { id: platform.client_id }), [
        'id',
      ]);
    });
  });
});

describe('listener error handler', () => {
  const secrets = {
    header_secret: generateSecret('client', 'staging'),
    query_secret: generateSecret('module', 'staging'),
  };
  const logs: string[] = [];
  let app: FastifyInstance;
  let status = 0;
  let body: Record<string, unknown> = {};

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    app = createServer({ name: 'admin', logger: createLogger('debug', sink) });
    app.get('/fails', async () => {
      throw new Error('table secrets is locked');
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(
      `${base}/fails?${new URLSearchParams({ k: secrets.query_secret })}`,
      {
        headers: { authorization: `Bearer ${secrets.header_secret}` },
      },
    );
    status = response.status;
    body = (await response.json()) as Record<string, unknown>;
  });

  after(() => app.close());

  test('unexpected error returns 500', () => {
    assert.equal(status, 500);
    assert.match(String(body.request_id), /\S/);
  });

  test('response hides error message', () => {
    assert.doesNotMatch(String(body.message), /table secrets is locked/);
  });

  test('log records the error', () => {
    assert.ok(logs.some((line) => line.includes('table secrets is locked')));
  });

  test('log omits request credentials', () => {
    assert.deepEqual(findSecrets(logs.join(''), secrets), []);
  });
});
