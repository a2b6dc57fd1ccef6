/**
 * Hostile requests against the dashboard and its sessions, over real HTTP on a real admin
 * listener: input that PostgreSQL cannot store, forged and oddly encoded changes, sign-ins that
 * race a password reset, concurrent one-time forms, restarts, and markup in logged paths.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import { DashboardClient, type PageResponse } from './helpers/dashboard.js';
import { dumpDatabase, readDatabase } from './helpers/database.js';
import {
  gatewayHeaders,
  OPERATOR,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new horse battery staple';

/** Tables that a rejected request must leave alone. */
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
  'dashboard_form_uses',
];

let gp: TestGatepass;
let alpha: BoardingResult;
let beta: BoardingResult;

/** The password hasher of sign-in. Tests wrap `verify` to make a change while a password is checked. */
interface Hasher {
  verify(passwordHash: string, password: string): Promise<boolean>;
}

function hasherOf(server: TestGatepass): Hasher {
  // `passwords` is private to SessionService, and the tests reach it to time a change exactly.
  return (server.running.context.sessions as unknown as { passwords: Hasher }).passwords;
}

async function signedIn(email: string, kind: 'user' | 'operator' = 'user') {
  const client = new DashboardClient(gp.admin);
  const response = await client.signIn(email, PASSWORD, kind);
  assert.equal(response.status, 303, `${email} signs in`);
  return client;
}

/** Run `work` and check that no table of `TABLES` changed and no request failed with a 5xx. */
async function unchanged(work: () => Promise<void>): Promise<void> {
  const errors = gp.logs.filter((line) => line.includes('"level":50')).length;
  const before = await dumpDatabase(gp.dataDir);
  await work();
  const after = await dumpDatabase(gp.dataDir);
  for (const table of TABLES) assert.deepEqual(after[table], before[table], `${table} unchanged`);
  const newErrors = gp.logs.filter((line) => line.includes('"level":50')).slice(errors);
  assert.deepEqual(newErrors, [], 'no server error was logged');
}

/** Send a raw request with a session cookie, for bodies and headers the client does not make. */
async function raw(
  path: string,
  sessionId: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<PageResponse> {
  const response = await fetch(`${gp.admin}${path}`, {
    method: init.method ?? 'POST',
    redirect: 'manual',
    headers: { cookie: `gatepass_session=${sessionId}`, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    text: await response.text(),
    setCookies: response.headers.getSetCookie(),
  };
}

before(async () => {
  gp = await startTestGatepass();
  alpha = await gp.board('Alpha Retail');
  beta = await gp.board('Beta Payments');
  await gp.addUser(alpha.platform.id, 'owner@alpha.test', PASSWORD, 'owner');
  await gp.addUser(beta.platform.id, 'owner@beta.test', PASSWORD, 'owner');
  for (const email of ['ops@provider.test', 'ops2@provider.test']) {
    await gp.running.context.operatorAccounts.add({ email, password: PASSWORD }, OPERATOR);
  }
});
after(() => gp.close());

describe('hostile input', () => {
  test('NUL in any field is 400', async () => {
    const owner = await signedIn('owner@alpha.test');
    const operator = await signedIn('ops@provider.test', 'operator');
    const alphaPath = `/dashboard/operator/platforms/${alpha.platform.id}`;
    const userGets = [
      '/dashboard/platform/requests?module=demo%00',
      '/dashboard/platform/clients/a%00b',
    ];
    const operatorGets = [
      '/dashboard/operator/platforms/plt%00',
      '/dashboard/operator/audit?action=a%00b',
      '/dashboard/operator/audit?platform=a%00b',
    ];
    const operatorPosts: Array<[string, Record<string, string>]> = [
      ['/dashboard/operator/platforms', { name: 'Nul\u0000Corp', modules: 'demo' }],
      [`${alphaPath}/users`, { email: 'a\u0000@alpha.test', role: 'owner', password: PASSWORD }],
      [`${alphaPath}/users/usr%00/disable`, {}],
      [`${alphaPath}/checklist/agreement-signed`, { comment: 'ok\u0000' }],
      [`${alphaPath}/comments`, { body: 'hi\u0000' }],
      [`${alphaPath}/modules/demo%00/disable`, {}],
      ['/dashboard/operator/platforms/plt%00/suspend', {}],
    ];
    await unchanged(async () => {
      const responses: Array<[string, PageResponse]> = [];
      for (const path of userGets) responses.push([path, await owner.get(path)]);
      await owner.get('/dashboard/platform/go-live');
      responses.push([
        'user comment',
        await owner.post('/dashboard/platform/go-live/comments', { body: 'hi\u0000' }),
      ]);
      await owner.get(`/dashboard/platform/clients/${alpha.client_id}`);
      responses.push([
        'form token',
        await owner.post(`/dashboard/platform/clients/${alpha.client_id}/rotate`, {
          overlap_seconds: '60',
          _once: 'x\u0000y',
        }),
      ]);
      for (const path of operatorGets) responses.push([path, await operator.get(path)]);
      for (const [path, form] of operatorPosts) {
        await operator.get(alphaPath);
        responses.push([path, await operator.post(path, form)]);
      }
      for (const kind of ['user', 'operator'] as const) {
        const visitor = new DashboardClient(gp.admin);
        responses.push([
          `${kind} sign-in`,
          await visitor.signIn('owner@alpha.test\u0000', PASSWORD, kind),
        ]);
      }
      for (const [label, response] of responses) {
        assert.equal(response.status, 400, label);
        assert.match(response.text, /NUL character/, label);
        assert.equal(response.headers.get('cache-control'), 'no-store', label);
        assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      }
    });
  });

  test('malformed input is 4xx', async () => {
    const owner = await signedIn('owner@alpha.test');
    const sessionId = owner.cookies.get('gatepass_session') ?? '';
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: gp.admin };
    const gets = [
      '/dashboard/platform/requests?status=-1',
      '/dashboard/platform/requests?status=600',
      '/dashboard/platform/requests?status=4xx',
      '/dashboard/platform/requests/not-a-number',
      `/dashboard/platform/requests/${'9'.repeat(40)}`,
      `/dashboard/platform/clients/${'x'.repeat(500)}`,
      '/dashboard/platform/clients/%FF%FE',
    ];
    await unchanged(async () => {
      for (const path of gets) {
        const response = await owner.get(path);
        assert.ok(response.status >= 400, `${path}: ${response.status}`);
        assert.ok(response.status < 500, `${path}: ${response.status}`);
      }
      await owner.get(`/dashboard/platform/clients/${alpha.client_id}`);
      const rotate = `/dashboard/platform/clients/${alpha.client_id}/rotate`;
      for (const overlap of ['-1', '1e3', '0x10', '86400.5', '9999999999', ['60', '60']]) {
        const response = await owner.post(rotate, { overlap_seconds: overlap });
        assert.equal(response.status, 400, `overlap ${String(overlap)}`);
      }
      const bodies: Array<[string, Record<string, string>, string]> = [
        ['huge form', form, `_csrf=${owner.csrf}&body=${'x'.repeat(70_000)}`],
        ['repeated token', form, `_csrf=${owner.csrf}&_csrf=${owner.csrf}&body=twice`],
        ['XML', { ...form, 'content-type': 'application/xml' }, '<body>x</body>'],
        [
          'JSON prototype key',
          { ...form, 'content-type': 'application/json' },
          `{"__proto__":{"admin":true},"_csrf":"${owner.csrf}","body":"x"}`,
        ],
        [
          'multipart',
          { ...form, 'content-type': 'multipart/form-data; boundary=b' },
          `--b\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${owner.csrf}\r\n--b--\r\n`,
        ],
      ];
      for (const [label, headers, body] of bodies) {
        const response = await raw('/dashboard/platform/go-live/comments', sessionId, {
          headers,
          body,
        });
        assert.ok(response.status >= 400, `${label}: ${response.status}`);
        assert.ok(response.status < 500, `${label}: ${response.status}`);
      }
    });
  });

  test('impossible dates are 400', async () => {
    const owner = await signedIn('owner@alpha.test');
    const operator = await signedIn('ops@provider.test', 'operator');
    for (const value of [
      '2026-02-31T10:00',
      '2026-04-31T00:00',
      '2026-01-01T24:00',
      '2026-13-01T00:00',
    ]) {
      const encoded = encodeURIComponent(value);
      const requests = await owner.get(`/dashboard/platform/requests?from=${encoded}`);
      assert.equal(requests.status, 400, `requests from ${value}`);
      const audit = await operator.get(`/dashboard/operator/audit?until=${encoded}`);
      assert.equal(audit.status, 400, `audit until ${value}`);
    }
    const valid = await owner.get('/dashboard/platform/requests?from=2028-02-29T10:00');
    assert.equal(valid.status, 200, 'a leap day is a date');
  });

  test('rejected rotation keeps form token', async () => {
    const owner = await signedIn('owner@alpha.test');
    const path = `/dashboard/platform/clients/${alpha.client_id}`;
    await owner.get(path);
    const once = owner.once;
    const tooLong = await owner.post(`${path}/rotate`, { overlap_seconds: '2592001', _once: once });
    assert.equal(tooLong.status, 400);
    const corrected = await owner.post(`${path}/rotate`, { overlap_seconds: '3600', _once: once });
    assert.equal(corrected.status, 201, 'the corrected form is accepted');

    const operator = await signedIn('ops@provider.test', 'operator');
    const platformPath = `/dashboard/operator/platforms/${beta.platform.id}`;
    await operator.get(platformPath);
    const operatorOnce = operator.once;
    const form = { environment: 'staging', kind: 'client', overlap_seconds: '3600' };
    for (const wrong of [{ kind: 'root' }, { environment: 'qa' }, { overlap_seconds: '2592001' }]) {
      const rejected = await operator.post(`${platformPath}/credentials/rotate`, {
        ...form,
        ...wrong,
        _once: operatorOnce,
      });
      assert.equal(rejected.status, 400, JSON.stringify(wrong));
    }
    const accepted = await operator.post(`${platformPath}/credentials/rotate`, {
      ...form,
      _once: operatorOnce,
    });
    assert.equal(accepted.status, 201, 'the corrected operator form is accepted');
  });
});

describe('forged changes', () => {
  test('forged encodings are rejected', async () => {
    const owner = await signedIn('owner@alpha.test');
    await owner.get('/dashboard/platform/go-live');
    const sessionId = owner.cookies.get('gatepass_session') ?? '';
    const formType = 'application/x-www-form-urlencoded';
    const cases: Array<[string, string, Record<string, string>, string, number]> = [
      [
        'text/plain body',
        '/dashboard/platform/go-live/comments',
        { 'content-type': 'text/plain', origin: gp.admin },
        `_csrf=${owner.csrf}&body=forged`,
        403,
      ],
      [
        'token in the query string',
        `/dashboard/platform/go-live/comments?_csrf=${owner.csrf}`,
        { 'content-type': formType, origin: gp.admin },
        'body=forged',
        403,
      ],
      [
        'JSON array',
        '/dashboard/platform/go-live/comments',
        { 'content-type': 'application/json', origin: gp.admin },
        `["${owner.csrf}"]`,
        403,
      ],
      [
        'method override',
        '/dashboard/platform/go-live/comments?_method=POST',
        { 'x-http-method-override': 'POST', origin: gp.admin },
        '',
        404,
      ],
    ];
    await unchanged(async () => {
      for (const [label, path, headers, body, status] of cases) {
        const method = label === 'method override' ? 'GET' : 'POST';
        const response = await raw(path, sessionId, {
          method,
          headers,
          ...(method === 'GET' ? {} : { body }),
        });
        assert.equal(response.status, status, label);
      }
    });
  });

  test('origin tricks are 403', async () => {
    const owner = await signedIn('owner@alpha.test');
    await owner.get('/dashboard/platform/go-live');
    const sessionId = owner.cookies.get('gatepass_session') ?? '';
    const host = new URL(gp.admin).host;
    const cases: Array<[string, Record<string, string>]> = [
      ['Origin null', { origin: 'null', referer: `${gp.admin}/dashboard` }],
      ['foreign Origin', { origin: 'http://evil.test', referer: `${gp.admin}/dashboard` }],
      ['Origin with other port', { origin: 'http://127.0.0.1:1' }],
      ['Referer prefix', { referer: `${gp.admin}.evil.test/dashboard` }],
      ['Referer user info', { referer: `http://${host}@evil.test/dashboard` }],
      ['Referer query', { referer: `http://evil.test/?${gp.admin}` }],
    ];
    await unchanged(async () => {
      for (const [label, headers] of cases) {
        const response = await raw('/dashboard/platform/go-live/comments', sessionId, {
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: `_csrf=${owner.csrf}&body=forged`,
        });
        assert.equal(response.status, 403, label);
      }
    });
  });

  test('sign-in rejects another nonce', async () => {
    const attacker = new DashboardClient(gp.admin);
    await attacker.get('/dashboard/sign-in');
    const victim = new DashboardClient(gp.admin);
    await victim.get('/dashboard/sign-in');
    const forged = await victim.post(
      '/dashboard/sign-in',
      { email: 'owner@alpha.test', password: PASSWORD },
      { csrf: attacker.csrf },
    );
    assert.equal(forged.status, 403);
    assert.equal(victim.cookies.get('gatepass_session'), undefined);

    const tossed = new DashboardClient(gp.admin);
    tossed.cookies.set('gatepass_pre_session', attacker.cookies.get('gatepass_pre_session') ?? '');
    const nullOrigin = await tossed.post(
      '/dashboard/sign-in',
      { email: 'owner@alpha.test', password: PASSWORD },
      { csrf: attacker.csrf, origin: 'null' },
    );
    assert.equal(nullOrigin.status, 403);
    assert.equal(tossed.cookies.get('gatepass_session'), undefined);
  });
});

describe('session lifecycle', () => {
  test('sign-in racing a password reset fails', async () => {
    const { id } = await gp.addUser(alpha.platform.id, 'reset-race@alpha.test', PASSWORD);
    const hasher = hasherOf(gp);
    const verify = hasher.verify;
    hasher.verify = async (passwordHash, password) => {
      const valid = await verify.call(hasher, passwordHash, password);
      // The operator resets the password after the old one was read and found right.
      await gp.running.context.users.resetPassword(id, NEW_PASSWORD, OPERATOR);
      return valid;
    };
    const client = new DashboardClient(gp.admin);
    let response: PageResponse;
    try {
      response = await client.signIn('reset-race@alpha.test', PASSWORD);
    } finally {
      hasher.verify = verify;
    }
    const page = await client.get('/dashboard/platform');
    assert.equal(page.status, 303, 'the old password opens no session');
    assert.equal(response.status, 401);

    const fresh = new DashboardClient(gp.admin);
    assert.equal((await fresh.signIn('reset-race@alpha.test', NEW_PASSWORD)).status, 303);
  });

  test('sign-in racing disable and enable fails', async () => {
    const { id } = await gp.addUser(alpha.platform.id, 'disable-race@alpha.test', PASSWORD);
    const hasher = hasherOf(gp);
    const verify = hasher.verify;
    hasher.verify = async (passwordHash, password) => {
      const valid = await verify.call(hasher, passwordHash, password);
      await gp.running.context.users.disable(id, OPERATOR);
      await gp.running.context.users.enable(id, OPERATOR);
      return valid;
    };
    const client = new DashboardClient(gp.admin);
    try {
      await client.signIn('disable-race@alpha.test', PASSWORD);
    } finally {
      hasher.verify = verify;
    }
    const page = await client.get('/dashboard/platform');
    assert.equal(page.status, 303, 'disabling ended the session that was starting');
  });

  test('sign-out without a session clears cookie', async () => {
    const { id } = await gp.addUser(alpha.platform.id, 'stale@alpha.test', PASSWORD);
    const client = await signedIn('stale@alpha.test');
    await client.get('/dashboard/platform');
    await gp.running.context.users.disable(id, OPERATOR);
    const response = await client.post('/dashboard/sign-out');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/dashboard/sign-in?notice=signed-out');
    assert.ok(
      response.setCookies.some((line) => /^gatepass_session=;/.test(line)),
      'the stale cookie is cleared',
    );
  });

  test('sign-in ends a tossed session', async () => {
    const attacker = await signedIn('owner@beta.test');
    const attackerId = attacker.cookies.get('gatepass_session') ?? '';
    const victim = new DashboardClient(gp.admin);
    victim.cookies.set('gatepass_session', attackerId);
    const response = await victim.signIn('owner@alpha.test', PASSWORD);
    assert.equal(response.status, 303);
    assert.notEqual(victim.cookies.get('gatepass_session'), attackerId, 'a new session id');
    assert.match((await victim.get('/dashboard/platform')).text, /Alpha Retail/);
    assert.equal((await attacker.get('/dashboard/platform')).status, 303, 'tossed session ended');
  });

  test('odd session cookies are ignored', async () => {
    const owner = await signedIn('owner@alpha.test');
    const valid = owner.cookies.get('gatepass_session') ?? '';
    const cookies = [
      `gatepass_session=${'A'.repeat(6000)}`,
      'gatepass_session=%FF%00',
      'gatepass_session=',
      `gatepass_session=bogus; gatepass_session=${valid}`,
    ];
    for (const cookie of cookies) {
      const response = await fetch(`${gp.admin}/dashboard/platform`, {
        redirect: 'manual',
        headers: { cookie },
      });
      await response.text();
      assert.equal(response.status, 303, cookie.slice(0, 40));
      assert.equal(response.headers.get('location'), '/dashboard/sign-in');
    }
  });
});

describe('races', () => {
  test('concurrent rotations spend one token', async () => {
    const owner = await signedIn('owner@beta.test');
    const path = `/dashboard/platform/clients/${beta.client_id}`;
    await owner.get(path);
    const once = owner.once;
    const csrf = owner.csrf;
    const before = await gp.running.context.store.secrets.listFor(beta.platform.id);
    const responses = await Promise.all(
      [0, 1, 2, 3].map(() =>
        owner.post(`${path}/rotate`, { overlap_seconds: '60', _once: once }, { csrf }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409]);
    const after = await gp.running.context.store.secrets.listFor(beta.platform.id);
    assert.equal(after.length, before.length + 1, 'one new secret');

    const shownSecrets = responses.flatMap(
      (response) => response.text.match(/gp_test_cs_\w+/g) ?? [],
    );
    assert.equal(shownSecrets.length, 1, 'the secret is shown on one page');
    const secret = shownSecrets[0] ?? '';
    const winner = responses.find((response) => response.status === 201);
    assert.equal(winner?.headers.get('cache-control'), 'no-store');
    assert.deepEqual(findSecrets(gp.logs.join('\n'), { secret }), [], 'not in the log');
    assert.deepEqual(findSecrets(await readDatabase(gp.dataDir), { secret }), [], 'not stored');
    for (const again of [path, '/dashboard/platform', '/dashboard/platform/examples']) {
      assert.ok(!(await owner.get(again)).text.includes(secret), `${again} hides it`);
    }
  });

  test('concurrent approvals go live once', async () => {
    const context = gp.running.context;
    const gamma = await gp.board('Gamma Travel');
    const call = await fetch(`${gp.staging}/demo/ok`, { headers: gatewayHeaders(gamma) });
    assert.equal(call.status, 200);
    await call.text();
    await context.requestLog.flush();
    for (const item of ['agreement-signed', 'compliance-verified', 'production-addresses']) {
      await context.goLive.check(gamma.platform.id, item, 'checked', OPERATOR);
    }
    const path = `/dashboard/operator/platforms/${gamma.platform.id}`;
    const first = await signedIn('ops@provider.test', 'operator');
    const second = await signedIn('ops2@provider.test', 'operator');
    await first.get(path);
    await second.get(path);
    const responses = await Promise.all([
      first.post(`${path}/approve`),
      second.post(`${path}/approve`),
    ]);
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [201, 409]);
    const live = responses.flatMap((response) => response.text.match(/gp_live_\w+/g) ?? []);
    assert.deepEqual(live, [], 'operators see no production secret');
    const sealed = await context.store.credentialReveals.listFor(gamma.platform.id);
    assert.equal(sealed.length, 1, 'the production credentials are sealed once');
    const platform = await context.platforms.show(gamma.platform.id);
    const production = platform.environments.filter((env) => env.environment === 'production');
    assert.equal(production.length, 1, 'one production client');
  });
});

describe('rendering', () => {
  test('logged markup stays escaped', async () => {
    const url = new URL(gp.staging);
    const headers = Object.entries(gatewayHeaders(alpha))
      .map(([name, value]) => `${name}: ${value}`)
      .join('\r\n');
    // fetch percent-encodes the path, so a raw socket sends the markup as it is.
    const request = `GET /demo/<svg/onload=alert(1)>"'x HTTP/1.1\r\nHost: ${url.host}\r\n${headers}\r\nConnection: close\r\n\r\n`;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk;
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    await gp.running.context.requestLog.flush();

    const owner = await signedIn('owner@alpha.test');
    const list = await owner.get('/dashboard/platform/requests');
    assert.ok(list.text.includes('/demo/&lt;svg/onload&#61;alert(1)&gt;'), 'the path is listed');
    assert.ok(!list.text.includes('<svg/onload'), 'no raw markup in the list');
    const id = /\/dashboard\/platform\/requests\/(\d+)/.exec(list.text)?.[1];
    const detail = await owner.get(`/dashboard/platform/requests/${id}`);
    assert.equal(detail.status, 200);
    assert.ok(!detail.text.includes('<svg/onload'), 'no raw markup in the detail');

    const echoed = await owner.get(
      `/dashboard/platform/requests?from=${encodeURIComponent('"><svg onload=alert(1)>')}`,
    );
    assert.equal(echoed.status, 400);
    assert.ok(!echoed.text.includes('<svg onload'), 'the filter is escaped in the error');
    const operator = await signedIn('ops@provider.test', 'operator');
    const audit = await operator.get(
      `/dashboard/operator/audit?action=${encodeURIComponent('"><svg onload=alert(1)>')}`,
    );
    assert.equal(audit.status, 200);
    assert.ok(!audit.text.includes('<svg onload'), 'the filter is escaped in its field');
  });
});

describe('server log', () => {
  test('log holds no password or session', async () => {
    const owner = await signedIn('owner@alpha.test');
    await owner.get('/dashboard/platform/go-live');
    const comment = await owner.post('/dashboard/platform/go-live/comments', { body: 'logged?' });
    assert.equal(comment.status, 303);
    const sessionId = owner.cookies.get('gatepass_session') ?? '';
    assert.ok(sessionId.length >= 40, 'a session id was issued');
    const log = gp.logs.join('\n');
    assert.ok(!log.includes(PASSWORD), 'no password');
    assert.ok(!log.includes(NEW_PASSWORD), 'no reset password');
    assert.ok(!log.includes(sessionId), 'no session id');
    assert.ok(!log.includes(owner.csrf), 'no CSRF token');
  });
});

describe('restart', () => {
  test('session survives a restart', async () => {
    const first = await startTestGatepass();
    let second: TestGatepass | undefined;
    try {
      const board = await first.board('Delta Foods');
      await first.addUser(board.platform.id, 'owner@delta.test', PASSWORD, 'owner');
      const client = new DashboardClient(first.admin);
      assert.equal((await client.signIn('owner@delta.test', PASSWORD)).status, 303);
      await client.get('/dashboard/platform/go-live');
      const sessionId = client.cookies.get('gatepass_session') ?? '';
      const csrf = client.csrf;
      await first.stop();

      second = await startTestGatepass({ dataDir: first.dataDir });
      const restarted = new DashboardClient(second.admin);
      restarted.cookies.set('gatepass_session', sessionId);
      assert.equal((await restarted.get('/dashboard/platform')).status, 200);
      const comment = await restarted.post(
        '/dashboard/platform/go-live/comments',
        { body: 'after the restart' },
        { csrf },
      );
      assert.equal(comment.status, 303, 'the CSRF token is still valid');
      assert.equal((await restarted.post('/dashboard/sign-out')).status, 303);
      restarted.cookies.set('gatepass_session', sessionId);
      assert.equal((await restarted.get('/dashboard/platform')).status, 303, 'signed out');
    } finally {
      await second?.stop();
      await first.close();
    }
  });
});
