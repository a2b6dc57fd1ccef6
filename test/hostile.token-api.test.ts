/**
 * Hostile use of the token API: secrets typed into the wrong field, concurrent password guesses,
 * access tokens outliving the client secret they came from, oversized scopes, malformed bodies,
 * races between refresh and revocation, restarts, and request bodies that never finish.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REFRESH_RACE_WINDOW_MS } from '../src/domain/refresh-chain.js';
import type { BoardingResult } from '../src/services/platforms.js';
import { dumpDatabase, readDatabase } from './helpers/database.js';
import { basic, OPERATOR, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';
import {
  assertOAuthError,
  b64,
  clientCredentials,
  postFormText,
  postRaw,
  type TokenReply,
} from './helpers/token-api.js';

function tokenUrl(gp: TestGatepass): string {
  return `${gp.staging}/v1/auth/token`;
}

function refresh(gp: TestGatepass, refreshToken: string): Promise<TokenReply> {
  return postFormText(tokenUrl(gp), { grant_type: 'refresh_token', refresh_token: refreshToken });
}

/** Call the demo module with a Bearer token and the platform's module and provider secrets. */
async function callWithToken(
  gp: TestGatepass,
  board: BoardingResult,
  accessToken: string,
): Promise<{ status: number; code: unknown }> {
  const response = await fetch(`${gp.staging}/demo/resource`, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      'x-module-secret': board.modules.demo?.module_secret ?? '',
      'x-provider-secret': board.modules.demo?.provider_secret ?? '',
    },
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, code: body.code };
}

/** Return the id of the platform's active staging client secret. */
async function clientSecretId(gp: TestGatepass, board: BoardingResult): Promise<string> {
  const details = await gp.running.context.platforms.show(board.platform.id);
  const staging = details.environments.find((e) => e.environment === 'staging');
  const secret = staging?.secrets.find((s) => s.kind === 'client');
  assert.ok(secret, 'the platform must have a staging client secret');
  return secret.id;
}

/** Return the `grant.refused` audit rows of a stopped Gatepass, with their data parsed. */
async function refusedGrants(
  gp: TestGatepass,
): Promise<Array<{ actor_id: string; data: Record<string, unknown> }>> {
  const rows = ((await dumpDatabase(gp.dataDir)).audit_events ?? []) as Array<{
    action: string;
    actor_id: string;
    data: string;
  }>;
  return rows
    .filter((row) => row.action === 'grant.refused')
    .map((row) => ({
      actor_id: row.actor_id,
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
}

describe('token API secrets in the wrong field', () => {
  const email = 'owner@acme-retail.test';
  const password = `Owner-${randomBytes(12).toString('hex')}`;
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    await gp.addUser(platform.platform.id, email, password, 'owner');
  });
  after(() => gp.close());

  test('swapped body client id and secret', async () => {
    const reply = await postFormText(tokenUrl(gp), {
      grant_type: 'client_credentials',
      client_id: platform.client_secret,
      client_secret: platform.client_id,
    });
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('swapped Basic client id and secret', async () => {
    const reply = await postFormText(
      tokenUrl(gp),
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_secret, platform.client_id) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('swapped client id on revoke', async () => {
    const reply = await postFormText(`${gp.staging}/v1/auth/revoke`, {
      token: 'unknown',
      client_id: platform.client_secret,
      client_secret: platform.client_id,
    });
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('password typed as the email', async () => {
    const reply = await postFormText(tokenUrl(gp), {
      grant_type: 'user_credentials',
      email: password,
      password: email,
    });
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('password typed as the username', async () => {
    const reply = await postFormText(tokenUrl(gp), {
      grant_type: 'password',
      username: ` ${password.toUpperCase()} `,
      password: email,
    });
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('wrong password of a known email', async () => {
    const reply = await postFormText(tokenUrl(gp), {
      grant_type: 'user_credentials',
      email,
      password: 'not the password at all',
    });
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  describe('after stop', () => {
    let refusals: Array<{ actor_id: string; data: Record<string, unknown> }> = [];

    before(async () => {
      await gp.stop();
      refusals = await refusedGrants(gp);
    });

    test('refusals are audited', () => {
      assert.equal(refusals.length, 6);
    });

    test('misplaced values audited as stand-ins', () => {
      const clients = refusals.filter((row) => row.actor_id === '(malformed client_id)');
      const emails = refusals.filter((row) => row.actor_id === '(unknown email)');
      assert.equal(clients.length, 3);
      assert.equal(emails.length, 2);
    });

    test('known email is audited', () => {
      const known = refusals.filter((row) => row.actor_id === email);
      assert.equal(known.length, 1);
    });

    test('database keeps no misplaced secret', async () => {
      const misplaced = {
        client_secret: platform.client_secret,
        password,
        upper_password: password.toUpperCase(),
        lower_password: password.toLowerCase(),
      };
      assert.deepEqual(findSecrets(await readDatabase(gp.dataDir), misplaced), []);
    });

    test('logs keep no misplaced secret', () => {
      const misplaced = { client_secret: platform.client_secret, password };
      assert.deepEqual(findSecrets(gp.logs.join('\n'), misplaced), []);
    });
  });
});

describe('token API introspection audit', () => {
  let gp: TestGatepass;
  let refusals: Array<{ actor_id: string; data: Record<string, unknown> }> = [];

  before(async () => {
    gp = await startTestGatepass();
    const board = await gp.board();
    const token = String((await clientCredentials(gp, board)).refresh_token);
    const rotated = await gp.running.context.credentials.rotate(
      { platformId: board.platform.id, environment: 'staging', kind: 'client', overlapSeconds: 0 },
      OPERATOR,
    );
    const introspected = await postFormText(
      `${gp.staging}/v1/auth/introspect`,
      { token },
      { authorization: basic(board.client_id, rotated.secret) },
    );
    assert.deepEqual(introspected.body, { active: false });
    await gp.stop();
    refusals = await refusedGrants(gp);
  });
  after(() => gp.close());

  test('inactive token audited as introspection', () => {
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]?.data.grantType, 'introspect');
    assert.equal(refusals[0]?.data.reason, 'client_secret_revoked');
  });
});

describe('token API lockout under concurrency', () => {
  const email = 'dev@acme-retail.test';
  const password = `Dev-${randomBytes(12).toString('hex')}`;
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass({ settings: { 'rateLimits.signInFailuresBeforeLockout': 3 } });
    const platform = await gp.board();
    await gp.addUser(platform.platform.id, email, password);
  });
  after(() => gp.close());

  test('concurrent wrong passwords hit the lockout', async () => {
    const guesses = Array.from({ length: 10 }, (_, i) =>
      postFormText(tokenUrl(gp), {
        grant_type: 'user_credentials',
        email: i % 2 === 0 ? email : email.toUpperCase(),
        password: `wrong password number ${i}`,
      }),
    );
    const replies = await Promise.all(guesses);
    const refused = replies.filter((r) => r.status === 400);
    const locked = replies.filter((r) => r.status === 429);

    assert.equal(refused.length, 3, 'only the lockout threshold of guesses may be checked');
    assert.equal(locked.length, 7);
    for (const reply of refused) assertOAuthError(reply, 400, 'invalid_grant');
    for (const reply of locked) {
      assertOAuthError(reply, 429, 'rate_limited');
      assert.match(reply.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    }
  });

  test('correct password waits out the lockout', async () => {
    const reply = await postFormText(tokenUrl(gp), {
      grant_type: 'user_credentials',
      email,
      password,
    });
    assertOAuthError(reply, 429, 'rate_limited');
  });
});

describe('token API access tokens after secret changes', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('revoked client secret ends access tokens', async () => {
    const board = await gp.board('Revoked Secret');
    const token = String((await clientCredentials(gp, board)).access_token);
    assert.equal((await callWithToken(gp, board, token)).status, 200);

    await gp.running.context.credentials.revoke(await clientSecretId(gp, board), OPERATOR);

    assert.deepEqual(await callWithToken(gp, board, token), { status: 401, code: 'invalid_token' });
  });

  test('rotated client secret ends access tokens', async () => {
    const board = await gp.board('Rotated Secret');
    const token = String((await clientCredentials(gp, board)).access_token);
    const rotated = await gp.running.context.credentials.rotate(
      { platformId: board.platform.id, environment: 'staging', kind: 'client', overlapSeconds: 0 },
      OPERATOR,
    );

    assert.deepEqual(await callWithToken(gp, board, token), { status: 401, code: 'invalid_token' });
    const introspected = await postFormText(
      `${gp.staging}/v1/auth/introspect`,
      { token },
      { authorization: basic(board.client_id, rotated.secret) },
    );
    assert.equal(introspected.status, 200, introspected.text);
    assert.deepEqual(introspected.body, { active: false });
  });

  test('refreshed access token follows its secret', async () => {
    const board = await gp.board('Refreshed Secret');
    const first = await clientCredentials(gp, board);
    const refreshed = await refresh(gp, String(first.refresh_token));
    assert.equal(refreshed.status, 200, refreshed.text);

    await gp.running.context.credentials.revoke(await clientSecretId(gp, board), OPERATOR);

    const result = await callWithToken(gp, board, String(refreshed.body.access_token));
    assert.deepEqual(result, { status: 401, code: 'invalid_token' });
  });

  test('rotation overlap keeps access tokens', async () => {
    const board = await gp.board('Overlapping Secret');
    const token = String((await clientCredentials(gp, board)).access_token);
    await gp.running.context.credentials.rotate(
      {
        platformId: board.platform.id,
        environment: 'staging',
        kind: 'client',
        overlapSeconds: 600,
      },
      OPERATOR,
    );

    assert.equal((await callWithToken(gp, board, token)).status, 200);
  });

  test('user access token survives secret rotation', async () => {
    const board = await gp.board('User Platform');
    const password = `User-${randomBytes(12).toString('hex')}`;
    await gp.addUser(board.platform.id, 'user@user-platform.test', password);
    const signIn = await postFormText(tokenUrl(gp), {
      grant_type: 'user_credentials',
      email: 'user@user-platform.test',
      password,
    });
    assert.equal(signIn.status, 200, signIn.text);
    await gp.running.context.credentials.rotate(
      { platformId: board.platform.id, environment: 'staging', kind: 'client', overlapSeconds: 0 },
      OPERATOR,
    );

    const result = await callWithToken(gp, board, String(signIn.body.access_token));
    assert.equal(result.status, 200);
  });
});

describe('token API with many modules', () => {
  const modules = Array.from({ length: 48 }, (_, i) => ({
    id: `module-with-a-long-descriptive-id-${String(i).padStart(4, '0')}`,
    name: `Module ${i}`,
    prefix: `/module-${i}`,
    upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
  }));
  let gp: TestGatepass;
  let board: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({ settings: { modules } });
    board = await gp.board(
      'Wide Platform',
      modules.map((m) => m.id),
    );
  });
  after(() => gp.close());

  test('long scope keeps refresh tokens usable', async () => {
    const first = await clientCredentials(gp, board);
    assert.equal(String(first.scope).split(' ').length, modules.length);

    const reply = await refresh(gp, String(first.refresh_token));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.scope, first.scope);
  });

  test('long refresh token can be revoked', async () => {
    const token = String((await clientCredentials(gp, board)).refresh_token);
    const introspect = () =>
      postFormText(
        `${gp.staging}/v1/auth/introspect`,
        { token },
        { authorization: basic(board.client_id, board.client_secret) },
      );
    assert.equal((await introspect()).body.active, true);

    const revoked = await postFormText(`${gp.staging}/v1/auth/revoke`, { token });
    assert.equal(revoked.status, 200, revoked.text);

    assert.equal((await introspect()).body.active, false);
    assertOAuthError(await refresh(gp, token), 400, 'invalid_grant');
  });
});

describe('token API hostile bodies', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  const json = { 'content-type': 'application/json' };
  const cases: Array<{
    name: string;
    body: () => string;
    headers?: () => Record<string, string>;
    status: number;
    error: string;
  }> = [
    {
      name: 'deeply nested JSON array',
      body: () => `${'['.repeat(7000)}${']'.repeat(7000)}`,
      headers: () => json,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'deeply nested JSON object',
      body: () => `${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`,
      headers: () => json,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'JSON prototype member with grant',
      body: () => '{"__proto__":{"grant_type":"client_credentials"}}',
      headers: () => json,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'JSON constructor member',
      body: () => '{"constructor":{"prototype":{"grant_type":"x"}},"grant_type":"x"}',
      headers: () => json,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'JSON lone surrogate',
      body: () => '{"grant_type":"\\ud800"}',
      headers: () => json,
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'JSON with byte order mark',
      body: () => '\ufeff{"grant_type":"client_credentials"}',
      headers: () => json,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'NUL byte in grant_type',
      body: () => 'grant_type=client_credentials%00',
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'broken percent-encoding',
      body: () => 'grant_type=%E0%A4%A',
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'form prototype name',
      body: () => '__proto__=x&grant_type=nope',
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'repeated empty names',
      body: () => '=a&=b&grant_type=client_credentials',
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'thousands of parameters',
      body: () => `${Array.from({ length: 2000 }, (_, i) => `p${i}=v`).join('&')}&grant_type=nope`,
      status: 400,
      error: 'unsupported_grant_type',
    },
    {
      name: 'body over the limit',
      body: () => `grant_type=client_credentials&pad=${'x'.repeat(20_000)}`,
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'invalid content type',
      body: () => 'grant_type=client_credentials',
      headers: () => ({ 'content-type': ';;' }),
      status: 400,
      error: 'invalid_request',
    },
    {
      name: 'Basic over many kilobytes',
      body: () => 'grant_type=client_credentials',
      headers: () => ({ authorization: `Basic ${'QUFB'.repeat(3000)}` }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Basic with broken percent-encoding',
      body: () => 'grant_type=client_credentials',
      headers: () => ({ authorization: `Basic ${b64('%ZZ:secret')}` }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Basic with invalid UTF-8',
      body: () => 'grant_type=client_credentials',
      headers: () => ({
        authorization: `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0xc3]).toString('base64')}`,
      }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'Basic with NUL in the secret',
      body: () => 'grant_type=client_credentials',
      headers: () => ({
        authorization: basic(platform.client_id, `${platform.client_secret}\u0000`),
      }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'client secret with trailing space',
      body: () =>
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: platform.client_id,
          client_secret: `${platform.client_secret} `,
        }).toString(),
      status: 401,
      error: 'invalid_client',
    },
  ];

  for (const { name, body, headers, status, error } of cases) {
    test(name, async () => {
      const reply = await postRaw(tokenUrl(gp), body(), headers?.() ?? {});
      assertOAuthError(reply, status, error);
    });
  }
});

describe('token API races and restarts', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('refresh racing revoke leaves no live token', async () => {
    for (let round = 0; round < 5; round++) {
      const token = String((await clientCredentials(gp, platform)).refresh_token);
      const [refreshed, revoked] = await Promise.all([
        refresh(gp, token),
        postFormText(`${gp.staging}/v1/auth/revoke`, { token }),
      ]);
      assert.equal(revoked.status, 200, revoked.text);
      assert.ok([200, 400].includes(refreshed.status), refreshed.text);
      if (refreshed.status === 200) {
        const successor = await refresh(gp, String(refreshed.body.refresh_token));
        assertOAuthError(successor, 400, 'invalid_grant');
      } else {
        assertOAuthError(refreshed, 400, 'invalid_grant');
      }
    }
  });

  test('concurrent refreshes leave one live token', async () => {
    const token = String((await clientCredentials(gp, platform)).refresh_token);
    const replies = await Promise.all(Array.from({ length: 8 }, () => refresh(gp, token)));
    const winners = replies.filter((r) => r.status === 200);
    assert.equal(winners.length, 1);
    for (const reply of replies.filter((r) => r.status !== 200))
      assertOAuthError(reply, 400, 'invalid_grant');

    const next = await refresh(gp, String(winners[0]?.body.refresh_token));
    assert.equal(next.status, 200, next.text);
  });

  test('reuse after a restart revokes the chain', async () => {
    const original = await startTestGatepass();
    const board = await original.board();
    const first = String((await clientCredentials(original, board)).refresh_token);
    const second = await refresh(original, first);
    assert.equal(second.status, 200, second.text);
    await original.stop();

    const restarted = await startTestGatepass({ dataDir: original.dataDir });
    try {
      // Past the race window, presenting the used token again is reuse, not a lost race.
      await sleep(REFRESH_RACE_WINDOW_MS + 200);
      assertOAuthError(await refresh(restarted, first), 400, 'invalid_grant');
      const successor = await refresh(restarted, String(second.body.refresh_token));
      assertOAuthError(successor, 400, 'invalid_grant');
    } finally {
      await restarted.close();
      await original.close();
    }
  });
});

/**
 * Send a token request that declares 100 body bytes but sends 10, and report whether the server
 * ended the connection within `waitMs`.
 */
function sendUnfinishedBody(
  url: string,
  waitMs: number,
): Promise<{ closedByServer: boolean; reply: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let reply = '';
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ closedByServer, reply });
    };
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        'POST /v1/auth/token HTTP/1.1\r\nhost: gatepass\r\n' +
          'content-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\n' +
          'grant_type',
      );
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    const timer = setTimeout(() => finish(false), waitMs);
  });
}

describe('token API unfinished request body', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('stalled body is cut off', async () => {
    const result = await sendUnfinishedBody(tokenUrl(gp), 15_000);
    assert.equal(result.closedByServer, true, 'the server must end a stalled request');
  });
});
