/**
 * The dashboard's platform and operator pages: tenant isolation, roles, secrets shown once,
 * `curl` examples, escaping of hostile text, request log and audit trail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import { auditEvent, DashboardClient } from './helpers/dashboard.js';
import { dumpDatabase } from './helpers/database.js';
import {
  basic,
  gatewayHeaders,
  OPERATOR,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

const PASSWORD = 'correct horse battery staple';
const HOSTILE_NAME = 'Alpha <script>alert(1)</script>';
const HOSTILE_COMMENT = '<img src=x onerror=alert(1)> "quoted" & \'single\'';

let gp: TestGatepass;
let alpha: BoardingResult;
let beta: BoardingResult;
/** Request-log ids of Alpha's calls: one that succeeded, one that failed. */
let alphaRows: { ok: number; failed: number };
let betaRow: number;
let alphaViewerId: string;

async function signedIn(email: string, kind: 'user' | 'operator' = 'user') {
  const client = new DashboardClient(gp.admin);
  const response = await client.signIn(email, PASSWORD, kind);
  assert.equal(response.status, 303, `sign-in of ${email}`);
  await client.get(kind === 'user' ? '/dashboard/platform' : '/dashboard/operator');
  return client;
}

async function call(board: BoardingResult, path: string, headers = gatewayHeaders(board)) {
  const response = await fetch(`${gp.staging}${path}`, { headers });
  await response.text();
  return response.status;
}

before(async () => {
  gp = await startTestGatepass();
  alpha = await gp.board(HOSTILE_NAME);
  beta = await gp.board('Beta Payments');
  await gp.addUser(alpha.platform.id, 'owner@alpha.test', PASSWORD, 'owner');
  await gp.addUser(alpha.platform.id, 'dev@alpha.test', PASSWORD, 'developer');
  alphaViewerId = (await gp.addUser(alpha.platform.id, 'viewer@alpha.test', PASSWORD, 'viewer')).id;
  await gp.addUser(beta.platform.id, 'owner@beta.test', PASSWORD, 'owner');
  await gp.running.context.operatorAccounts.add(
    { email: 'ops@provider.test', password: PASSWORD },
    OPERATOR,
  );

  assert.equal(await call(alpha, '/demo/ok'), 200);
  const wrongSecret = { ...gatewayHeaders(alpha), 'x-module-secret': 'gp_test_ms_wrong' };
  assert.notEqual(await call(alpha, '/demo/fail', wrongSecret), 200);
  assert.equal(await call(beta, '/demo/beta'), 200);
  await gp.running.context.requestLog.flush();
  const rows = await gp.running.context.store.requestLog.list({});
  const find = (path: string) => rows.find((row) => row.path === path)?.id ?? -1;
  alphaRows = { ok: Number(find('/demo/ok')), failed: Number(find('/demo/fail')) };
  betaRow = Number(find('/demo/beta'));
  assert.ok(alphaRows.ok > 0 && alphaRows.failed > 0 && betaRow > 0, 'request-log rows exist');
});
after(() => gp.close());

describe('tenant isolation', () => {
  /** Tables a route of another platform must leave alone. */
  const TABLES = [
    'platforms',
    'platform_modules',
    'clients',
    'secrets',
    'users',
    'checklist_items',
    'checklist_comments',
    'approvals',
    'allowlists',
    'credential_reveals',
  ];

  test('every platform-scoped route is 404', async () => {
    const betaOwner = await signedIn('owner@beta.test');
    const alphaId = encodeURIComponent(alpha.platform.id);
    const alphaSecret = (await gp.running.context.store.secrets.listFor(alpha.platform.id))[0]?.id;
    assert.ok(alphaSecret);
    const gets = [
      `/dashboard/platform/clients/${alpha.client_id}`,
      `/dashboard/platform/requests/${alphaRows.ok}`,
      `/dashboard/platform/requests/${alphaRows.failed}`,
      '/dashboard/operator',
      '/dashboard/operator/platforms/new',
      `/dashboard/operator/platforms/${alphaId}`,
      '/dashboard/operator/audit',
      '/dashboard/operator/traffic',
    ];
    const posts: Array<[string, Record<string, string | string[]>]> = [
      [`/dashboard/platform/clients/${alpha.client_id}/rotate`, { overlap_seconds: '60' }],
      [`/dashboard/platform/clients/${alpha.client_id}/reveal`, {}],
      ['/dashboard/operator/platforms', { name: 'Sneaky', modules: ['demo'] }],
      [
        `/dashboard/operator/platforms/${alphaId}/users`,
        { email: 'mole@beta.test', role: 'owner', password: PASSWORD },
      ],
      [`/dashboard/operator/platforms/${alphaId}/modules`, { module: 'demo' }],
      [`/dashboard/operator/platforms/${alphaId}/modules/demo/disable`, {}],
      [`/dashboard/operator/platforms/${alphaId}/checklist/agreement-signed`, { comment: 'x' }],
      [`/dashboard/operator/platforms/${alphaId}/comments`, { body: 'x' }],
      [`/dashboard/operator/platforms/${alphaId}/approve`, {}],
      [`/dashboard/operator/platforms/${alphaId}/suspend`, {}],
      [`/dashboard/operator/platforms/${alphaId}/resume`, {}],
      [`/dashboard/operator/platforms/${alphaId}/users/${alphaViewerId}/disable`, {}],
      [`/dashboard/operator/platforms/${alphaId}/users/${alphaViewerId}/enable`, {}],
      [
        `/dashboard/operator/platforms/${alphaId}/users/${alphaViewerId}/password`,
        { password: PASSWORD },
      ],
      [
        `/dashboard/operator/platforms/${alphaId}/credentials/rotate`,
        { environment: 'staging', kind: 'client', overlap_seconds: '0' },
      ],
      [`/dashboard/operator/platforms/${alphaId}/credentials/${alphaSecret}/revoke`, {}],
      [`/dashboard/operator/platforms/${alphaId}/allowlist/staging`, { entries: '203.0.113.1' }],
    ];
    const before = await dumpDatabase(gp.dataDir);
    for (const path of gets) {
      const response = await betaOwner.get(path);
      assert.equal(response.status, 404, `GET ${path}`);
      assert.ok(!response.text.includes(alpha.client_id), `GET ${path} shows no Alpha id`);
      assert.ok(!response.text.includes('Alpha'), `GET ${path} shows no Alpha name`);
    }
    for (const [path, form] of posts) {
      const response = await betaOwner.post(path, form);
      assert.equal(response.status, 404, `POST ${path}`);
    }
    const after = await dumpDatabase(gp.dataDir);
    for (const table of TABLES) assert.deepEqual(after[table], before[table], `${table} unchanged`);

    // The same routes work with Beta's own ids, so the 404s above are about ownership.
    assert.equal(
      (await betaOwner.get(`/dashboard/platform/clients/${beta.client_id}`)).status,
      200,
    );
    assert.equal((await betaOwner.get(`/dashboard/platform/requests/${betaRow}`)).status, 200);
  });

  test('unknown ids are 404 alike', async () => {
    const betaOwner = await signedIn('owner@beta.test');
    for (const path of [
      '/dashboard/platform/clients/gpc_test_000000000000000000000000',
      '/dashboard/platform/requests/999999999',
      '/dashboard/platform/requests/not-a-number',
    ]) {
      assert.equal((await betaOwner.get(path)).status, 404, path);
    }
  });

  test('lists show only own platform', async () => {
    const betaOwner = await signedIn('owner@beta.test');
    for (const path of [
      '/dashboard/platform',
      '/dashboard/platform/go-live',
      '/dashboard/platform/requests',
      '/dashboard/platform/examples',
      '/dashboard/platform/usage',
    ]) {
      const response = await betaOwner.get(path);
      assert.equal(response.status, 200, path);
      assert.ok(!response.text.includes(alpha.client_id), `${path} shows no Alpha client id`);
      assert.ok(!response.text.includes('/demo/ok'), `${path} shows no Alpha request`);
      assert.ok(!response.text.includes(alpha.platform.id), `${path} shows no Alpha platform id`);
    }
  });

  test('operator pages need an operator', async () => {
    const alphaOwner = await signedIn('owner@alpha.test');
    assert.equal((await alphaOwner.get('/dashboard/operator')).status, 404);
    const operator = await signedIn('ops@provider.test', 'operator');
    assert.equal((await operator.get('/dashboard/platform')).status, 404);
    const anonymous = new DashboardClient(gp.admin);
    const page = await anonymous.get(`/dashboard/operator/platforms/${alpha.platform.id}`);
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/dashboard/operator/sign-in');
    const change = await anonymous.post(
      `/dashboard/operator/platforms/${alpha.platform.id}/suspend`,
    );
    assert.equal(change.status, 403);
  });
});

describe('roles', () => {
  test('viewer sees no secret', async () => {
    const viewer = await signedIn('viewer@alpha.test');
    for (const path of ['/dashboard/platform', `/dashboard/platform/clients/${alpha.client_id}`]) {
      const page = await viewer.get(path);
      assert.equal(page.status, 200, path);
      assert.doesNotMatch(page.text, /gp_test_/, `${path} shows no secret or hint`);
      assert.doesNotMatch(page.text, /Rotate client secret/);
    }
    const before = await dumpDatabase(gp.dataDir);
    const rotate = await viewer.post(`/dashboard/platform/clients/${alpha.client_id}/rotate`, {
      overlap_seconds: '60',
    });
    assert.equal(rotate.status, 403);
    assert.doesNotMatch(rotate.text, /gp_test_cs_/);
    assert.deepEqual((await dumpDatabase(gp.dataDir)).secrets, before.secrets);
  });

  test('developer cannot rotate', async () => {
    const developer = await signedIn('dev@alpha.test');
    const page = await developer.get(`/dashboard/platform/clients/${alpha.client_id}`);
    assert.doesNotMatch(page.text, /Rotate client secret/);
    const before = await dumpDatabase(gp.dataDir);
    const rotate = await developer.post(`/dashboard/platform/clients/${alpha.client_id}/rotate`, {
      overlap_seconds: '60',
    });
    assert.equal(rotate.status, 403);
    assert.deepEqual((await dumpDatabase(gp.dataDir)).secrets, before.secrets);
  });

  test('owner rotation shows secret once', async () => {
    const owner = await signedIn('owner@alpha.test');
    const path = `/dashboard/platform/clients/${alpha.client_id}`;
    const form = await owner.get(path);
    assert.match(form.text, /<button type="submit">Rotate client secret<\/button>/);
    const once = owner.once;
    const rotated = await owner.post(`${path}/rotate`, { overlap_seconds: '3600' });
    assert.equal(rotated.status, 201);
    const secret = /gp_test_cs_[A-Za-z0-9]+/.exec(rotated.text)?.[0];
    assert.ok(secret, 'the new secret is on the response page');
    assert.equal(rotated.headers.get('cache-control'), 'no-store');

    // A reload submits the same form again: nothing rotates and no secret is shown.
    const before = await dumpDatabase(gp.dataDir);
    const resubmitted = await owner.post(`${path}/rotate`, {
      overlap_seconds: '3600',
      _once: once,
    });
    assert.equal(resubmitted.status, 409);
    assert.doesNotMatch(resubmitted.text, /gp_test_cs_/);
    assert.deepEqual((await dumpDatabase(gp.dataDir)).secrets, before.secrets);

    const token = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(alpha.client_id, secret) },
    );
    assert.equal(token.status, 200, 'the new secret works');

    for (const again of [path, '/dashboard/platform', '/dashboard/platform/examples']) {
      const page = await owner.get(again);
      assert.ok(!page.text.includes(secret), `${again} does not show the secret again`);
    }
    const event = await auditEvent(
      gp,
      (row) => row.action === 'credential.rotated' && row.actor_id === 'owner@alpha.test',
    );
    assert.ok(event, 'the rotation is audited with the user');
    assert.equal(event.actor_kind, 'user');
  });
});

describe('platform pages', () => {
  test('curl example has client id only', async () => {
    const owner = await signedIn('owner@beta.test');
    const page = await owner.get('/dashboard/platform/examples');
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(beta.client_id), 'the client id is filled in');
    assert.ok(page.text.includes(`${gp.staging}/v1/auth/token`), 'the staging address');
    assert.ok(page.text.includes(`${gp.staging}/demo/`), 'the module address');
    assert.match(page.text, /\$CLIENT_SECRET/);
    assert.match(page.text, /\$MODULE_SECRET/);
    const secrets = [
      beta.client_secret,
      beta.modules.demo?.module_secret ?? '',
      beta.modules.demo?.provider_secret ?? '',
    ];
    for (const secret of secrets) assert.ok(!page.text.includes(secret), 'no secret');
    assert.doesNotMatch(page.text, /gp_test_(cs|ms|ps)_/);
  });

  test('request log filters and detail', async () => {
    const owner = await signedIn('owner@alpha.test');
    const all = await owner.get('/dashboard/platform/requests');
    assert.ok(all.text.includes('/demo/ok'));
    assert.ok(all.text.includes('/demo/fail'));
    const failed = await owner.get('/dashboard/platform/requests?failed=1');
    assert.ok(failed.text.includes('/demo/fail'));
    assert.ok(!failed.text.includes('/demo/ok'), 'failed-only hides successes');
    const production = await owner.get('/dashboard/platform/requests?environment=production');
    assert.ok(!production.text.includes('/demo/fail'));
    const future = await owner.get('/dashboard/platform/requests?from=2999-01-01T00:00');
    assert.match(future.text, /No requests match/);
    const bad = await owner.get('/dashboard/platform/requests?from=yesterday');
    assert.equal(bad.status, 400);

    const row = (await gp.running.context.store.requestLog.list({})).find(
      (r) => Number(r.id) === alphaRows.failed,
    );
    const detail = await owner.get(`/dashboard/platform/requests/${alphaRows.failed}`);
    assert.equal(detail.status, 200);
    assert.ok(row && detail.text.includes(row.request_id), 'the request id');
    assert.ok(row && detail.text.includes(String(row.status)), 'the status');
    assert.ok(row?.error_code && detail.text.includes(row.error_code), 'the error code');
  });

  test('usage chart is inline SVG', async () => {
    const owner = await signedIn('owner@alpha.test');
    const page = await owner.get('/dashboard/platform/usage');
    assert.equal(page.status, 200);
    assert.match(page.text, /<svg class="chart"/);
    assert.match(page.text, /<th scope="row">demo<\/th><td>2<\/td><td>1<\/td>/);
  });

  test('hostile name and comment escaped', async () => {
    const owner = await signedIn('owner@alpha.test');
    const posted = await owner.post('/dashboard/platform/go-live/comments', {
      body: HOSTILE_COMMENT,
    });
    assert.equal(posted.status, 303);
    const operator = await signedIn('ops@provider.test', 'operator');
    const pages = [
      await owner.get('/dashboard/platform'),
      await owner.get('/dashboard/platform/go-live'),
      await operator.get('/dashboard/operator'),
      await operator.get(`/dashboard/operator/platforms/${alpha.platform.id}`),
    ];
    for (const page of pages) {
      assert.equal(page.status, 200);
      assert.ok(!page.text.includes('<script>alert(1)'), 'no script element from the name');
      assert.ok(!page.text.includes('<img src=x'), 'no img element from the comment');
    }
    assert.ok(pages[0]?.text.includes('Alpha &lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(pages[1]?.text.includes('&lt;img src&#61;x onerror&#61;alert(1)&gt;'));
    assert.ok(pages[1]?.text.includes('&quot;quoted&quot; &amp; &#39;single&#39;'));
  });
});

describe('operator pages', () => {
  test('boarding shows secrets once', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    const form = await operator.get('/dashboard/operator/platforms/new');
    assert.match(form.text, /<label for="name">Platform name<\/label>/);
    const boarded = await operator.post('/dashboard/operator/platforms', {
      name: 'Gamma Health',
      modules: ['demo'],
    });
    assert.equal(boarded.status, 201);
    const secret = /gp_test_cs_[A-Za-z0-9]+/.exec(boarded.text)?.[0];
    assert.ok(secret, 'the client secret is shown');
    assert.match(boarded.text, /gp_test_ms_[A-Za-z0-9]+/);
    const platformId = /plt_[A-Za-z0-9]+/.exec(boarded.text)?.[0] ?? '';
    const page = await operator.get(`/dashboard/operator/platforms/${platformId}`);
    assert.equal(page.status, 200);
    assert.ok(!page.text.includes(secret), 'the secret is not shown again');
    const event = await auditEvent(
      gp,
      (row) => row.action === 'platform.boarded' && row.platform_id === platformId,
    );
    assert.equal(event?.actor_kind, 'operator');
    assert.equal(event?.actor_id, 'ops@provider.test');
  });

  test('search filters platforms', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    const page = await operator.get('/dashboard/operator?q=beta');
    assert.ok(page.text.includes('Beta Payments'));
    assert.ok(!page.text.includes('Alpha'), 'other platforms are left out');
  });

  test('user, checklist and go-live', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    const path = `/dashboard/operator/platforms/${beta.platform.id}`;
    const added = await operator.post(`${path}/users`, {
      email: 'viewer@beta.test',
      role: 'viewer',
      password: PASSWORD,
    });
    assert.equal(added.status, 303);
    assert.match((await operator.get(path)).text, /viewer@beta\.test/);

    for (const item of ['agreement-signed', 'compliance-verified', 'production-addresses']) {
      const checked = await operator.post(`${path}/checklist/${item}`, {
        comment: `checked ${item}`,
      });
      assert.equal(checked.status, 303, item);
    }
    const commented = await operator.post(`${path}/comments`, { body: 'Welcome aboard' });
    assert.equal(commented.status, 303);
    await operator.get(path);
    const approved = await operator.post(`${path}/approve`);
    assert.equal(approved.status, 201);
    assert.doesNotMatch(approved.text, /gp_live_/, 'the operator sees no production secret');
    assert.match(approved.text, /Production credentials issued/);
    const page = await operator.get(path);
    assert.match(page.text, /status-live/);

    const betaOwner = await signedIn('owner@beta.test');
    const golive = await betaOwner.get('/dashboard/platform/go-live');
    assert.match(golive.text, /Welcome aboard/);
    const overview = await betaOwner.get('/dashboard/platform');
    assert.match(overview.text, /Reveal production credentials/, 'the owner reveals them');
  });

  test('suspend, resume and modules', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    const gamma = await gp.board('Delta Retail');
    const path = `/dashboard/operator/platforms/${gamma.platform.id}`;
    assert.equal((await operator.post(`${path}/suspend`)).status, 303);
    assert.equal(
      (await gp.running.context.store.platforms.find(gamma.platform.id))?.status,
      'suspended',
    );
    assert.equal((await operator.post(`${path}/resume`)).status, 303);
    assert.equal((await operator.post(`${path}/resume`)).status, 409, 'not suspended');
    assert.equal((await operator.post(`${path}/modules/demo/disable`)).status, 303);
    await operator.get(path);
    const enabled = await operator.post(`${path}/modules`, { module: 'demo' });
    assert.equal(enabled.status, 201);
    assert.match(enabled.text, /gp_test_ms_/);
  });

  test('ids must match the platform', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    const betaPath = `/dashboard/operator/platforms/${beta.platform.id}`;
    const alphaSecret = (await gp.running.context.store.secrets.listFor(alpha.platform.id))[0]?.id;
    const before = await dumpDatabase(gp.dataDir);
    const disable = await operator.post(`${betaPath}/users/${alphaViewerId}/disable`);
    assert.equal(disable.status, 404);
    const reset = await operator.post(`${betaPath}/users/${alphaViewerId}/password`, {
      password: 'another long password',
    });
    assert.equal(reset.status, 404);
    const revoke = await operator.post(`${betaPath}/credentials/${alphaSecret}/revoke`);
    assert.equal(revoke.status, 404);
    const after = await dumpDatabase(gp.dataDir);
    assert.deepEqual(after.users, before.users);
    assert.deepEqual(after.secrets, before.secrets);
  });

  test('user and credential management', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    const epsilon = await gp.board('Epsilon Travel');
    const { id: userId } = await gp.addUser(
      epsilon.platform.id,
      'owner@epsilon.test',
      PASSWORD,
      'owner',
    );
    const path = `/dashboard/operator/platforms/${epsilon.platform.id}`;
    const user = await signedIn('owner@epsilon.test');

    assert.equal((await operator.post(`${path}/users/${userId}/disable`)).status, 303);
    assert.equal((await user.get('/dashboard/platform')).status, 303, 'disabling ends the session');
    assert.equal((await operator.post(`${path}/users/${userId}/enable`)).status, 303);
    assert.equal((await user.get('/dashboard/platform')).status, 303, 'and it stays ended');

    const reset = await operator.post(`${path}/users/${userId}/password`, {
      password: 'a brand new passphrase',
    });
    assert.equal(reset.status, 303);
    const again = new DashboardClient(gp.admin);
    assert.equal((await again.signIn('owner@epsilon.test', 'a brand new passphrase')).status, 303);

    await operator.get(path);
    const rotated = await operator.post(`${path}/credentials/rotate`, {
      environment: 'staging',
      kind: 'module',
      module: 'demo',
      overlap_seconds: '60',
    });
    assert.equal(rotated.status, 201);
    const secret = /gp_test_ms_[A-Za-z0-9]+/.exec(rotated.text)?.[0];
    assert.ok(secret, 'the new module secret is shown once');
    assert.ok(!(await operator.get(path)).text.includes(secret));

    const moduleSecret = (await gp.running.context.store.secrets.listFor(epsilon.platform.id)).find(
      (s) => s.kind === 'module' && s.revoked_at === null,
    );
    assert.ok(moduleSecret);
    assert.equal(
      (await operator.post(`${path}/credentials/${moduleSecret.id}/revoke`)).status,
      303,
    );
    const revoked = await gp.running.context.store.secrets.find(moduleSecret.id);
    assert.notEqual(revoked?.revoked_at, null);

    const saved = await operator.post(`${path}/allowlist/staging`, {
      entries: '203.0.113.0/24\n2001:db8::1',
    });
    assert.equal(saved.status, 303);
    assert.deepEqual(
      await gp.running.context.store.allowlists.get(epsilon.platform.id, 'staging'),
      ['203.0.113.0/24', '2001:db8::1'],
    );
    const invalid = await operator.post(`${path}/allowlist/staging`, { entries: 'not an address' });
    assert.equal(invalid.status, 400);
  });

  test('audit and traffic pages', async () => {
    const operator = await signedIn('ops@provider.test', 'operator');
    await auditEvent(gp, (row) => row.action === 'checklist.commented');
    const audit = await operator.get(
      `/dashboard/operator/audit?platform=${alpha.platform.id}&action=checklist.commented`,
    );
    assert.equal(audit.status, 200);
    assert.match(audit.text, /checklist\.commented/);
    assert.doesNotMatch(audit.text, /platform\.boarded/);
    const traffic = await operator.get('/dashboard/operator/traffic');
    assert.equal(traffic.status, 200);
    assert.match(traffic.text, /<svg class="chart"/);
    assert.ok(traffic.text.includes(`${beta.platform.id} / demo`));
  });
});
