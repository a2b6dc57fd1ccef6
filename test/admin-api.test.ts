/**
 * The admin API on a real admin listener: operator-key authentication that reveals nothing to
 * an unauthenticated caller, every group of operations with a valid key, the go-live approval
 * rules, signing-key rotation, and the OpenAPI document with its reference page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { OPERATIONS } from '../src/admin-api/operations/index.js';
import type { BoardingResult } from '../src/services/platforms.js';
import {
  gatewayHeaders,
  OPERATOR,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

interface ApiResult {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

/** Upper bound on waits for rows written in batches: audit rows every 1 s, requests every 0.5 s. */
const BATCH_DEADLINE_MS = 10_000;
const CHECKLIST_ITEMS = ['agreement-signed', 'compliance-verified', 'production-addresses'];

async function api(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  const response = await fetch(`${base}/admin/v1${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/** Call `read` until `done` accepts its result, or fail after BATCH_DEADLINE_MS. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + BATCH_DEADLINE_MS;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

async function stagingToken(gp: TestGatepass, board: BoardingResult): Promise<string> {
  const response = await postForm(`${gp.staging}/v1/auth/token`, {
    grant_type: 'client_credentials',
    client_id: board.client_id,
    client_secret: board.client_secret,
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return String(response.body.access_token);
}

/** Return every full secret of `board` that appears in `text`. */
function leakedSecrets(text: string, board: BoardingResult): string[] {
  const secrets = [board.client_secret, ...Object.values(moduleSecrets(board))];
  return secrets.filter((secret) => text.includes(secret));
}

function moduleSecrets(board: BoardingResult): Record<string, string> {
  const { 'x-client-id': _id, 'x-client-secret': _secret, ...secrets } = gatewayHeaders(board);
  return secrets;
}

describe('admin API authentication', () => {
  let gp: TestGatepass;
  let platformId = '';
  let key = '';

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    platformId = (await gp.board()).platform.id;
  });
  after(() => gp.close());

  const targets = () => [
    { name: 'existing platform', method: 'GET', path: `/platforms/${platformId}` },
    { name: 'unknown platform', method: 'GET', path: '/platforms/plt_doesnotexist0' },
    { name: 'unknown route', method: 'GET', path: '/no-such-route' },
    { name: 'suspend existing', method: 'POST', path: `/platforms/${platformId}/suspend` },
  ];
  const wrongKeys: Array<{ name: string; key: string | undefined }> = [
    { name: 'missing key', key: undefined },
    { name: 'wrong key', key: `gp_admin_${'A'.repeat(49)}` },
    { name: 'malformed key', key: 'not-a-key' },
  ];

  for (const wrong of wrongKeys) {
    test(`${wrong.name} gets 401 everywhere`, async () => {
      const results: ApiResult[] = [];
      for (const target of targets()) {
        const result = await api(gp.admin, target.method, target.path, {
          ...(wrong.key ? { key: wrong.key } : {}),
          ...(target.method === 'POST' ? { body: {} } : {}),
        });
        assert.equal(result.status, 401, `${target.name}: ${JSON.stringify(result.body)}`);
        assert.match(result.headers.get('content-type') ?? '', /application\/json/);
        assert.deepEqual(Object.keys(result.body).sort(), ['code', 'message', 'request_id']);
        assert.equal(typeof result.body.request_id, 'string');
        results.push(result);
      }
      const [first, ...rest] = results.map(({ body: { request_id: _id, ...body } }) => body);
      for (const body of rest) assert.deepEqual(body, first);
    });
  }

  test('401 bodies differ only in request_id', async () => {
    const one = await api(gp.admin, 'GET', `/platforms/${platformId}`);
    const two = await api(gp.admin, 'GET', '/no-such-route');

    assert.notEqual(one.body.request_id, two.body.request_id);
    assert.equal(one.body.message, two.body.message);
  });

  test('rejected suspend changes nothing', async () => {
    await api(gp.admin, 'POST', `/platforms/${platformId}/suspend`, { body: {} });
    const shown = await api(gp.admin, 'GET', `/platforms/${platformId}`, { key });

    assert.equal(shown.body.platform.status, 'staging');
  });

  test('revoked key gets 401', async () => {
    const created = await gp.running.context.operators.createKey('carol', OPERATOR);
    const revoked = await api(gp.admin, 'POST', `/operators/keys/${created.key_id}/revoke`, {
      key,
      body: {},
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const result = await api(gp.admin, 'GET', '/platforms', { key: created.key });

    assert.equal(result.status, 401);
  });

  test('valid key reaches unknown route', async () => {
    const result = await api(gp.admin, 'GET', '/no-such-route', { key });

    assert.equal(result.status, 404);
    assert.equal(result.body.code, 'not_found');
  });
});

describe('admin API operations', () => {
  let gp: TestGatepass;
  let key = '';
  let board: BoardingResult;
  let platformId = '';

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
  });
  after(() => gp.close());

  const call = (method: string, path: string, body?: unknown) =>
    api(gp.admin, method, path, body === undefined ? { key } : { key, body });

  test('board returns credentials once', async () => {
    const result = await call('POST', '/platforms', { name: 'Acme Retail', modules: ['demo'] });
    assert.equal(result.status, 201, JSON.stringify(result.body));
    board = result.body as BoardingResult;
    platformId = board.platform.id;

    assert.equal(board.platform.status, 'staging');
    assert.match(board.client_secret, /^gp_test_cs_/);
    assert.match(board.modules.demo?.module_secret ?? '', /^gp_test_ms_/);
    assert.match(board.modules.demo?.provider_secret ?? '', /^gp_test_ps_/);
    assert.equal(result.headers.get('cache-control'), 'no-store');
  });

  test('board rejects unknown module', async () => {
    const result = await call('POST', '/platforms', { name: 'Bad', modules: ['nope'] });

    assert.equal(result.status, 400);
    assert.match(result.body.message, /"nope"/);
  });

  test('list and show the platform', async () => {
    const list = await call('GET', '/platforms');
    const shown = await call('GET', `/platforms/${platformId}`);

    assert.equal(list.status, 200);
    assert.ok(list.body.some((p: { id: string }) => p.id === platformId));
    assert.equal(shown.status, 200);
    assert.equal(shown.body.platform.name, 'Acme Retail');
    assert.deepEqual(
      shown.body.environments.map((e: { environment: string }) => e.environment),
      ['staging'],
    );
    assert.deepEqual(leakedSecrets(JSON.stringify(shown.body), board), []);
  });

  test('show unknown platform is 404', async () => {
    const result = await call('GET', '/platforms/plt_doesnotexist0');

    assert.equal(result.status, 404);
    assert.equal(result.body.code, 'not_found');
  });

  test('rotate issues a working secret', async () => {
    const result = await call('POST', `/platforms/${platformId}/credentials/rotate`, {
      environment: 'staging',
      kind: 'client',
      overlap_seconds: 0,
    });
    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.equal(result.headers.get('cache-control'), 'no-store');
    assert.match(result.body.secret, /^gp_test_cs_/);

    const old = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    board = { ...board, client_secret: result.body.secret };
    const fresh = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    assert.equal(old.status, 401);
    assert.equal(fresh.status, 200);
  });

  test('rotate rejects missing module', async () => {
    const result = await call('POST', `/platforms/${platformId}/credentials/rotate`, {
      environment: 'staging',
      kind: 'module',
      overlap_seconds: 0,
    });

    assert.equal(result.status, 400);
    assert.match(result.body.message, /module id/);
  });

  test('revoke stops a secret', async () => {
    const rotated = await call('POST', `/platforms/${platformId}/credentials/rotate`, {
      environment: 'staging',
      kind: 'client',
      overlap_seconds: 3600,
    });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const replaced = rotated.body.replaced_secret_id as string;

    const revoked = await call('POST', `/credentials/${replaced}/revoke`, {});
    const again = await call('POST', `/credentials/${replaced}/revoke`, {});
    const old = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    board = { ...board, client_secret: rotated.body.secret };
    const fresh = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });

    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(again.status, 409);
    assert.equal(old.status, 401);
    assert.equal(fresh.status, 200);
  });

  test('credentials list shows hints only', async () => {
    const result = await call('GET', `/platforms/${platformId}/credentials`);

    assert.equal(result.status, 200);
    assert.ok(result.body.length >= 3);
    assert.deepEqual(leakedSecrets(JSON.stringify(result.body), board), []);
    assert.ok(result.body.every((s: { hint: string }) => s.hint.includes('…')));
  });

  test('users add and disable', async () => {
    const added = await call('POST', `/platforms/${platformId}/users`, {
      email: 'Dev@Acme.test',
      role: 'developer',
      password: 'correct-horse-battery',
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.email, 'dev@acme.test');
    assert.equal(added.body.password, undefined);

    const disabled = await call('POST', `/users/${added.body.id}/disable`, {});
    const users = await call('GET', `/platforms/${platformId}/users`);
    assert.equal(disabled.status, 200);
    assert.equal(users.body[0]?.status, 'disabled');
  });

  test('users add rejects short password', async () => {
    const result = await call('POST', `/platforms/${platformId}/users`, {
      email: 'short@acme.test',
      role: 'viewer',
      password: 'short',
    });

    assert.equal(result.status, 400);
    assert.equal(result.body.code, 'invalid_request');
  });

  test('allowlist accepts IPv4, IPv6, CIDR', async () => {
    const entries = ['203.0.113.7', '2001:db8::1', '198.51.100.0/24', '2001:db8:1::/48'];
    const result = await call('PUT', `/platforms/${platformId}/allowlist/staging`, { entries });
    const shown = await call('GET', `/platforms/${platformId}/allowlist`);

    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(result.body.entries, entries);
    assert.deepEqual(shown.body.staging, entries);
    assert.deepEqual(shown.body.production, []);
  });

  test('allowlist blocks other addresses', async () => {
    const blocked = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    const body = (await blocked.json()) as { code?: string };

    assert.equal(blocked.status, 403);
    assert.equal(body.code, 'address_not_allowed');
  });

  test('allowlist rejects invalid entries', async () => {
    const invalid = [
      '300.1.2.3',
      '10.0.0.0/33',
      'example.test',
      '2001:db8::/129',
      '1.2.3.4/8/1',
      'fe80::1%eth0',
    ];
    const result = await call('PUT', `/platforms/${platformId}/allowlist/staging`, {
      entries: ['127.0.0.1', ...invalid],
    });
    const shown = await call('GET', `/platforms/${platformId}/allowlist`);

    assert.equal(result.status, 400);
    assert.equal(result.body.code, 'invalid_request');
    for (const entry of invalid) assert.ok(result.body.message.includes(`"${entry}"`), entry);
    assert.ok(!result.body.message.includes('"127.0.0.1"'));
    assert.equal(shown.body.staging.length, 4);
  });

  test('allowlist with loopback lets calls in', async () => {
    const set = await call('PUT', `/platforms/${platformId}/allowlist/staging`, {
      entries: ['127.0.0.0/8', '::1'],
    });
    const response = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });

    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(response.status, 200);
  });

  test('suspend and resume platform', async () => {
    const suspended = await call('POST', `/platforms/${platformId}/suspend`, {});
    const blocked = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    const resumed = await call('POST', `/platforms/${platformId}/resume`, {});
    const open = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });

    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    assert.equal(blocked.status, 403);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.status, 'staging');
    assert.equal(open.status, 200);
  });

  test('resume of active platform is 409', async () => {
    const result = await call('POST', `/platforms/${platformId}/resume`, {});

    assert.equal(result.status, 409);
    assert.match(result.body.message, /not suspended/);
  });

  test('checklist check and comment', async () => {
    const checked = await call('POST', `/platforms/${platformId}/checklist/agreement-signed`, {
      comment: 'Signed copy filed.',
    });
    const commented = await call('POST', `/platforms/${platformId}/comments`, {
      body: 'When do the production addresses arrive?',
    });
    const shown = await call('GET', `/platforms/${platformId}/checklist`);
    const item = shown.body.items.find((i: { id: string }) => i.id === 'agreement-signed');

    assert.equal(checked.status, 200, JSON.stringify(checked.body));
    assert.equal(commented.status, 201, JSON.stringify(commented.body));
    assert.equal(item.checked, true);
    assert.equal(item.checked_by, 'alice');
    assert.equal(item.comment, 'Signed copy filed.');
    assert.equal(shown.body.comments[0]?.author_name, 'alice');
  });

  test('checklist rejects staging-tests item', async () => {
    const result = await call('POST', `/platforms/${platformId}/checklist/staging-tests`, {
      comment: 'done',
    });

    assert.equal(result.status, 409);
  });

  test('checklist rejects a pasted secret', async () => {
    const result = await call('POST', `/platforms/${platformId}/comments`, {
      body: `my secret is ${board.client_secret}`,
    });

    assert.equal(result.status, 400);
    assert.doesNotMatch(result.body.message, /gp_test_cs_/);
  });

  test('approve goes live with every item', async () => {
    await gp.running.context.requestLog.flush();
    for (const item of CHECKLIST_ITEMS.slice(1)) {
      const checked = await call('POST', `/platforms/${platformId}/checklist/${item}`, {
        comment: `${item} done`,
      });
      assert.equal(checked.status, 200, JSON.stringify(checked.body));
    }
    const result = await call('POST', `/platforms/${platformId}/approve`, {});

    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.headers.get('cache-control'), 'no-store');
    assert.equal(result.body.status, 'live');
    assert.match(result.body.production.client_secret, /^gp_live_cs_/);
  });

  test('audit lists the operator actions', async () => {
    const actions = [
      'platform.boarded',
      'platform.suspended',
      'platform.resumed',
      'credential.rotated',
      'credential.revoked',
      'user.added',
      'user.disabled',
      'allowlist.updated',
      'checklist.checked',
      'checklist.commented',
      'golive.approved',
      'platform.live',
    ];
    const result = await poll(
      () => call('GET', `/audit?platform=${platformId}&limit=1000`),
      (r) => actions.every((a) => r.body.some((row: { action: string }) => row.action === a)),
    );
    const found = new Set(result.body.map((row: { action: string }) => row.action));

    assert.equal(result.status, 200);
    for (const action of actions) assert.ok(found.has(action), action);
    assert.ok(result.body.every((row: { actor_id: string }) => row.actor_id !== ''));
    assert.doesNotMatch(JSON.stringify(result.body), /gp_(test|live)_/);
  });

  test('audit filters by action', async () => {
    const result = await call('GET', '/audit?action=platform.live');

    assert.equal(result.status, 200);
    assert.equal(result.body.length, 1);
    assert.equal(result.body[0]?.actor_id, 'alice');
    assert.equal(result.body[0]?.address, '127.0.0.1');
    assert.equal(result.body[0]?.hash, undefined);
  });

  test('audit verify returns ok', async () => {
    const result = await call('GET', '/audit/verify');

    assert.equal(result.status, 200);
    assert.equal(result.body.ok, true);
  });

  test('requests lists gateway calls', async () => {
    await gp.running.context.requestLog.flush();
    const result = await call('GET', `/requests?platform=${platformId}&status=2`);

    assert.equal(result.status, 200);
    assert.ok(result.body.length >= 1);
    assert.equal(result.body[0]?.module_id, 'demo');
    assert.doesNotMatch(JSON.stringify(result.body), /gp_(test|live)_/);
  });

  test('requests rejects invalid filter', async () => {
    const result = await call('GET', '/requests?status=abc');

    assert.equal(result.status, 400);
    assert.match(result.body.message, /status/);
  });

  test('operator keys list hints only', async () => {
    const result = await call('GET', '/operators/keys');

    assert.equal(result.status, 200);
    assert.equal(result.body[0]?.operator, 'alice');
    assert.doesNotMatch(JSON.stringify(result.body), new RegExp(key));
  });

  test('operator create-key is no-store', async () => {
    const result = await call('POST', '/operators/keys', { name: 'alice' });

    assert.equal(result.status, 201, JSON.stringify(result.body));
    assert.match(result.body.key, /^gp_admin_/);
    assert.equal(result.headers.get('cache-control'), 'no-store');
  });

  test('key for another operator is forbidden', async () => {
    const result = await call('POST', '/operators/keys', { name: 'mallory' });

    assert.equal(result.status, 403, JSON.stringify(result.body));
    assert.equal(result.body.code, 'forbidden');
  });

  test('invalid JSON body is 400', async () => {
    const response = await fetch(`${gp.admin}/admin/v1/platforms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    const body = (await response.json()) as { code?: string };

    assert.equal(response.status, 400);
    assert.equal(body.code, 'invalid_request');
  });
});

describe('admin API signing keys', () => {
  let gp: TestGatepass;
  let key = '';
  let board: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    board = await gp.board();
  });
  after(() => gp.close());

  test('rotate publishes new kid', async () => {
    const oldToken = await stagingToken(gp, board);
    const oldKid = decodeProtectedHeader(oldToken).kid;
    const listed = await api(gp.admin, 'GET', '/keys/staging', { key });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.map((k: { kid: string }) => k.kid),
      [oldKid],
    );

    const rotated = await api(gp.admin, 'POST', '/keys/staging/rotate', {
      key,
      body: { publish_delay_seconds: 0 },
    });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const newKid = rotated.body.kid as string;
    const jwks = (await (await fetch(`${gp.staging}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    const kids = jwks.keys.map((k) => k.kid);

    assert.notEqual(newKid, oldKid);
    assert.ok(kids.includes(newKid), 'new kid published');
    assert.ok(kids.includes(oldKid ?? ''), 'old kid still published');

    const oldCall = await fetch(`${gp.staging}/demo/x`, {
      headers: { authorization: `Bearer ${oldToken}`, ...moduleSecrets(board) },
    });
    assert.equal(oldCall.status, 200);

    const newToken = await stagingToken(gp, board);
    assert.equal(decodeProtectedHeader(newToken).kid, newKid);
    const newCall = await fetch(`${gp.staging}/demo/x`, {
      headers: { authorization: `Bearer ${newToken}`, ...moduleSecrets(board) },
    });
    assert.equal(newCall.status, 200);
  });

  test('rotate leaves production alone', async () => {
    const listed = await api(gp.admin, 'GET', '/keys/production', { key });
    const jwks = (await (await fetch(`${gp.production}/.well-known/jwks.json`)).json()) as {
      keys: unknown[];
    };

    assert.equal(listed.body.length, 1);
    assert.equal(jwks.keys.length, 1);
  });

  test('rotate rejects negative delay', async () => {
    const result = await api(gp.admin, 'POST', '/keys/staging/rotate', {
      key,
      body: { publish_delay_seconds: -1 },
    });

    assert.equal(result.status, 400);
  });
});

describe('go-live approval rules', () => {
  let gp: TestGatepass;
  let alice = '';
  let bob = '';
  let board: BoardingResult;
  let platformId = '';

  before(async () => {
    gp = await startTestGatepass({ settings: { 'goLive.approvalsRequired': 2 } });
    alice = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    bob = (await gp.running.context.operators.createKey('bob', OPERATOR)).key;
    board = await gp.board();
    platformId = board.platform.id;
  });
  after(() => gp.close());

  const approve = (key: string) =>
    api(gp.admin, 'POST', `/platforms/${platformId}/approve`, { key, body: {} });
  const show = () => api(gp.admin, 'GET', `/platforms/${platformId}`, { key: alice });
  const environments = (result: ApiResult) =>
    result.body.environments.map((e: { environment: string }) => e.environment);

  test('unchecked item blocks approval', async () => {
    for (const item of CHECKLIST_ITEMS.slice(0, 2)) {
      await api(gp.admin, 'POST', `/platforms/${platformId}/checklist/${item}`, {
        key: alice,
        body: { comment: 'ok' },
      });
    }
    const result = await approve(alice);
    const shown = await show();

    assert.equal(result.status, 409);
    assert.match(result.body.message, /production-addresses/);
    assert.match(result.body.message, /staging-tests/);
    assert.doesNotMatch(result.body.message, /agreement-signed/);
    assert.deepEqual(environments(shown), ['staging']);
    assert.equal(shown.body.platform.status, 'staging');
  });

  test('refused approval is not counted', async () => {
    const checklist = await api(gp.admin, 'GET', `/platforms/${platformId}/checklist`, {
      key: alice,
    });

    assert.deepEqual(checklist.body.approvals, []);
  });

  test('staging call checks staging-tests', async () => {
    const response = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    assert.equal(response.status, 200);
    await gp.running.context.requestLog.flush();
    const checklist = await api(gp.admin, 'GET', `/platforms/${platformId}/checklist`, {
      key: alice,
    });
    const item = checklist.body.items.find((i: { id: string }) => i.id === 'staging-tests');

    assert.equal(item.checked, true);
    assert.deepEqual(checklist.body.untested_modules, []);
  });

  test('one approval of two waits', async () => {
    await api(gp.admin, 'POST', `/platforms/${platformId}/checklist/production-addresses`, {
      key: alice,
      body: { comment: 'ok' },
    });
    const result = await approve(alice);

    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.status, 'awaiting_approvals');
    assert.equal(result.body.approvals, 1);
    assert.equal(result.body.production, undefined);
  });

  test('same operator twice is refused', async () => {
    const result = await approve(alice);
    const shown = await show();

    assert.equal(result.status, 409);
    assert.match(result.body.message, /already approved/);
    assert.equal(shown.body.platform.status, 'staging');
    assert.deepEqual(environments(shown), ['staging']);
  });

  test('second operator makes it live', async () => {
    const result = await approve(bob);
    const shown = await show();

    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.status, 'live');
    assert.match(result.body.production.client_id, /^gpc_live_/);
    assert.match(result.body.production.client_secret, /^gp_live_cs_/);
    assert.equal(shown.body.platform.status, 'live');
    assert.deepEqual(environments(shown).sort(), ['production', 'staging']);
  });

  test('approval after live is refused', async () => {
    const result = await approve(alice);

    assert.equal(result.status, 409);
    assert.match(result.body.message, /already live/);
  });
});

describe('go-live approval retry', () => {
  let gp: TestGatepass;
  let key = '';
  let board: BoardingResult;
  let platformId = '';

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    board = await gp.board();
    platformId = board.platform.id;
    for (const item of CHECKLIST_ITEMS) {
      await gp.running.context.goLive.check(platformId, item, 'ok', OPERATOR);
    }
    const response = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    assert.equal(response.status, 200);
    await gp.running.context.requestLog.flush();
  });
  after(() => gp.close());

  const approve = () =>
    api(gp.admin, 'POST', `/platforms/${platformId}/approve`, { key, body: {} });

  test('failed issue leaves platform staging', async () => {
    const platforms = gp.running.context.platforms;
    const issueEnvironment = platforms.issueEnvironment;
    platforms.issueEnvironment = async () => {
      throw new Error('simulated database failure');
    };
    let result: ApiResult;
    try {
      result = await approve();
    } finally {
      platforms.issueEnvironment = issueEnvironment;
    }
    const shown = await api(gp.admin, 'GET', `/platforms/${platformId}`, { key });

    assert.equal(result.status, 500);
    assert.equal(shown.body.platform.status, 'staging');
    assert.equal(shown.body.environments.length, 1);
  });

  test('same operator can retry approval', async () => {
    const result = await approve();

    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.status, 'live');
    assert.match(result.body.production.client_secret, /^gp_live_cs_/);
  });
});

describe('admin OpenAPI document', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('document lists every route', async () => {
    const response = await fetch(`${gp.admin}/admin/openapi.json`);
    const document = (await response.json()) as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, { operationId: string }>>;
    };

    assert.equal(response.status, 200);
    assert.equal(document.openapi, '3.1.0');
    assert.equal(typeof document.info.title, 'string');
    for (const operation of OPERATIONS) {
      const path = operation.path.replace(/:([a-z_]+)/g, '{$1}');
      const described = document.paths[path]?.[operation.method.toLowerCase()];
      assert.equal(described?.operationId, operation.name, `${operation.method} ${path}`);
    }
  });

  test('path parameters are declared', async () => {
    const document = (await (await fetch(`${gp.admin}/admin/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string }> }>>;
    };

    for (const [path, methods] of Object.entries(document.paths)) {
      const names = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]);
      for (const [method, described] of Object.entries(methods)) {
        const declared = described.parameters.filter((p) => p.in === 'path').map((p) => p.name);
        assert.deepEqual(declared, names, `${method} ${path}`);
      }
    }
  });

  test('docs page is served', async () => {
    const response = await fetch(`${gp.admin}/admin/docs`);
    const text = await response.text();

    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(text, /swagger/i);
  });
});
