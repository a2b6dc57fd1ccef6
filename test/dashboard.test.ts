/**
 * The dashboard's sign-in, sessions and CSRF protection, over real HTTP on a real admin
 * listener with a real database.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './helpers/command.js';
import { DashboardClient } from './helpers/dashboard.js';
import { dumpDatabase, readDatabase } from './helpers/database.js';
import {
  OPERATOR,
  type StartOptions,
  startTestGatepass,
  type TestGatepass,
  testDatabase,
} from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';

const PASSWORD = 'correct horse battery staple';
const OPERATOR_PASSWORD = 'operator horse battery staple';

interface Fixture {
  gp: TestGatepass;
  platformId: string;
  clientId: string;
}

async function setUp(options: StartOptions = {}): Promise<Fixture> {
  const gp = await startTestGatepass(options);
  const board = await gp.board('Acme Retail');
  await gp.addUser(board.platform.id, 'owner@acme.test', PASSWORD, 'owner');
  await gp.running.context.operatorAccounts.add(
    { email: 'ops@provider.test', password: OPERATOR_PASSWORD },
    OPERATOR,
  );
  return { gp, platformId: board.platform.id, clientId: board.client_id };
}

function cookieLine(setCookies: string[], name: string): string | undefined {
  return setCookies.find((line) => line.startsWith(`${name}=`));
}

describe('dashboard sign-in', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await setUp({ settings: { 'rateLimits.signInFailuresBeforeLockout': 3 } });
  });
  after(() => fixture.gp.close());

  test('user sign-in sets session cookie', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const response = await client.signIn('Owner@Acme.test ', PASSWORD);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/dashboard/platform');
    const line = cookieLine(response.setCookies, 'gatepass_session');
    assert.ok(line, 'a session cookie is set');
    assert.match(line, /; HttpOnly/);
    assert.match(line, /; SameSite=Strict/);
    assert.match(line, /; Path=\/(;|$)/);
    assert.doesNotMatch(line, /; Secure/, 'plain HTTP without the TLS switch');
    const home = await client.get('/dashboard/platform');
    assert.equal(home.status, 200);
    assert.match(home.text, /Acme Retail/);
  });

  test('wrong password is rejected', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const response = await client.signIn('owner@acme.test', 'wrong password entirely');
    assert.equal(response.status, 401);
    assert.match(response.text, /The email or password is incorrect/);
    assert.equal(cookieLine(response.setCookies, 'gatepass_session'), undefined);
    assert.equal((await client.get('/dashboard/platform')).status, 303);
  });

  test('unknown email is rejected alike', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const response = await client.signIn('nobody@acme.test', PASSWORD);
    assert.equal(response.status, 401);
    assert.match(response.text, /The email or password is incorrect/);
  });

  test('lockout after repeated failures', async () => {
    await fixture.gp.addUser(fixture.platformId, 'locked@acme.test', PASSWORD, 'viewer');
    const client = new DashboardClient(fixture.gp.admin);
    for (let attempt = 0; attempt < 3; attempt++) {
      const failed = await client.signIn('locked@acme.test', 'not the password at all');
      assert.equal(failed.status, 401, `attempt ${attempt + 1}`);
    }
    const locked = await client.signIn('locked@acme.test', PASSWORD);
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    assert.equal(cookieLine(locked.setCookies, 'gatepass_session'), undefined);
  });

  test('operator sign-in opens operator pages', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const response = await client.signIn('ops@provider.test', OPERATOR_PASSWORD, 'operator');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/dashboard/operator');
    const list = await client.get('/dashboard/operator');
    assert.equal(list.status, 200);
    assert.match(list.text, /Acme Retail/);
  });

  test('user credentials fail on operator sign-in', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const response = await client.signIn('owner@acme.test', PASSWORD, 'operator');
    assert.equal(response.status, 401);
  });

  test('sign-in form needs its token', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.get('/dashboard/sign-in');
    const response = await client.post(
      '/dashboard/sign-in',
      { email: 'owner@acme.test', password: PASSWORD },
      { csrf: null },
    );
    assert.equal(response.status, 403);
    assert.equal(cookieLine(response.setCookies, 'gatepass_session'), undefined);
  });

  test('sign-in form rejects foreign origin', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.get('/dashboard/sign-in');
    const response = await client.post(
      '/dashboard/sign-in',
      { email: 'owner@acme.test', password: PASSWORD },
      { origin: 'http://evil.test' },
    );
    assert.equal(response.status, 403);
    assert.equal(cookieLine(response.setCookies, 'gatepass_session'), undefined);
  });

  test('pages carry a strict CSP', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const page = await client.get('/dashboard/sign-in');
    const policy = page.headers.get('content-security-policy') ?? '';
    assert.match(policy, /default-src 'self'/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.doesNotMatch(policy, /unsafe-inline/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.doesNotMatch(page.text, /<script>/, 'no inline script');
    assert.match(page.text, /<html lang="en">/);
    assert.match(page.text, /<label for="email">Email<\/label>/);
    assert.match(page.text, /<label for="password">Password<\/label>/);
    const css = await client.get('/dashboard/assets/dashboard.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    const script = await client.get('/dashboard/assets/dashboard.js');
    assert.equal(script.status, 200);
  });

  test('Swagger UI still loads', async () => {
    const response = await fetch(`${fixture.gp.admin}/admin/docs/`);
    assert.equal(response.status, 200);
    await response.text();
  });
});

describe('dashboard sessions', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await setUp();
  });
  after(() => fixture.gp.close());

  test('sign-out deletes the session', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.signIn('owner@acme.test', PASSWORD);
    const sessionId = client.cookies.get('gatepass_session') ?? '';
    await client.get('/dashboard/platform');
    const out = await client.post('/dashboard/sign-out');
    assert.equal(out.status, 303);
    assert.match(
      cookieLine(out.setCookies, 'gatepass_session') ?? '',
      /Max-Age=0|Expires=Thu, 01 Jan 1970/,
    );
    const replay = new DashboardClient(fixture.gp.admin);
    replay.cookies.set('gatepass_session', sessionId);
    const page = await replay.get('/dashboard/platform');
    assert.equal(page.status, 303, 'the old cookie no longer works');
    assert.equal(page.headers.get('location'), '/dashboard/sign-in');
  });

  test('session id and passwords not stored', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.signIn('owner@acme.test', PASSWORD);
    const operator = new DashboardClient(fixture.gp.admin);
    await operator.signIn('ops@provider.test', OPERATOR_PASSWORD, 'operator');
    const secrets = {
      userSession: client.cookies.get('gatepass_session') ?? '',
      operatorSession: operator.cookies.get('gatepass_session') ?? '',
      userPassword: PASSWORD,
      operatorPassword: OPERATOR_PASSWORD,
      csrf: client.csrf,
    };
    assert.ok(secrets.userSession.length >= 40);
    assert.deepEqual(findSecrets(await readDatabase(fixture.gp.dataDir), secrets), []);
    const dump = await dumpDatabase(fixture.gp.dataDir);
    assert.ok((dump.dashboard_sessions ?? []).length >= 2, 'sessions are stored by hash');
  });

  test('session authenticates the admin API', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.signIn('ops@provider.test', OPERATOR_PASSWORD, 'operator');
    await client.get('/dashboard/operator');
    const cookie = `gatepass_session=${client.cookies.get('gatepass_session')}`;
    const list = await fetch(`${fixture.gp.admin}/admin/v1/platforms`, { headers: { cookie } });
    assert.equal(list.status, 200);
    await list.text();

    const path = `${fixture.gp.admin}/admin/v1/platforms/${fixture.platformId}/suspend`;
    const noToken = await fetch(path, {
      method: 'POST',
      headers: { cookie, origin: fixture.gp.admin, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(noToken.status, 403);
    await noToken.text();
    const foreign = await fetch(path, {
      method: 'POST',
      headers: {
        cookie,
        origin: 'http://evil.test',
        'x-csrf-token': client.csrf,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(foreign.status, 403);
    await foreign.text();
    const platform = await fixture.gp.running.context.store.platforms.find(fixture.platformId);
    assert.equal(platform?.status, 'staging', 'nothing changed');

    const userClient = new DashboardClient(fixture.gp.admin);
    await userClient.signIn('owner@acme.test', PASSWORD);
    const asUser = await fetch(`${fixture.gp.admin}/admin/v1/platforms`, {
      headers: { cookie: `gatepass_session=${userClient.cookies.get('gatepass_session')}` },
    });
    assert.equal(asUser.status, 401, 'a platform user session is no operator');
    await asUser.text();

    const allowed = await fetch(path, {
      method: 'POST',
      headers: {
        cookie,
        origin: fixture.gp.admin,
        'x-csrf-token': client.csrf,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(allowed.status, 200);
    await allowed.text();
    await fixture.gp.running.context.platforms.resume(fixture.platformId, OPERATOR);
  });
});

describe('dashboard session timeouts', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await setUp({
      settings: { 'dashboard.sessionIdleSeconds': 1, 'dashboard.sessionAbsoluteSeconds': 3 },
    });
  });
  after(() => fixture.gp.close());

  test('idle session expires', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.signIn('owner@acme.test', PASSWORD);
    assert.equal((await client.get('/dashboard/platform')).status, 200);
    await sleep(2_200);
    const page = await client.get('/dashboard/platform');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/dashboard/sign-in');
  });

  test('absolute timeout ends active session', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.signIn('owner@acme.test', PASSWORD);
    // Requests every half second keep the session from idling out.
    let lastStatus = 200;
    for (let step = 0; step < 9 && lastStatus === 200; step++) {
      await sleep(500);
      lastStatus = (await client.get('/dashboard/platform')).status;
    }
    assert.equal(lastStatus, 303, 'the session ended although it was never idle');
  });
});

describe('secure cookie switch', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await setUp({ settings: { 'dashboard.secureCookies': true } });
  });
  after(() => fixture.gp.close());

  test('cookie is Secure behind TLS', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    const response = await client.signIn('owner@acme.test', PASSWORD);
    const line = cookieLine(response.setCookies, '__Host-gatepass_session') ?? '';
    assert.match(line, /; Secure/);
    assert.match(line, /; Path=\/(;|$)/);
    assert.doesNotMatch(line, /; Domain=/i);
    assert.equal(cookieLine(response.setCookies, 'gatepass_session'), undefined);
  });

  test('unprefixed cookie is ignored behind TLS', async () => {
    const client = new DashboardClient(fixture.gp.admin);
    await client.signIn('owner@acme.test', PASSWORD);
    const sessionId = client.cookies.get('__Host-gatepass_session') ?? '';
    assert.notEqual(sessionId, '');
    // A cookie under the plain name could come from a sibling host; it must not sign anyone in.
    const response = await fetch(`${fixture.gp.admin}/dashboard/platform`, {
      headers: { cookie: `gatepass_session=${sessionId}` },
      redirect: 'manual',
    });
    assert.equal(response.status, 303);
    const signedIn = await client.get('/dashboard/platform');
    assert.equal(signedIn.status, 200);
  });
});

describe('dashboard CSRF', () => {
  let fixture: Fixture;
  let client: DashboardClient;
  before(async () => {
    fixture = await setUp();
    client = new DashboardClient(fixture.gp.admin);
    await client.signIn('owner@acme.test', PASSWORD);
    await client.get('/dashboard/platform/go-live');
  });
  after(() => fixture.gp.close());

  async function unchanged(work: () => Promise<void>) {
    const before = await dumpDatabase(fixture.gp.dataDir);
    await work();
    const after = await dumpDatabase(fixture.gp.dataDir);
    for (const table of ['checklist_comments', 'secrets', 'platforms', 'users']) {
      assert.deepEqual(after[table], before[table], `${table} unchanged`);
    }
  }

  test('change without token is 403', async () => {
    await unchanged(async () => {
      const comment = await client.post(
        '/dashboard/platform/go-live/comments',
        { body: 'no token' },
        { csrf: null },
      );
      assert.equal(comment.status, 403);
      const rotate = await client.post(
        `/dashboard/platform/clients/${fixture.clientId}/rotate`,
        { overlap_seconds: '60' },
        { csrf: null },
      );
      assert.equal(rotate.status, 403);
    });
  });

  test('change with wrong token is 403', async () => {
    await unchanged(async () => {
      const comment = await client.post(
        '/dashboard/platform/go-live/comments',
        { body: 'wrong token' },
        { csrf: `${client.csrf.slice(0, -2)}AA` },
      );
      assert.equal(comment.status, 403);
    });
  });

  test('change from foreign origin is 403', async () => {
    await unchanged(async () => {
      const comment = await client.post(
        '/dashboard/platform/go-live/comments',
        { body: 'foreign origin' },
        { origin: 'http://evil.test' },
      );
      assert.equal(comment.status, 403);
      const rotate = await client.post(
        `/dashboard/platform/clients/${fixture.clientId}/rotate`,
        { overlap_seconds: '60' },
        { origin: 'http://evil.test' },
      );
      assert.equal(rotate.status, 403);
    });
  });

  test('change without Origin or Referer is 403', async () => {
    await unchanged(async () => {
      const comment = await client.post(
        '/dashboard/platform/go-live/comments',
        { body: 'no origin' },
        { origin: null },
      );
      assert.equal(comment.status, 403);
      const foreignReferer = await client.post(
        '/dashboard/platform/go-live/comments',
        { body: 'foreign referer' },
        { origin: null, headers: { referer: 'http://evil.test/page' } },
      );
      assert.equal(foreignReferer.status, 403);
    });
  });

  test('same-origin Referer is accepted', async () => {
    const comment = await client.post(
      '/dashboard/platform/go-live/comments',
      { body: 'referer only' },
      { origin: null, headers: { referer: `${fixture.gp.admin}/dashboard/platform/go-live` } },
    );
    assert.equal(comment.status, 303);
    const page = await client.get('/dashboard/platform/go-live');
    assert.match(page.text, /referer only/);
  });

  test('token of another session is 403', async () => {
    const other = new DashboardClient(fixture.gp.admin);
    await fixture.gp.addUser(fixture.platformId, 'second@acme.test', PASSWORD, 'owner');
    await other.signIn('second@acme.test', PASSWORD);
    await other.get('/dashboard/platform');
    await unchanged(async () => {
      const comment = await client.post(
        '/dashboard/platform/go-live/comments',
        { body: 'borrowed token' },
        { csrf: other.csrf },
      );
      assert.equal(comment.status, 403);
    });
  });
});

describe('operators add command', () => {
  let gp: TestGatepass;
  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('password read from standard input', async () => {
    const database = await testDatabase(gp.dataDir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GATEPASS_DATA_DIR: gp.dataDir,
      GATEPASS_LOG_LEVEL: 'error',
    };
    if (typeof database.databaseUrl === 'string') env.DATABASE_URL = database.databaseUrl;
    const child = spawn(
      process.execPath,
      [
        'dist/cli/main.js',
        'operators',
        'add',
        '--email',
        'Cli@Provider.test',
        '--password-stdin',
        '--json',
      ],
      { cwd: ROOT, env },
    );
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      errors += chunk;
    });
    child.stdin.end(`${OPERATOR_PASSWORD}\n`);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, errors);
    assert.deepEqual(JSON.parse(output), {
      operator: 'cli@provider.test',
      email: 'cli@provider.test',
    });

    const client = new DashboardClient(gp.admin);
    const response = await client.signIn('cli@provider.test', OPERATOR_PASSWORD, 'operator');
    assert.equal(response.status, 303);
  });

  test('admin API adds own account only', async () => {
    const { key } = await gp.running.context.operators.createKey('alice', OPERATOR);
    const response = await fetch(`${gp.admin}/admin/v1/operators/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@provider.test', password: OPERATOR_PASSWORD }),
    });
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { operator: 'alice', email: 'alice@provider.test' });
    const again = await fetch(`${gp.admin}/admin/v1/operators/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice2@provider.test', password: OPERATOR_PASSWORD }),
    });
    assert.equal(again.status, 409, 'one account per operator');
    await again.text();
  });

  test('short password is rejected', async () => {
    await assert.rejects(
      gp.running.context.operatorAccounts.add(
        { email: 'short@provider.test', password: 'short' },
        OPERATOR,
      ),
      /at least 12 characters/,
    );
  });
});
