/**
 * Hostile tests of the operator side: operator keys on every route, hostile input, races
 * between operators, rotation overlaps at their edges, allowlists at both APIs, secrets in
 * comments, the audit chain under tampering and concurrent writers, and secrets shown once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OPERATIONS } from '../src/admin-api/operations/index.js';
import type { BoardingResult } from '../src/services/platforms.js';
import {
  COMMAND,
  cleanEnvironment,
  exited,
  freePorts,
  ROOT,
  runCli,
  waitForExit,
  waitForReady,
} from './helpers/command.js';
import { dumpDatabase } from './helpers/database.js';
import {
  gatewayHeaders,
  OPERATOR,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';

interface ApiResult {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

const CHECKLIST_ITEMS = ['agreement-signed', 'compliance-verified', 'production-addresses'];
const MAX_OVERLAP_SECONDS = 30 * 24 * 3600;

async function api(
  base: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; authorization?: string } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.authorization) headers.authorization = options.authorization;
  const init: RequestInit = { method, headers };
  if (options.body !== undefined || options.rawBody !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = options.rawBody ?? JSON.stringify(options.body);
  }
  const response = await fetch(`${base}/admin/v1${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

async function clientToken(base: string, clientId: string, secret: string) {
  return postForm(`${base}/v1/auth/token`, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
  });
}

/** Collect every secret of a boarding result by label, for secret scans. */
function secretsOf(label: string, board: { client_secret: string; modules: object }) {
  const secrets: Record<string, string> = { [`${label} client`]: board.client_secret };
  for (const [module, entry] of Object.entries(board.modules)) {
    secrets[`${label} ${module} module`] = entry.module_secret;
    if (entry.provider_secret) secrets[`${label} ${module} provider`] = entry.provider_secret;
  }
  return secrets;
}

/** Check every item, and make the staging call that checks `staging-tests`. */
async function readyForGoLive(gp: TestGatepass, board: BoardingResult): Promise<void> {
  for (const item of CHECKLIST_ITEMS) {
    await gp.running.context.goLive.check(board.platform.id, item, 'checked', OPERATOR);
  }
  const response = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
  assert.equal(response.status, 200);
  await gp.running.context.requestLog.flush();
}

/** List every route of the admin API with its path parameters filled in. */
function everyRoute(platformId: string) {
  const values: Record<string, string> = {
    id: platformId,
    platform: platformId,
    environment: 'staging',
    item: 'agreement-signed',
    module: 'demo',
    secret_id: 'sec_0000000000000000',
    key_id: 'opk_0000000000000000',
  };
  return OPERATIONS.map((operation) => ({
    name: operation.name,
    method: operation.method,
    path: operation.path
      .slice('/admin/v1'.length)
      .replace(/:([a-z_]+)/g, (_m, name: string) => values[name] ?? 'x'),
  }));
}

describe('operator keys on every route', () => {
  let gp: TestGatepass;
  let board: BoardingResult;
  let revokedKey = '';
  let key = '';

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    const revoked = await gp.running.context.operators.createKey('mallory', OPERATOR);
    await gp.running.context.operators.revokeKey(revoked.key_id, OPERATOR);
    revokedKey = revoked.key;
    board = await gp.board();
  });
  after(() => gp.close());

  test('bad keys get 401 everywhere', async () => {
    const valid = key;
    const wrong: Array<{ name: string; authorization?: string; code: string }> = [
      { name: 'missing', code: 'missing_credentials' },
      { name: 'empty bearer', authorization: 'Bearer ', code: 'missing_credentials' },
      { name: 'basic scheme', authorization: `Basic ${valid}`, code: 'missing_credentials' },
      {
        name: 'two tokens',
        authorization: `Bearer ${valid} ${valid}`,
        code: 'missing_credentials',
      },
      { name: 'revoked', authorization: `Bearer ${revokedKey}`, code: 'invalid_credentials' },
      {
        name: 'bad checksum',
        authorization: `Bearer ${valid.slice(0, -1)}${valid.endsWith('A') ? 'B' : 'A'}`,
        code: 'invalid_credentials',
      },
      {
        name: 'upper-cased',
        authorization: `Bearer ${valid.toUpperCase()}`,
        code: 'invalid_credentials',
      },
      {
        name: 'client secret',
        authorization: `Bearer ${board.client_secret}`,
        code: 'invalid_credentials',
      },
      { name: 'key with NUL', authorization: `Bearer ${valid}%00`, code: 'invalid_credentials' },
    ];
    // Let the batched audit writer store the set-up's rows first, because it writes every second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = (await dumpDatabase(gp.dataDir)).audit_events?.length ?? 0;
    for (const route of [
      ...everyRoute(board.platform.id),
      { name: 'unknown', method: 'GET', path: '/nope' },
    ]) {
      for (const attempt of wrong) {
        const result = await api(gp.admin, route.method, route.path, {
          ...(attempt.authorization ? { authorization: attempt.authorization } : {}),
          ...(route.method === 'GET' ? {} : { body: { comment: 'x', body: 'x', name: 'x' } }),
        });
        const label = `${route.name} with ${attempt.name} key`;
        assert.equal(result.status, 401, `${label}: ${JSON.stringify(result.body)}`);
        assert.equal(result.body.code, attempt.code, label);
        assert.deepEqual(Object.keys(result.body).sort(), ['code', 'message', 'request_id']);
        assert.equal(result.headers.get('cache-control'), 'no-store', label);
      }
    }
    await gp.running.context.requestLog.flush();
    const shown = await gp.running.context.platforms.show(board.platform.id);
    const token = await clientToken(gp.staging, board.client_id, board.client_secret);

    assert.equal(shown.platform.status, 'staging');
    assert.equal(shown.environments.length, 1);
    assert.equal(token.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const after = (await dumpDatabase(gp.dataDir)).audit_events?.length ?? 0;
    assert.equal(after, before, 'a rejected request wrote an audit row');
  });

  test('long path segment reveals route', async () => {
    const long = 'a'.repeat(200);
    const known = await api(gp.admin, 'GET', `/platforms/${long}`);
    const unknown = await api(gp.admin, 'GET', `/nope/${long}`);

    assert.equal(unknown.status, 401);
    assert.equal(known.status, 401);
  });
});

describe('hostile admin input', () => {
  let gp: TestGatepass;
  let key = '';
  let board: BoardingResult;
  let platformId = '';
  const call = (method: string, path: string, body?: unknown) =>
    api(gp.admin, method, path, body === undefined ? { key } : { key, body });

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    board = await gp.board();
    platformId = board.platform.id;
  });
  after(() => gp.close());

  test('null overlap does not revoke', async () => {
    for (const overlap of [null, '', [], false, true, [60], ' 5', '0x10', 0.5, -1]) {
      const result = await call('POST', `/platforms/${platformId}/credentials/rotate`, {
        environment: 'staging',
        kind: 'client',
        overlap_seconds: overlap,
      });
      assert.equal(
        result.status,
        400,
        `${JSON.stringify(overlap)}: ${JSON.stringify(result.body)}`,
      );
      assert.equal(result.body.code, 'invalid_request');
    }
    const token = await clientToken(gp.staging, board.client_id, board.client_secret);

    assert.equal(token.status, 200, JSON.stringify(token.body));
  });

  test('overlap edges behave exactly', async () => {
    const rotate = (overlap: unknown) =>
      call('POST', `/platforms/${platformId}/credentials/rotate`, {
        environment: 'staging',
        kind: 'client',
        overlap_seconds: overlap,
      });
    const tooLong = await rotate(MAX_OVERLAP_SECONDS + 1);
    assert.equal(tooLong.status, 400);
    assert.equal(
      tooLong.body.message,
      `The overlap must be a whole number of seconds from 0 to ${MAX_OVERLAP_SECONDS}.`,
    );

    const longest = await rotate(String(MAX_OVERLAP_SECONDS));
    assert.equal(longest.status, 201, JSON.stringify(longest.body));
    const replaced = (await gp.running.context.store.secrets.find(
      longest.body.replaced_secret_id,
    )) as { created_at: number; expires_at: number };
    assert.equal(longest.body.replaced_expires_at, replaced.expires_at);
    const stillWorks = await clientToken(gp.staging, board.client_id, board.client_secret);
    assert.equal(stillWorks.status, 200);

    const immediate = await rotate(0);
    assert.equal(immediate.status, 201, JSON.stringify(immediate.body));
    const oldSecret = await clientToken(gp.staging, board.client_id, board.client_secret);
    const middle = await clientToken(gp.staging, board.client_id, longest.body.secret);
    const newest = await clientToken(gp.staging, board.client_id, immediate.body.secret);
    assert.equal(oldSecret.status, 401, 'the secret in its overlap outlived a second rotation');
    assert.equal(middle.status, 401, 'overlap 0 left the replaced secret working');
    assert.equal(newest.status, 200);
    board.client_secret = immediate.body.secret;
  });

  test('publish delay null is rejected', async () => {
    for (const delay of [null, '', false, []]) {
      const result = await call('POST', '/keys/staging/rotate', { publish_delay_seconds: delay });
      assert.equal(result.status, 400, `${JSON.stringify(delay)}: ${JSON.stringify(result.body)}`);
    }
    const keys = await call('GET', '/keys/staging');

    assert.equal(keys.body.length, 1);
  });

  test('rate limit true is rejected', async () => {
    const result = await call('PUT', `/platforms/${platformId}/limits`, {
      rate_limit_per_minute: true,
    });

    assert.equal(result.status, 400, JSON.stringify(result.body));
    assert.equal(result.body.code, 'invalid_request');
  });

  test('NUL bytes are rejected', async () => {
    const attempts: Array<[string, string, unknown]> = [
      ['GET', '/platforms/%00', undefined],
      ['GET', '/audit?action=%00', undefined],
      ['GET', '/requests?module=a%00', undefined],
      ['POST', `/platforms/${platformId}/comments`, { body: 'a\u0000b' }],
      ['POST', `/platforms/${platformId}/checklist/agreement-signed`, { comment: 'a\u0000' }],
      ['POST', '/platforms', { name: 'Nul\u0000Co', modules: ['demo'] }],
      ['POST', '/users/usr%00/disable', {}],
      ['POST', '/operators/keys/opk%00/revoke', {}],
      ['DELETE', `/platforms/${platformId}/modules/de%00mo`, undefined],
      ['PUT', `/platforms/${platformId}/allowlist/staging`, { entries: ['127.0.0.1\u0000'] }],
    ];
    for (const [method, path, body] of attempts) {
      const result = await call(method, path, body);
      assert.equal(result.status, 400, `${method} ${path}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.code, 'invalid_request');
      assert.match(result.body.message, /NUL character/);
    }
  });

  test('prototype keys are rejected', async () => {
    for (const rawBody of [
      '{"__proto__":{"body":"polluted"}}',
      '{"constructor":{"prototype":{"body":"polluted"}},"body":"x"}',
    ]) {
      const result = await api(gp.admin, 'POST', `/platforms/${platformId}/comments`, {
        key,
        rawBody,
      });
      assert.equal(result.status, 400, JSON.stringify(result.body));
      assert.equal(result.body.code, 'invalid_request');
    }
    const thread = await call('GET', `/platforms/${platformId}/checklist`);

    assert.deepEqual(thread.body.comments, []);
    assert.equal(({} as Record<string, unknown>).body, undefined);
  });

  test('password in query is ignored', async () => {
    const user = await gp.addUser(platformId, 'query@example.com', 'first-password-123');
    const result = await api(
      gp.admin,
      'POST',
      `/users/${user.id}/password?password=second-password-456`,
      { key, body: {} },
    );

    assert.equal(result.status, 400, JSON.stringify(result.body));
    assert.equal(
      result.body.message,
      'Invalid input: password: Invalid input: expected string, received undefined.',
    );
  });

  test('huge and wrong-typed arrays rejected', async () => {
    const huge = await call('PUT', `/platforms/${platformId}/allowlist/staging`, {
      entries: Array.from({ length: 1001 }, () => '127.0.0.1'),
    });
    const nested = await call('POST', '/platforms', { name: 'Nested', modules: [['demo']] });
    const deep = await api(gp.admin, 'POST', `/platforms/${platformId}/comments`, {
      key,
      rawBody: `{"body":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    });

    assert.equal(huge.status, 400);
    assert.equal(
      huge.body.message,
      'Invalid input: entries: Too big: expected array to have <=1000 items.',
    );
    assert.equal(nested.status, 400);
    assert.equal(deep.status, 400);
    assert.equal(deep.body.code, 'invalid_request');
  });

  test('odd path characters stay parameters', async () => {
    for (const id of ['%F0%9F%98%80', '..%2F..%2Fhealthz', 'plt_%27%20or%201%3D1--', '%20']) {
      const result = await call('GET', `/platforms/${id}`);
      assert.equal(result.status, 404, `${id}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.code, 'not_found');
      assert.equal(
        result.body.message,
        `No platform has the id "${decodeURIComponent(id)}". List platforms with: gatepass platforms list`,
      );
    }
  });

  test('comments with secrets rejected', async () => {
    const token = await clientToken(gp.staging, board.client_id, board.client_secret);
    assert.equal(token.status, 200);
    const refresh = String(token.body.refresh_token);
    const access = String(token.body.access_token);
    const zeroWidth = `${board.client_secret.slice(0, 15)}\u200b${board.client_secret.slice(15)}`;
    // Refresh tokens are base64url, so some contain "-" early. This tries one that does.
    const dashed = `${refresh.slice(0, 14)}-${refresh.slice(15)}`;
    const pasted = [
      board.client_secret,
      board.modules.demo?.module_secret ?? '',
      key,
      refresh,
      dashed,
      access,
      zeroWidth,
      `see "${board.client_secret}".`,
    ];
    for (const text of pasted) {
      for (const [path, body] of [
        [`/platforms/${platformId}/comments`, { body: `here: ${text}` }],
        [`/platforms/${platformId}/checklist/agreement-signed`, { comment: `here: ${text}` }],
      ] as const) {
        const result = await call('POST', path, body);
        assert.equal(result.status, 400, `${path} accepted ${text.slice(0, 16)}…`);
        assert.match(result.body.message, /looks like a Gatepass secret/);
      }
    }
    const checklist = await call('GET', `/platforms/${platformId}/checklist`);

    assert.deepEqual(checklist.body.comments, []);
    assert.equal(checklist.body.items[0].checked, false);
  });

  test('comment length is bounded', async () => {
    const longest = await call('POST', `/platforms/${platformId}/comments`, {
      body: 'é'.repeat(4000),
    });
    const tooLong = await call('POST', `/platforms/${platformId}/comments`, {
      body: 'x'.repeat(4001),
    });
    const blank = await call('POST', `/platforms/${platformId}/comments`, { body: ' \n\t ' });

    assert.equal(longest.status, 201);
    assert.equal(longest.body.body.length, 4000);
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.message, 'The comment must be at most 4000 characters.');
    assert.equal(blank.status, 400);
    assert.equal(blank.body.message, 'The comment must not be empty.');
  });

  test('operator name with key rejected', async () => {
    // Through the API a key can only be made for its own name, so the service is asked directly.
    const attempt = gp.running.context.operators.createKey(key, OPERATOR);
    await assert.rejects(
      attempt,
      (error: unknown) => (error as { code?: string }).code === 'invalid_request',
    );
    const keys = await call('GET', '/operators/keys');
    assert.equal(keys.body.length, 1);
  });

  test('concurrent key revocation counts once', async () => {
    const created = await gp.running.context.operators.createKey('dave', OPERATOR);
    const results = await Promise.all(
      [1, 2, 3].map(() => call('POST', `/operators/keys/${created.key_id}/revoke`, {})),
    );
    const statuses = results.map((r) => r.status).sort();

    assert.deepEqual(statuses, [200, 404, 404]);
  });
});

describe('secrets shown once', () => {
  let gp: TestGatepass;
  let key = '';
  const secrets: Record<string, string> = {};

  before(async () => {
    gp = await startTestGatepass();
    const created = await gp.running.context.operators.createKey('alice', OPERATOR);
    key = created.key;
    secrets['operator key'] = key;
  });
  after(() => gp.close());

  test('no route shows a secret again', async () => {
    const call = (method: string, path: string, body?: unknown) =>
      api(gp.admin, method, path, body === undefined ? { key } : { key, body });
    const revealing: ApiResult[] = [];
    const boarded = await call('POST', '/platforms', { name: 'Once', modules: ['demo'] });
    revealing.push(boarded);
    Object.assign(secrets, secretsOf('staging', boarded.body));
    const platformId = boarded.body.platform.id;
    const rotated = await call('POST', `/platforms/${platformId}/credentials/rotate`, {
      environment: 'staging',
      kind: 'module',
      module: 'demo',
      overlap_seconds: 60,
    });
    revealing.push(rotated);
    secrets['rotated module'] = rotated.body.secret;
    const created = await call('POST', '/operators/keys', { name: 'alice' });
    revealing.push(created);
    secrets['second operator key'] = created.body.key;
    const board = boarded.body as BoardingResult;
    await readyForGoLive(gp, board);
    const approved = await call('POST', `/platforms/${platformId}/approve`, {});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    revealing.push(approved);
    Object.assign(secrets, secretsOf('production', approved.body.production));

    for (const result of revealing) {
      assert.equal(result.headers.get('cache-control'), 'no-store');
      assert.equal(result.headers.get('pragma'), 'no-cache');
    }
    const again = await call('POST', `/platforms/${platformId}/approve`, {});
    assert.equal(again.status, 409);
    const reads = everyRoute(platformId).filter((route) => route.method === 'GET');
    for (const route of reads) {
      const result = await call('GET', route.path);
      assert.ok(result.status < 500, `${route.name}: ${result.status}`);
      assert.deepEqual(findSecrets(JSON.stringify(result.body), secrets), [], route.name);
    }
    assert.deepEqual(findSecrets(JSON.stringify(again.body), secrets), []);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const audit = await dumpDatabase(gp.dataDir);
    assert.deepEqual(findSecrets(JSON.stringify(audit.audit_events), secrets), []);
    assert.deepEqual(findSecrets(JSON.stringify(audit.checklist_comments ?? []), secrets), []);
    assert.deepEqual(findSecrets(gp.logs.join('\n'), secrets), []);
  });
});

describe('operator races', () => {
  for (const required of [1, 2]) {
    test(`approvals at once, ${required} required`, async () => {
      const gp = await startTestGatepass({ settings: { 'goLive.approvalsRequired': required } });
      try {
        const keys: string[] = [];
        for (const name of ['alice', 'bob', 'carol']) {
          keys.push((await gp.running.context.operators.createKey(name, OPERATOR)).key);
        }
        const board = await gp.board();
        await readyForGoLive(gp, board);
        const results = await Promise.all(
          keys.map((key) =>
            api(gp.admin, 'POST', `/platforms/${board.platform.id}/approve`, { key, body: {} }),
          ),
        );
        const live = results.filter((r) => r.status === 200 && r.body.status === 'live');
        const shown = await gp.running.context.platforms.show(board.platform.id);
        const production = shown.environments.find((e) => e.environment === 'production');

        assert.equal(live.length, 1, JSON.stringify(results.map((r) => r.body)));
        for (const result of results) assert.ok([200, 409].includes(result.status));
        assert.equal(shown.platform.status, 'live');
        assert.equal(production?.secrets.length, 3);
        assert.equal(production?.client_id, live[0]?.body.production.client_id);
      } finally {
        await gp.close();
      }
    });
  }

  test('suspension during approval holds', async () => {
    const gp = await startTestGatepass();
    try {
      const ctx = gp.running.context;
      const board = await gp.board();
      await readyForGoLive(gp, board);
      const checklist = ctx.store.checklist;
      const addApproval = checklist.addApproval.bind(checklist);
      // Another operator suspends the platform after the approval's own checks passed.
      checklist.addApproval = async (platformId, operatorId, at) => {
        await ctx.platforms.suspend(platformId, OPERATOR);
        return addApproval(platformId, operatorId, at);
      };
      let error: unknown;
      try {
        await ctx.goLive.approve(board.platform.id, { kind: 'operator', id: 'alice' });
      } catch (caught) {
        error = caught;
      } finally {
        checklist.addApproval = addApproval;
      }
      const platform = await ctx.store.platforms.find(board.platform.id);
      const production = await ctx.store.platforms.findClientFor(board.platform.id, 'production');

      assert.equal((error as { code?: string })?.code, 'conflict');
      assert.equal(platform?.status, 'suspended');
      assert.equal(production, undefined);
    } finally {
      await gp.close();
    }
  });

  test('enable module at once', async () => {
    const gp = await startTestGatepass();
    try {
      const ctx = gp.running.context;
      await ctx.moduleAdmin.create(
        {
          id: 'extra',
          name: 'Extra',
          prefix: '/extra',
          upstreams: { staging: 'http://127.0.0.1:9', production: 'http://127.0.0.1:9' },
          requiresProviderSecret: false,
          timeoutMs: 1_000,
        },
        OPERATOR,
      );
      const board = await gp.board();
      const results = await Promise.allSettled(
        [1, 2, 3].map(() => ctx.credentials.enableModule(board.platform.id, 'extra', OPERATOR)),
      );
      const codes = results
        .map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code))
        .sort();
      const active = await ctx.store.secrets.activeFor(board.client_id, Date.now());

      assert.deepEqual(codes, ['conflict', 'conflict', 'ok']);
      assert.equal(active.filter((s) => s.module_id === 'extra').length, 1);
    } finally {
      await gp.close();
    }
  });

  test('rotations at once keep two', async () => {
    const gp = await startTestGatepass();
    try {
      const ctx = gp.running.context;
      const board = await gp.board();
      const rotate = () =>
        ctx.credentials.rotate(
          {
            platformId: board.platform.id,
            environment: 'staging',
            kind: 'client',
            overlapSeconds: 600,
          },
          OPERATOR,
        );
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled([rotate(), rotate(), rotate(), rotate()]);
        const active = await ctx.store.secrets.activeFor(board.client_id, Date.now());
        const clients = active.filter((s) => s.kind === 'client');

        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
        );
        assert.equal(clients.length, 2, `round ${round}`);
        assert.equal(clients.filter((s) => s.expires_at === null).length, 1, `round ${round}`);
      }
    } finally {
      await gp.close();
    }
  });
});

describe('revocation at the gateway', () => {
  let gp: TestGatepass;
  let key = '';
  let board: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
    board = await gp.board();
  });
  after(() => gp.close());

  test('allowlist entries gate both APIs', async () => {
    const cases: Array<{ entries: string[]; allowed: boolean }> = [
      { entries: ['127.0.0.1'], allowed: true },
      { entries: ['127.0.0.0/8'], allowed: true },
      { entries: ['::ffff:127.0.0.1'], allowed: true },
      { entries: ['::ffff:127.0.0.0/104'], allowed: true },
      { entries: ['0.0.0.0/0'], allowed: true },
      { entries: ['10.0.0.0/8', '2001:db8::/32'], allowed: false },
      { entries: ['::1'], allowed: false },
      { entries: ['fe80::/10'], allowed: false },
      { entries: ['127.0.0.2/32'], allowed: false },
      { entries: [], allowed: true },
    ];
    for (const { entries, allowed } of cases) {
      const set = await api(gp.admin, 'PUT', `/platforms/${board.platform.id}/allowlist/staging`, {
        key,
        body: { entries },
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const call = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
      const callBody = (await call.json()) as { code?: string };
      const token = await clientToken(gp.staging, board.client_id, board.client_secret);
      const label = JSON.stringify(entries);

      assert.equal(call.status, allowed ? 200 : 403, label);
      assert.equal(token.status, allowed ? 200 : 400, label);
      if (!allowed) {
        assert.equal(callBody.code, 'address_not_allowed', label);
        assert.equal(token.body.error, 'unauthorized_client', label);
      }
    }
  });

  test('allowlist rejects invalid entries', async () => {
    for (const entry of ['1.2.3.4/33', '::1/129', '127.1', '1.2.3.4/', '1.2.3.4/8/8', '[::1]']) {
      const result = await api(
        gp.admin,
        'PUT',
        `/platforms/${board.platform.id}/allowlist/production`,
        { key, body: { entries: ['127.0.0.1', entry] } },
      );
      assert.equal(result.status, 400, entry);
      assert.match(
        result.body.message,
        new RegExp(`^Invalid allowlist entries: "${entry.replace(/[[\]./]/g, '\\$&')}"\\.`),
      );
    }
    const shown = await api(gp.admin, 'GET', `/platforms/${board.platform.id}/allowlist`, { key });

    assert.deepEqual(shown.body.production, []);
  });

  test('revoke and suspend act at once', async () => {
    const rotated = await gp.running.context.credentials.rotate(
      {
        platformId: board.platform.id,
        environment: 'staging',
        kind: 'client',
        overlapSeconds: 600,
      },
      OPERATOR,
    );
    const before = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    assert.equal(before.status, 200);
    const token = await clientToken(gp.staging, board.client_id, rotated.secret);
    assert.equal(token.status, 200);
    const revoked = await api(
      gp.admin,
      'POST',
      `/credentials/${rotated.replaced_secret_id}/revoke`,
      {
        key,
        body: {},
      },
    );
    assert.equal(revoked.status, 200);
    const afterRevoke = await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(board) });
    assert.equal(afterRevoke.status, 401);
    const suspended = await api(gp.admin, 'POST', `/platforms/${board.platform.id}/suspend`, {
      key,
      body: {},
    });
    assert.equal(suspended.status, 200);
    const bearer = await fetch(`${gp.staging}/demo/x`, {
      headers: {
        authorization: `Bearer ${token.body.access_token}`,
        'x-module-secret': board.modules.demo?.module_secret ?? '',
      },
    });
    const refused = await clientToken(gp.staging, board.client_id, rotated.secret);

    assert.equal(bearer.status, 403);
    assert.equal(((await bearer.json()) as { code: string }).code, 'platform_suspended');
    assert.equal(refused.status, 401);
  });
});

describe('audit chain under attack', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
    const ctx = gp.running.context;
    const board = await gp.board();
    for (let i = 0; i < 4; i++) {
      await ctx.goLive.comment(board.platform.id, `note ${i}`, { ...OPERATOR, name: 'test' });
    }
    // Wait for the batched audit writer, bounded by its 1-second interval and a margin.
    const deadline = Date.now() + 10_000;
    while ((await ctx.store.audit.head()).seq < 8 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  after(() => gp.close());

  const db = () => gp.running.context.store.db;
  const verify = () => gp.running.context.auditLog.verify();

  test('verify ignores rows appended meanwhile', async () => {
    const audit = gp.running.context.store.audit;
    const page = audit.page.bind(audit);
    let appended = false;
    audit.page = async (afterSeq, batch) => {
      const rows = await page(afterSeq, batch);
      if (rows.length === 0 && !appended) {
        appended = true;
        await audit.append([
          {
            at: Date.now(),
            actor_kind: 'operator',
            actor_id: 'test-operator',
            address: null,
            action: 'checklist.commented',
            outcome: 'success',
            platform_id: null,
            environment: null,
            data: '{}',
          },
        ]);
      }
      return rows;
    };
    let verdict: Awaited<ReturnType<typeof verify>>;
    try {
      verdict = await verify();
    } finally {
      audit.page = page;
    }

    assert.equal(appended, true);
    assert.deepEqual(verdict, { ok: true, rows: (await audit.head()).seq });
  });

  test('verify names altered row', async () => {
    const row = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', 3)
      .executeTakeFirstOrThrow();
    await db()
      .updateTable('audit_events')
      .set({ actor_id: 'someone-else' })
      .where('seq', '=', 3)
      .execute();
    const verdict = await verify();
    await db()
      .updateTable('audit_events')
      .set({ actor_id: row.actor_id })
      .where('seq', '=', 3)
      .execute();

    assert.deepEqual(verdict, {
      ok: false,
      seq: 3,
      id: row.id,
      problem: 'its content does not match its hash: the row was altered',
    });
    assert.equal((await verify()).ok, true);
  });

  test('verify names deleted middle row', async () => {
    const row = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', 4)
      .executeTakeFirstOrThrow();
    const next = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', 5)
      .executeTakeFirstOrThrow();
    await db().deleteFrom('audit_events').where('seq', '=', 4).execute();
    const verdict = await verify();
    await db().insertInto('audit_events').values(row).execute();

    assert.deepEqual(verdict, {
      ok: false,
      seq: 5,
      id: next.id,
      problem: 'sequence jumps from 3 to 5: rows are missing',
    });
    assert.equal((await verify()).ok, true);
  });

  test('verify catches deleted last row', async () => {
    const head = await gp.running.context.store.audit.head();
    const row = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', head.seq)
      .executeTakeFirstOrThrow();
    const previous = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', head.seq - 1)
      .executeTakeFirstOrThrow();
    await db().deleteFrom('audit_events').where('seq', '=', head.seq).execute();
    const verdict = await verify();
    await db().insertInto('audit_events').values(row).execute();

    assert.deepEqual(verdict, {
      ok: false,
      seq: head.seq,
      id: previous.id,
      problem: `the chain ends at row ${head.seq - 1} but its head records row ${head.seq}: rows were removed from the end`,
    });
    assert.equal((await verify()).ok, true);
  });

  test('verify names reordered rows', async () => {
    const second = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', 2)
      .executeTakeFirstOrThrow();
    const third = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', 3)
      .executeTakeFirstOrThrow();
    // Swap the two rows' places in the chain, moving one aside first for the unique index.
    await db().updateTable('audit_events').set({ seq: -2 }).where('id', '=', second.id).execute();
    await db().updateTable('audit_events').set({ seq: 2 }).where('id', '=', third.id).execute();
    await db().updateTable('audit_events').set({ seq: 3 }).where('id', '=', second.id).execute();
    const verdict = await verify();
    await db().updateTable('audit_events').set({ seq: -2 }).where('id', '=', second.id).execute();
    await db().updateTable('audit_events').set({ seq: 3 }).where('id', '=', third.id).execute();
    await db().updateTable('audit_events').set({ seq: 2 }).where('id', '=', second.id).execute();

    assert.deepEqual(verdict, {
      ok: false,
      seq: 2,
      id: third.id,
      problem: 'its prev_hash does not match the hash of the row before it',
    });
    assert.equal((await verify()).ok, true);
  });
});

describe('audit appends from many processes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-hostile-admin-'));
  let env: NodeJS.ProcessEnv;
  let server: ReturnType<typeof spawn>;
  let output = '';
  let admin = '';

  before(async () => {
    const [adminPort, stagingPort, productionPort] = await freePorts(3);
    admin = `http://127.0.0.1:${adminPort}`;
    env = {
      ...cleanEnvironment(),
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_ADMIN_PORT: String(adminPort),
      GATEPASS_STAGING_PORT: String(stagingPort),
      GATEPASS_PRODUCTION_PORT: String(productionPort),
      GATEPASS_LOG_LEVEL: 'warn',
    };
    server = spawn(process.execPath, [COMMAND, 'start'], { cwd: ROOT, env });
    server.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    server.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    await waitForReady(`${admin}/readyz`, server, () => output);
  });
  after(async () => {
    if (server && !exited(server)) {
      server.kill('SIGKILL');
      await waitForExit(server);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('concurrent writers keep the chain', {
    skip: Boolean(process.env.TEST_DATABASE_URL) && 'runs on the embedded SQLite file',
  }, async () => {
    const boarded = await runCli(
      ['platforms', 'board', 'Many', '--modules', 'demo', '--json'],
      env,
    );
    assert.equal(boarded.code, 0, boarded.stderr);
    const platformId = JSON.parse(boarded.stdout).platform.id;
    const created = await runCli(['operators', 'create-key', 'alice', '--json'], env);
    const key = JSON.parse(created.stdout).key;
    const commands = Array.from({ length: 6 }, (_, i) =>
      runCli(['checklist', 'comment', platformId, '--body', `from process ${i}`, '--json'], env),
    );
    const requests = Array.from({ length: 20 }, (_, i) =>
      api(admin, 'POST', `/platforms/${platformId}/comments`, { key, body: { body: `api ${i}` } }),
    );
    const [cli, http] = await Promise.all([Promise.all(commands), Promise.all(requests)]);
    for (const result of cli) assert.equal(result.code, 0, result.stderr);
    for (const result of http) assert.equal(result.status, 201);
    // The server writes its audit rows every second; stopping it flushes them.
    server.kill('SIGTERM');
    await waitForExit(server);
    const verified = await runCli(['audit', 'verify', '--json'], env);
    const listed = await runCli(
      ['audit', 'list', '--action', 'checklist.commented', '--limit', '1000', '--json'],
      env,
    );

    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal(JSON.parse(verified.stdout).ok, true);
    assert.equal(JSON.parse(listed.stdout).length, 26);
  });
});
