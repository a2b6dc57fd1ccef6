/**
 * Faults that OAuth servers, JWT libraries and gateways have had in the field, replayed against
 * a real Gatepass where the other test files send only part of the input. They cover HTTP Basic
 * encoding, cache headers on secrets, tokens that outlive a revocation or a restart, tokens of
 * other kinds, retired signing keys, credentials in the URL, secret lengths, brute force, email
 * case and keys shared between environments. The last suite checks one operator approving
 * go-live alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { BoardingResult } from '../src/services/platforms.js';
import {
  basic,
  dropTestDatabase,
  gatewayHeaders,
  OPERATOR,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';
import {
  assertOAuthError,
  b64,
  clientCredentials,
  postFormText,
  postRaw,
  type TokenReply,
  TWO_MODULES,
} from './helpers/token-api.js';

const PASSWORD = 'correct horse battery staple';

interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown = { unparsed: text };
  try {
    body = JSON.parse(text);
  } catch {
    // A body that is not JSON stays as text, so that assertion messages show it.
  }
  return { status: response.status, headers: response.headers, body };
}

/** Call the admin API of `gp` with an operator key. */
async function admin(
  gp: TestGatepass,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return reply(await fetch(`${gp.admin}/admin/v1${path}`, init));
}

async function operatorKey(gp: TestGatepass): Promise<string> {
  return (await gp.running.context.operators.createKey('field-cases', OPERATOR)).key;
}

/** Call `path` on a listener's gateway with `headers`. */
async function gateway(
  base: string,
  headers: Record<string, string>,
  path = '/demo/resource',
): Promise<Reply> {
  return reply(await fetch(`${base}${path}`, { headers }));
}

/** Return the module and provider secret headers of `board` for the demo module. */
function moduleHeaders(board: BoardingResult): Record<string, string> {
  const { 'x-client-id': _id, 'x-client-secret': _secret, ...secrets } = gatewayHeaders(board);
  return secrets;
}

function bearer(board: BoardingResult, token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...moduleHeaders(board) };
}

/** Assert a gateway error reply: its status, its code and the JSON shape of every error. */
function assertGatewayError(result: Reply, status: number, code: string): void {
  assert.equal(result.status, status, JSON.stringify(result.body));
  assert.equal(result.body.code, code);
  assert.match(result.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(typeof result.body.message, 'string');
  assert.equal(result.body.request_id, result.headers.get('x-request-id'));
}

function assertInvalidToken(result: Reply): void {
  assertGatewayError(result, 401, 'invalid_token');
  assert.match(result.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
}

function tokenUrl(gp: TestGatepass, listener = gp.staging): string {
  return `${listener}/v1/auth/token`;
}

function refresh(gp: TestGatepass, token: string, listener = gp.staging): Promise<TokenReply> {
  return postFormText(tokenUrl(gp, listener), {
    grant_type: 'refresh_token',
    refresh_token: token,
  });
}

function signIn(gp: TestGatepass, email: string, password = PASSWORD): Promise<TokenReply> {
  return postFormText(tokenUrl(gp), { grant_type: 'user_credentials', email, password });
}

function introspect(gp: TestGatepass, token: string, clientId: string, secret: string) {
  return postFormText(
    `${gp.staging}/v1/auth/introspect`,
    { token },
    { authorization: basic(clientId, secret) },
  );
}

/** Wait until the clock has entered a new second, since JWT times are whole seconds. */
async function nextSecond(): Promise<void> {
  await sleep(1050 - (Date.now() % 1000));
}

/** Percent-encode every character of an ASCII string, as a client may under RFC 6749 2.3.1. */
function percentEncodeAll(text: string): string {
  return [...text]
    .map((char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
    .join('');
}

/** Return the id of the platform's only active secret of `kind` in staging. */
async function secretId(gp: TestGatepass, board: BoardingResult, kind = 'client'): Promise<string> {
  const details = await gp.running.context.platforms.show(board.platform.id);
  const staging = details.environments.find((e) => e.environment === 'staging');
  const secret = staging?.secrets.find((s) => s.kind === kind && s.revoked_at === null);
  assert.ok(secret, `the platform must have an active staging ${kind} secret`);
  return secret.id;
}

describe('HTTP Basic client authentication', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('issued secrets survive form-encoding', async () => {
    const boards = [platform, await gp.board('Second'), await gp.board('Third')];
    const rotated = await gp.running.context.credentials.rotate(
      {
        platformId: platform.platform.id,
        environment: 'staging',
        kind: 'client',
        overlapSeconds: 600,
      },
      OPERATOR,
    );
    const clients = [
      ...boards.map((b) => ({ id: b.client_id, secret: b.client_secret })),
      { id: platform.client_id, secret: rotated.secret },
    ];
    const everySecret = [
      ...clients.map((c) => c.secret),
      ...boards.flatMap((b) => Object.values(moduleHeaders(b))),
    ];
    for (const secret of everySecret) {
      assert.equal(encodeURIComponent(secret), secret, secret.slice(0, 11));
      assert.equal(new URLSearchParams(`v=${secret}`).get('v'), secret, secret.slice(0, 11));
    }

    for (const { id, secret } of clients) {
      const headers = {
        raw: `Basic ${b64(`${id}:${secret}`)}`,
        'fully percent-encoded': `Basic ${b64(`${percentEncodeAll(id)}:${percentEncodeAll(secret)}`)}`,
      };
      for (const [form, authorization] of Object.entries(headers)) {
        const issued = await postRaw(tokenUrl(gp), 'grant_type=client_credentials', {
          authorization,
        });
        assert.equal(issued.status, 200, `${form}: ${issued.text}`);
        assert.equal(issued.body.token_type, 'Bearer', form);
        assert.equal(issued.body.expires_in, 900, form);
        assert.equal(typeof issued.body.access_token, 'string', form);
      }
    }
  });

  test('special characters in Basic secret', async () => {
    const id = platform.client_id;
    const headers = [
      `Basic ${b64(`${id}:s%2B3%2Fx%3Dy%3Az`)}`,
      `Basic ${b64(`${id}:s+3/x=y:z`)}`,
      `Basic ${b64(`${id}:${platform.client_secret.replaceAll('_', '+')}`)}`,
      `Basic ${b64(`${id}:${platform.client_secret}%`)}`,
    ];
    for (const authorization of headers) {
      const result = await postRaw(tokenUrl(gp), 'grant_type=client_credentials', {
        authorization,
      });
      assertOAuthError(result, 401, 'invalid_client');
      assert.match(result.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/);
    }
  });

  test('Basic splits on the first colon', async () => {
    const { client_id: id, client_secret: secret } = platform;
    const truncations = [
      `${id}:${secret}:`,
      `${id}:${secret}:${secret}`,
      `${id}::${secret}`,
      `${id}:${secret}%3Ax`,
      `${id}%3A${secret}:${secret}`,
    ];
    for (const pair of truncations) {
      const result = await postRaw(tokenUrl(gp), 'grant_type=client_credentials', {
        authorization: `Basic ${b64(pair)}`,
      });
      assertOAuthError(result, 401, 'invalid_client');
      assert.equal(result.body.access_token, undefined, pair);
    }
  });

  test('body secret failure challenges Basic', async () => {
    const result = await postFormText(tokenUrl(gp), {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: `${platform.client_secret.slice(0, -1)}0`,
    });
    assertOAuthError(result, 401, 'invalid_client');
    assert.match(result.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/);
  });

  test('malformed Basic at the gateway', async () => {
    const headers = ['Basic !!!notbase64', 'Basic', `Basic ${b64('nocolon')}`, `Basic ${b64(':')}`];
    for (const authorization of headers) {
      const result = await gateway(gp.staging, { authorization, ...moduleHeaders(platform) });
      assertInvalidToken(result);
    }
    const valid = `Basic ${b64(`${platform.client_id}:${platform.client_secret}`)}`;
    const result = await gateway(gp.staging, { authorization: valid, ...moduleHeaders(platform) });
    assertInvalidToken(result);
  });
});

describe('responses that carry secrets', () => {
  let gp: TestGatepass;
  let key = '';

  before(async () => {
    gp = await startTestGatepass({ settings: TWO_MODULES });
    key = await operatorKey(gp);
  });
  after(() => gp.close());

  function assertNotStored(label: string, result: { headers: Headers; status: number }): void {
    assert.ok(result.status < 500, `${label}: ${result.status}`);
    assert.equal(result.headers.get('cache-control'), 'no-store', label);
    assert.equal(result.headers.get('pragma'), 'no-cache', label);
    assert.equal(result.headers.get('etag'), null, label);
    assert.equal(result.headers.get('last-modified'), null, label);
  }

  test('secret responses carry no validators', async () => {
    const boarded = await admin(gp, key, 'POST', '/platforms', {
      name: 'Cached',
      modules: ['demo'],
    });
    assert.equal(boarded.status, 201, JSON.stringify(boarded.body));
    const board = boarded.body as BoardingResult;
    const id = board.platform.id;
    const rotate = (kind: string) =>
      admin(gp, key, 'POST', `/platforms/${id}/credentials/rotate`, {
        environment: 'staging',
        kind,
        ...(kind === 'client' ? {} : { module: 'demo' }),
        overlap_seconds: 600,
      });
    const revealing: Record<string, Reply> = {
      board: boarded,
      'enable module': await admin(gp, key, 'POST', `/platforms/${id}/modules`, {
        module: 'payouts',
      }),
      'rotate client secret': await rotate('client'),
      'rotate module secret': await rotate('module'),
      'rotate provider secret': await rotate('provider'),
      'create operator key': await admin(gp, key, 'POST', '/operators/keys', {
        name: 'field-cases',
      }),
    };
    for (const [label, result] of Object.entries(revealing)) {
      assert.ok([200, 201].includes(result.status), `${label}: ${JSON.stringify(result.body)}`);
      assertNotStored(label, result);
    }

    const issued = await postFormText(
      tokenUrl(gp),
      { grant_type: 'client_credentials' },
      { authorization: basic(board.client_id, board.client_secret) },
    );
    const token = {
      'client_credentials success': issued,
      'refresh success': await refresh(gp, String(issued.body.refresh_token)),
      'invalid_client error': await postFormText(
        tokenUrl(gp),
        { grant_type: 'client_credentials' },
        { authorization: basic(board.client_id, 'wrong') },
      ),
      'invalid_grant error': await refresh(gp, 'gp_test_rt_unknown'),
      'introspection success': await introspect(
        gp,
        String(issued.body.access_token),
        board.client_id,
        board.client_secret,
      ),
    };
    for (const [label, result] of Object.entries(token)) assertNotStored(label, result);
  });
});

describe('refresh and access tokens after secret changes', () => {
  let gp: TestGatepass;
  let key = '';

  before(async () => {
    gp = await startTestGatepass();
    key = await operatorKey(gp);
  });
  after(() => gp.close());

  test('revoked client secret ends refresh', async () => {
    const board = await gp.board('Revoked Chain');
    const first = await clientCredentials(gp, board);
    const second = await refresh(gp, String(first.refresh_token));
    assert.equal(second.status, 200, second.text);

    const revoked = await admin(
      gp,
      key,
      'POST',
      `/credentials/${await secretId(gp, board)}/revoke`,
      {},
    );
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));

    assertOAuthError(await refresh(gp, String(second.body.refresh_token)), 400, 'invalid_grant');
    assertInvalidToken(await gateway(gp.staging, bearer(board, String(first.access_token))));
    const again = await postFormText(
      tokenUrl(gp),
      { grant_type: 'client_credentials' },
      { authorization: basic(board.client_id, board.client_secret) },
    );
    assertOAuthError(again, 401, 'invalid_client');
  });

  test('expired client secret fails everywhere', async () => {
    const board = await gp.board('Expiring Secret');
    const issued = await clientCredentials(gp, board);
    const primed = await gateway(gp.staging, gatewayHeaders(board));
    assert.equal(primed.status, 200, JSON.stringify(primed.body));

    const rotated = await admin(
      gp,
      key,
      'POST',
      `/platforms/${board.platform.id}/credentials/rotate`,
      {
        environment: 'staging',
        kind: 'client',
        overlap_seconds: 1,
      },
    );
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const stillInOverlap = await gateway(gp.staging, gatewayHeaders(board));
    assert.equal(stillInOverlap.status, 200, 'the replaced secret must work during its overlap');
    await sleep(Math.max(0, Number(rotated.body.replaced_expires_at) - Date.now()) + 100);

    const token = await postFormText(
      tokenUrl(gp),
      { grant_type: 'client_credentials' },
      { authorization: basic(board.client_id, board.client_secret) },
    );
    assertOAuthError(token, 401, 'invalid_client');
    assertGatewayError(
      await gateway(gp.staging, gatewayHeaders(board)),
      401,
      'invalid_credentials',
    );
    assertOAuthError(await refresh(gp, String(issued.refresh_token)), 400, 'invalid_grant');
    assertInvalidToken(await gateway(gp.staging, bearer(board, String(issued.access_token))));
    const renewed = { ...board, client_secret: String(rotated.body.secret) };
    assert.equal((await gateway(gp.staging, gatewayHeaders(renewed))).status, 200);
  });
});

describe('revoked secret on two nodes', () => {
  let first: TestGatepass;
  let second: TestGatepass;
  let key = '';
  let board: BoardingResult;

  before(async () => {
    // Both nodes share one database and one issuer, as behind a load balancer. The second has no
    // cache lifetime, so it acts as a node whose cached view has expired. Without Redis a node
    // may accept a revoked secret for up to cacheTtlMs, 2 s by default.
    const settings = { 'environments.staging.publicUrl': 'http://staging.gatepass.test' };
    first = await startTestGatepass({ settings });
    second = await startTestGatepass({
      settings: { ...settings, cacheTtlMs: 0 },
      dataDir: first.dataDir,
    });
    key = await operatorKey(first);
    board = await first.board();
  });
  after(async () => {
    await second.stop();
    await first.close();
  });

  test('revoked secret fails on every node', async () => {
    const token = await clientCredentials(first, board);
    const access = String(token.access_token);
    for (const node of [first, second]) {
      assert.equal((await gateway(node.staging, gatewayHeaders(board))).status, 200);
      assert.equal((await gateway(node.staging, bearer(board, access))).status, 200);
    }

    const revoked = await admin(
      first,
      key,
      'POST',
      `/credentials/${await secretId(first, board)}/revoke`,
      {},
    );
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));

    for (const node of [first, second]) {
      const byHeaders = await gateway(node.staging, gatewayHeaders(board));
      assertGatewayError(byHeaders, 401, 'invalid_credentials');
      assertInvalidToken(await gateway(node.staging, bearer(board, access)));
      const issued = await postFormText(
        tokenUrl(node),
        { grant_type: 'client_credentials' },
        { authorization: basic(board.client_id, board.client_secret) },
      );
      assertOAuthError(issued, 401, 'invalid_client');
      assertOAuthError(await refresh(node, String(token.refresh_token)), 400, 'invalid_grant');
    }
  });
});

describe('admin revocation and a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-field-restart-'));
  // Access tokens carry the issuer URL, so fixed public URLs keep it across the restart.
  const settings = {
    'environments.staging.publicUrl': 'http://127.0.0.1:9/staging',
    'environments.production.publicUrl': 'http://127.0.0.1:9/production',
  };
  let gp: TestGatepass | undefined;
  const dead: Record<string, string> = {};
  let survivor: BoardingResult;

  before(async () => {
    const original = await startTestGatepass({ dataDir, settings });
    const key = await operatorKey(original);
    const resumed = await original.board('Resumed Platform');
    const rotated = await original.board('Rotated Platform');
    survivor = await original.board('Untouched Platform');
    const user = await original.addUser(resumed.platform.id, 'dev@resumed.test', PASSWORD);

    const chains = async (name: string, firstToken: string) => {
      const next = await refresh(original, firstToken);
      assert.equal(next.status, 200, next.text);
      dead[`${name} first`] = firstToken;
      dead[`${name} second`] = String(next.body.refresh_token);
    };
    await chains(
      'suspended client',
      String((await clientCredentials(original, resumed)).refresh_token),
    );
    await chains(
      'revoked secret',
      String((await clientCredentials(original, rotated)).refresh_token),
    );
    const signedIn = await signIn(original, 'dev@resumed.test');
    assert.equal(signedIn.status, 200, signedIn.text);
    await chains('disabled user', String(signedIn.body.refresh_token));

    const steps = [
      await admin(original, key, 'POST', `/platforms/${resumed.platform.id}/suspend`, {}),
      await admin(original, key, 'POST', `/platforms/${resumed.platform.id}/resume`, {}),
      await admin(original, key, 'POST', `/platforms/${rotated.platform.id}/credentials/rotate`, {
        environment: 'staging',
        kind: 'client',
        overlap_seconds: 0,
      }),
      await admin(original, key, 'POST', `/users/${user.id}/disable`, {}),
      await admin(original, key, 'POST', `/users/${user.id}/enable`, {}),
    ];
    for (const step of steps) assert.ok(step.status < 300, JSON.stringify(step.body));
    await original.stop();
    gp = await startTestGatepass({ dataDir, settings });
  });
  after(async () => {
    await gp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await dropTestDatabase(dataDir);
  });

  test('admin revocation survives a restart', async () => {
    const restarted = gp as TestGatepass;
    for (const [name, token] of Object.entries(dead)) {
      const result = await refresh(restarted, token);
      assert.equal(result.status, 400, `${name}: ${result.text}`);
      assert.equal(result.body.error, 'invalid_grant', name);
    }
    const fresh = await clientCredentials(restarted, survivor);
    assert.equal((await refresh(restarted, String(fresh.refresh_token))).status, 200);
  });
});

describe('user sessions after account changes', () => {
  let gp: TestGatepass;
  let key = '';
  let platform: BoardingResult;
  let count = 0;

  before(async () => {
    gp = await startTestGatepass();
    key = await operatorKey(gp);
    platform = await gp.board();
  });
  after(() => gp.close());

  /** Add a user, sign in and make one gateway call, so that the session is in every cache. */
  async function activeUser(): Promise<{
    id: string;
    email: string;
    tokens: Record<string, unknown>;
  }> {
    count += 1;
    const email = `user${count}@acme.test`;
    const { id } = await gp.addUser(platform.platform.id, email, PASSWORD);
    const signedIn = await signIn(gp, email);
    assert.equal(signedIn.status, 200, signedIn.text);
    const call = await gateway(gp.staging, bearer(platform, String(signedIn.body.access_token)));
    assert.equal(call.status, 200, JSON.stringify(call.body));
    return { id, email, tokens: signedIn.body };
  }

  test('password reset ends user access tokens', async () => {
    const { id, email, tokens } = await activeUser();
    await nextSecond();
    const reset = await admin(gp, key, 'POST', `/users/${id}/password`, {
      password: 'another long passphrase',
    });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));

    const access = String(tokens.access_token);
    assertInvalidToken(await gateway(gp.staging, bearer(platform, access)));
    assertOAuthError(await refresh(gp, String(tokens.refresh_token)), 400, 'invalid_grant');
    const inspected = await introspect(gp, access, platform.client_id, platform.client_secret);
    assert.deepEqual(inspected.body, { active: false });
    assertOAuthError(await signIn(gp, email), 400, 'invalid_grant');
  });

  test('disabled user token fails at gateway', async () => {
    const { id, email, tokens } = await activeUser();
    const disabled = await admin(gp, key, 'POST', `/users/${id}/disable`, {});
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));

    assertInvalidToken(await gateway(gp.staging, bearer(platform, String(tokens.access_token))));
    const refused = await signIn(gp, email);
    const wrongPassword = await signIn(gp, email, 'not the password at all');
    assertOAuthError(refused, 400, 'invalid_grant');
    assert.equal(refused.text, wrongPassword.text);
  });

  test('re-enabled user keeps old tokens dead', async () => {
    const { id, email, tokens } = await activeUser();
    await nextSecond();
    await gp.running.context.users.disable(id, OPERATOR);
    await gp.running.context.users.enable(id, OPERATOR);

    assertInvalidToken(await gateway(gp.staging, bearer(platform, String(tokens.access_token))));
    assertOAuthError(await refresh(gp, String(tokens.refresh_token)), 400, 'invalid_grant');
    const renewed = await signIn(gp, email);
    assert.equal(renewed.status, 200, renewed.text);
    const call = await gateway(gp.staging, bearer(platform, String(renewed.body.access_token)));
    assert.equal(call.status, 200);
  });
});

describe('revoked access tokens on every path', () => {
  let gp: TestGatepass;
  let key = '';

  before(async () => {
    gp = await startTestGatepass();
    key = await operatorKey(gp);
  });
  after(() => gp.close());

  /**
   * Assert that every surface a platform's token reaches rejects `access`, asking introspection
   * with a client secret that still works.
   */
  async function assertRejectedEverywhere(
    label: string,
    board: BoardingResult,
    access: string,
    liveSecret: string,
  ): Promise<void> {
    const call = await gateway(gp.staging, bearer(board, access));
    assert.equal(call.status, 401, `${label} gateway: ${JSON.stringify(call.body)}`);
    assert.equal(call.body.code, 'invalid_token', label);
    const inspected = await introspect(gp, access, board.client_id, liveSecret);
    assert.equal(inspected.status, 200, `${label} introspection: ${inspected.text}`);
    assert.deepEqual(inspected.body, { active: false }, label);
    const revoked = await postFormText(
      `${gp.staging}/v1/auth/revoke`,
      { token: access },
      { authorization: basic(board.client_id, liveSecret) },
    );
    assert.equal(revoked.status, 200, `${label} revocation: ${revoked.text}`);
    const adminCall = await reply(
      await fetch(`${gp.admin}/admin/v1/platforms/${board.platform.id}`, {
        headers: { authorization: `Bearer ${access}` },
      }),
    );
    assert.equal(adminCall.status, 401, `${label} admin API`);
  }

  test('revoked tokens fail on every path', async () => {
    const secretBoard = await gp.board('Revoked Secret');
    const rotated = await gp.running.context.credentials.rotate(
      {
        platformId: secretBoard.platform.id,
        environment: 'staging',
        kind: 'client',
        overlapSeconds: 600,
      },
      OPERATOR,
    );
    const secretToken = String((await clientCredentials(gp, secretBoard)).access_token);

    const suspendedBoard = await gp.board('Suspended Then Resumed');
    const suspendedToken = String((await clientCredentials(gp, suspendedBoard)).access_token);

    const userBoard = await gp.board('User Platform');
    const disabled = await gp.addUser(userBoard.platform.id, 'disabled@user.test', PASSWORD);
    const reset = await gp.addUser(userBoard.platform.id, 'reset@user.test', PASSWORD);
    const disabledToken = String((await signIn(gp, 'disabled@user.test')).body.access_token);
    const resetToken = String((await signIn(gp, 'reset@user.test')).body.access_token);

    const tokens = [
      [secretBoard, secretToken],
      [suspendedBoard, suspendedToken],
      [userBoard, disabledToken],
      [userBoard, resetToken],
    ] as const;
    for (const [board, token] of tokens) {
      const primed = await gateway(gp.staging, bearer(board, token));
      assert.equal(primed.status, 200, JSON.stringify(primed.body));
      const active = await introspect(gp, token, board.client_id, board.client_secret);
      assert.equal(active.body.active, true, active.text);
    }
    await nextSecond();

    const steps = [
      await admin(gp, key, 'POST', `/credentials/${rotated.replaced_secret_id}/revoke`, {}),
      await admin(gp, key, 'POST', `/platforms/${suspendedBoard.platform.id}/suspend`, {}),
      await admin(gp, key, 'POST', `/platforms/${suspendedBoard.platform.id}/resume`, {}),
      await admin(gp, key, 'POST', `/users/${disabled.id}/disable`, {}),
      await admin(gp, key, 'POST', `/users/${reset.id}/password`, {
        password: 'a new long passphrase',
      }),
    ];
    for (const step of steps) assert.equal(step.status, 200, JSON.stringify(step.body));

    await assertRejectedEverywhere('revoked secret', secretBoard, secretToken, rotated.secret);
    await assertRejectedEverywhere(
      'resumed platform',
      suspendedBoard,
      suspendedToken,
      suspendedBoard.client_secret,
    );
    await assertRejectedEverywhere(
      'disabled user',
      userBoard,
      disabledToken,
      userBoard.client_secret,
    );
    await assertRejectedEverywhere(
      'password reset',
      userBoard,
      resetToken,
      userBoard.client_secret,
    );
  });
});

describe('tokens of other kinds as access tokens', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('non-access tokens rejected as bearer', async () => {
    const tokens = await clientCredentials(gp, platform);
    const forwarded = await gateway(gp.staging, gatewayHeaders(platform));
    const assertion = String(forwarded.body.identity['x-gatepass-assertion']);
    assert.equal(decodeProtectedHeader(assertion).typ, 'gatepass-assertion+jwt');
    const key = await operatorKey(gp);
    const presented = {
      'refresh token': String(tokens.refresh_token),
      'upstream assertion': assertion,
      'operator key': key,
      'client secret': platform.client_secret,
      'module secret': String(platform.modules.demo?.module_secret),
    };
    for (const [name, token] of Object.entries(presented)) {
      const result = await gateway(gp.staging, bearer(platform, token));
      assert.equal(result.status, 401, `${name}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.code, 'invalid_token', name);
      assert.match(result.headers.get('www-authenticate') ?? '', /error="invalid_token"/, name);
    }

    for (const token of [assertion, String(tokens.access_token)]) {
      assertOAuthError(await refresh(gp, token), 400, 'invalid_grant');
    }
  });
});

describe('signing keys after rotation', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  async function stagingKids(): Promise<string[]> {
    const jwks = (await (await fetch(`${gp.staging}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    return jwks.keys.map((k) => k.kid);
  }

  test('retired key tokens fail after expiry', async () => {
    const usedToken = String((await clientCredentials(gp, platform)).access_token);
    const unusedToken = String((await clientCredentials(gp, platform)).access_token);
    const oldKid = String(decodeProtectedHeader(usedToken).kid);
    await gp.running.context.keyrings.staging.rotate(0);
    const newToken = String((await clientCredentials(gp, platform)).access_token);
    assert.notEqual(decodeProtectedHeader(newToken).kid, oldKid);
    assert.equal((await gateway(gp.staging, bearer(platform, usedToken))).status, 200);
    assert.ok((await stagingKids()).includes(oldKid), 'a retired key stays published a while');

    // Move the retired key's end of publication into the past, as if its overlap had passed.
    // Only a token this node has not verified yet shows the key's removal, because a verified
    // token is cached for up to 60 s. A key normally outlives every token it signed.
    await gp.running.context.store.db
      .updateTable('signing_keys')
      .set({ expires_at: Date.now() - 1000 })
      .where('kid', '=', oldKid)
      .execute();
    await gp.running.context.keyrings.staging.reload();

    assert.ok(!(await stagingKids()).includes(oldKid), 'an expired key is no longer published');
    assertInvalidToken(await gateway(gp.staging, bearer(platform, unusedToken)));
    assert.equal((await gateway(gp.staging, bearer(platform, newToken))).status, 200);
  });
});

describe('credentials in the URL', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('query credentials stay out of logs', async () => {
    const issued = await clientCredentials(gp, platform);
    const access = String(issued.access_token);
    const moduleSecret = String(platform.modules.demo?.module_secret);
    const secrets = {
      access_token: access,
      module_secret: moduleSecret,
      client_secret: platform.client_secret,
      refresh_token: String(issued.refresh_token),
    };

    const byToken = await gateway(gp.staging, {}, `/demo/resource?access_token=${access}`);
    assertGatewayError(byToken, 401, 'missing_credentials');
    const { 'x-module-secret': _omitted, ...withoutModule } = gatewayHeaders(platform);
    const byModule = await gateway(
      gp.staging,
      withoutModule,
      `/demo/resource?module_secret=${moduleSecret}&x-module-secret=${moduleSecret}`,
    );
    assertGatewayError(byModule, 401, 'missing_module_secret');
    const query = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: secrets.refresh_token,
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });
    assertOAuthError(await postRaw(`${tokenUrl(gp)}?${query}`, ''), 400, 'invalid_request');

    await gp.running.context.requestLog.flush();
    const rows = await gp.running.context.store.requestLog.list({
      platformId: platform.platform.id,
    });
    assert.ok(rows.length > 0, 'the refused module call must have a request-log row');
    assert.deepEqual(findSecrets(JSON.stringify(rows), secrets), []);
    assert.deepEqual(findSecrets(gp.logs.join('\n'), secrets), []);
  });
});

describe('secrets of the wrong length', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  /** Variants of `secret` that differ from it in length, including in bytes only. */
  function wrongLengths(secret: string): Record<string, string> {
    return {
      'one character longer': `${secret}A`,
      'one character shorter': secret.slice(0, -1),
      'single character': 'A',
      'twice as long': `${secret}${secret}`,
      'multi-byte last character': `${secret.slice(0, -1)}\u00e9`,
      'only the prefix': secret.slice(0, 11),
    };
  }

  test('wrong-length secrets return 401', async () => {
    for (const secret of Object.values(wrongLengths(platform.client_secret))) {
      const body = await postFormText(tokenUrl(gp), {
        grant_type: 'client_credentials',
        client_id: platform.client_id,
        client_secret: secret,
      });
      assertOAuthError(body, 401, 'invalid_client');
      const result = await postRaw(tokenUrl(gp), 'grant_type=client_credentials', {
        authorization: basic(platform.client_id, secret),
      });
      assertOAuthError(result, 401, 'invalid_client');
    }

    const headerCases = [
      ['x-client-secret', platform.client_secret, 'invalid_credentials'],
      ['x-module-secret', String(platform.modules.demo?.module_secret), 'invalid_module_secret'],
      [
        'x-provider-secret',
        String(platform.modules.demo?.provider_secret),
        'invalid_provider_secret',
      ],
    ] as const;
    for (const [header, secret, code] of headerCases) {
      for (const [name, wrong] of Object.entries(wrongLengths(secret))) {
        const result = await gateway(gp.staging, { ...gatewayHeaders(platform), [header]: wrong });
        assert.equal(result.status, 401, `${header} ${name}: ${JSON.stringify(result.body)}`);
        assert.equal(result.body.code, code, `${header} ${name}`);
      }
    }
  });
});

describe('brute force against the token API', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  const attacker = '203.0.113.9';
  const owner = '198.51.100.7';

  before(async () => {
    gp = await startTestGatepass({
      settings: {
        trustProxy: true,
        'rateLimits.tokenPerClientPerMinute': 5,
        'rateLimits.tokenPerAddressPerMinute': 1000,
        'rateLimits.signInFailuresBeforeLockout': 3,
        'rateLimits.signInLockoutSeconds': 60,
      },
    });
    platform = await gp.board();
    await gp.addUser(platform.platform.id, 'victim@example.test', PASSWORD);
  });
  after(() => gp.close());

  function from(address: string, form: Record<string, string>): Promise<TokenReply> {
    return postFormText(tokenUrl(gp), form, { 'x-forwarded-for': address });
  }

  test('wrong client secrets hit the limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const guess = await from(attacker, {
        grant_type: 'client_credentials',
        client_id: platform.client_id,
        client_secret: `gp_test_cs_guess${i}`,
      });
      statuses.push(guess.status);
      if (guess.status === 429) {
        assertOAuthError(guess, 429, 'rate_limited');
        assert.match(guess.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      } else {
        assertOAuthError(guess, 401, 'invalid_client');
      }
    }
    assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(15).fill(429)]);

    const real = { grant_type: 'client_credentials', client_id: platform.client_id };
    const attackerWithSecret = await from(attacker, {
      ...real,
      client_secret: platform.client_secret,
    });
    assertOAuthError(attackerWithSecret, 429, 'rate_limited');
    const ownerCall = await from(owner, { ...real, client_secret: platform.client_secret });
    assert.equal(ownerCall.status, 200, 'a stranger must not lock the client out elsewhere');
  });

  test('sign-in lockout spares other addresses', async () => {
    const emails = ['victim@example.test', 'Victim@Example.test', ' VICTIM@example.test '];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const email = emails[i % emails.length] as string;
      const guess = await from(attacker, {
        grant_type: 'user_credentials',
        email,
        password: `wrong-${i}`,
      });
      statuses.push(guess.status);
    }
    assert.deepEqual(statuses, [400, 400, 400, 429, 429, 429]);

    const correct = {
      grant_type: 'user_credentials',
      email: 'victim@example.test',
      password: PASSWORD,
    };
    const locked = await from(attacker, correct);
    assertOAuthError(locked, 429, 'rate_limited');
    assert.match(locked.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const ownerSignIn = await from(owner, correct);
    assert.equal(ownerSignIn.status, 200, ownerSignIn.text);
  });
});

describe('email case at sign-up', () => {
  let gp: TestGatepass;
  let key = '';
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    key = await operatorKey(gp);
    platform = await gp.board();
  });
  after(() => gp.close());

  test('email case variants conflict', async () => {
    const path = `/platforms/${platform.platform.id}/users`;
    const created = await admin(gp, key, 'POST', path, {
      email: 'Owner@Example.test',
      role: 'owner',
      password: PASSWORD,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.email, 'owner@example.test');

    for (const email of ['owner@example.test', ' owner@example.test ']) {
      const signedIn = await signIn(gp, email);
      assert.equal(signedIn.status, 200, `${JSON.stringify(email)}: ${signedIn.text}`);
      assert.equal(decodeJwt(String(signedIn.body.access_token)).sub, created.body.id);
    }

    const other = await gp.board('Other Platform');
    for (const [where, email] of [
      [path, 'OWNER@example.test'],
      [path, ' owner@EXAMPLE.TEST '],
      [`/platforms/${other.platform.id}/users`, 'owner@example.test'],
    ] as const) {
      const again = await admin(gp, key, 'POST', where, {
        email,
        role: 'developer',
        password: PASSWORD,
      });
      assert.equal(again.status, 409, `${JSON.stringify(email)}: ${JSON.stringify(again.body)}`);
      assert.equal(again.body.code, 'conflict');
    }
    const users = await admin(gp, key, 'GET', path);
    assert.equal(users.body.length, 1);
  });
});

describe('keys of the two environments', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('production key cannot sign staging tokens', async () => {
    const jwks = async (base: string) =>
      (
        (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as {
          keys: Array<{ kid: string; x?: string }>;
        }
      ).keys;
    const staging = await jwks(gp.staging);
    const production = await jwks(gp.production);
    assert.ok(staging.length > 0, 'staging publishes no key');
    assert.ok(production.length > 0, 'production publishes no key');
    for (const key of staging) {
      assert.ok(!production.some((other) => other.kid === key.kid), `kid ${key.kid} is shared`);
      assert.ok(!production.some((other) => other.x === key.x), `key of ${key.kid} is shared`);
    }

    const claims = decodeJwt(String((await clientCredentials(gp, platform)).access_token));
    const forged = await gp.running.context.keyrings.production.sign(
      { ...claims, jti: 'signed-by-production' },
      'at+jwt',
    );
    assertInvalidToken(await gateway(gp.staging, bearer(platform, forged)));
  });
});

describe('go-live approval by one operator', () => {
  let gp: TestGatepass;
  let alice = '';
  let board: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({ settings: { 'goLive.approvalsRequired': 2 } });
    alice = await operatorKey(gp);
    board = await gp.board();
    for (const item of ['agreement-signed', 'compliance-verified', 'production-addresses']) {
      await gp.running.context.goLive.check(board.platform.id, item, 'checked', OPERATOR);
    }
    const call = await gateway(gp.staging, gatewayHeaders(board));
    assert.equal(call.status, 200, 'the staging-tests item needs one staging call per module');
    await gp.running.context.requestLog.flush();
  });
  after(() => gp.close());

  test('one operator cannot approve twice', async () => {
    const minted = await admin(gp, alice, 'POST', '/operators/keys', { name: 'mallory' });
    const second = typeof minted.body.key === 'string' ? minted.body.key : 'gp_admin_none';
    const path = `/platforms/${board.platform.id}/approve`;
    await admin(gp, second, 'POST', path, {});
    await admin(gp, alice, 'POST', path, {});

    const shown = await admin(gp, alice, 'GET', `/platforms/${board.platform.id}`);
    assert.equal(shown.status, 200, JSON.stringify(shown.body));
    assert.equal(shown.body.platform.status, 'staging', 'one person approved go-live twice');
  });
});
