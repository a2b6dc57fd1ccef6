import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import {
  basic,
  gatewayHeaders,
  OPERATOR,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

const PASSWORD = 'correct horse battery staple';

describe('token API limits', () => {
  let gp: TestGatepass;
  let first: BoardingResult;
  let second: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({
      settings: {
        'rateLimits.tokenPerClientPerMinute': 3,
        'rateLimits.tokenPerAddressPerMinute': 8,
      },
    });
    first = await gp.board('First');
    second = await gp.board('Second');
  });
  after(() => gp.close());

  const token = (board: BoardingResult) =>
    postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(board.client_id, board.client_secret),
      },
    );

  test('client over its limit gets 429', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await token(first)).status);
    const limited = await token(first);

    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });

  test('other client keeps its own budget', async () => {
    assert.equal((await token(second)).status, 200);
  });

  test('address over its limit gets 429', async () => {
    // Five requests so far from this address; the address limit is eight.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await token(second)).status);
    assert.ok(statuses.includes(429));
    const unknown = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(second.client_id, 'gp_test_cs_wrong'),
      },
    );
    assert.equal(unknown.status, 429);
  });
});

describe('token API allowlist', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let refreshToken: string;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    const issued = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(platform.client_id, platform.client_secret),
      },
    );
    refreshToken = String(issued.body.refresh_token);
    await gp.running.context.accessPolicy.setAllowlist(
      platform.platform.id,
      'staging',
      ['203.0.113.0/24'],
      OPERATOR,
    );
  });
  after(() => gp.close());

  test('grant from outside allowlist refused', async () => {
    const refused = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(platform.client_id, platform.client_secret),
      },
    );
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'unauthorized_client');
    assert.match(String(refused.body.error_description), /127\.0\.0\.1/);
  });

  test('refresh from outside allowlist refused', async () => {
    const refused = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'unauthorized_client');
  });

  test('other environment keeps no allowlist', async () => {
    const lists = await gp.running.context.accessPolicy.allowlists(platform.platform.id);
    assert.deepEqual(lists.production, []);
  });
});

describe('sign-in lockout', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass({
      settings: {
        'rateLimits.signInFailuresBeforeLockout': 2,
        'rateLimits.signInLockoutSeconds': 2,
      },
    });
    const platform = await gp.board();
    await gp.addUser(platform.platform.id, 'victim@example.test', PASSWORD);
    await gp.addUser(platform.platform.id, 'other@example.test', PASSWORD);
  });
  after(() => gp.close());

  const signIn = (email: string, password: string) =>
    postForm(`${gp.staging}/v1/auth/token`, { grant_type: 'user_credentials', email, password });

  test('failures past threshold lock the email', async () => {
    const statuses = [];
    for (const email of ['victim@example.test', 'Victim@Example.test', ' VICTIM@example.test ']) {
      statuses.push((await signIn(email, 'wrong password here')).status);
    }
    const locked = await signIn('victim@example.test', PASSWORD);

    // Two failures reach the threshold, so the third attempt, whatever its case, is turned away.
    assert.deepEqual(statuses, [400, 400, 429]);
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error, 'rate_limited');
    assert.ok(Number(locked.headers.get('retry-after')) >= 1);
  });

  test('lockout leaves other emails alone', async () => {
    assert.equal((await signIn('other@example.test', PASSWORD)).status, 200);
  });

  test('lockout ends after its delay', async () => {
    const retryAfter = Number(
      (await signIn('victim@example.test', PASSWORD)).headers.get('retry-after'),
    );
    await new Promise((resolve) => setTimeout(resolve, (retryAfter + 0.5) * 1000));
    assert.equal((await signIn('victim@example.test', PASSWORD)).status, 200);
  });
});

describe('per-platform token lifetime', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('platform lifetime sets expires_in', async () => {
    const platform = await gp.board();
    await gp.running.context.accessPolicy.setLimits(
      platform.platform.id,
      { accessTokenTtl: 120, rateLimitPerMinute: null },
      OPERATOR,
    );
    const issued = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(platform.client_id, platform.client_secret),
      },
    );
    assert.equal(issued.body.expires_in, 120);
  });
});

describe('metrics and readiness', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(platform.client_id, platform.client_secret),
      },
    );
    await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic(platform.client_id, 'gp_test_cs_wrong'),
      },
    );
    await fetch(`${gp.staging}/demo/x`, { headers: gatewayHeaders(platform) });
  });
  after(() => gp.close());

  const metrics = async () => (await fetch(`${gp.admin}/metrics`)).text();

  test('metrics count issued tokens', async () => {
    assert.match(
      await metrics(),
      /gatepass_token_requests_total\{environment="staging",grant_type="client_credentials",outcome="issued"\} 1/,
    );
  });

  test('metrics count refused grants', async () => {
    assert.match(await metrics(), /grant_type="client_credentials",outcome="invalid_client"\} 1/);
  });

  test('metrics time gateway calls', async () => {
    assert.match(
      await metrics(),
      /gatepass_gateway_request_duration_seconds_count\{environment="staging",module="demo",status_class="2xx"\} 1/,
    );
  });

  test('metrics hold no secret', async () => {
    const text = await metrics();
    assert.ok(!text.includes(platform.client_secret));
    assert.ok(!text.includes(platform.client_id));
  });

  test('readiness reports the database', async () => {
    const response = await fetch(`${gp.admin}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ready', database: 'ok' });
  });
});

describe('sign-in load', () => {
  /** More sign-ins at once than the password hasher runs (2) and queues (64) together. */
  const SIGN_INS = 120;
  const CLIENT_CALLS = 20;
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({
      settings: {
        // Concurrent sign-ins of one user count as failures until checked; keep them unlocked.
        'rateLimits.signInFailuresBeforeLockout': 1_000_000,
        'rateLimits.tokenPerAddressPerMinute': 10_000,
        'rateLimits.tokenPerClientPerMinute': 10_000,
      },
    });
    platform = await gp.board('Busy Platform');
    await gp.addUser(platform.platform.id, 'busy@platform.test', PASSWORD);
  });
  after(() => gp.close());

  test('client_credentials served during sign-in flood', async () => {
    const finished: string[] = [];
    const signIns = Array.from({ length: SIGN_INS }, async () => {
      const reply = await postForm(`${gp.staging}/v1/auth/token`, {
        grant_type: 'user_credentials',
        email: 'busy@platform.test',
        password: PASSWORD,
      });
      finished.push('sign-in');
      return reply;
    });
    const clientCalls = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < CLIENT_CALLS; i++) {
        const reply = await postForm(
          `${gp.staging}/v1/auth/token`,
          { grant_type: 'client_credentials' },
          { authorization: basic(platform.client_id, platform.client_secret) },
        );
        statuses.push(reply.status);
      }
      finished.push('client calls');
      return statuses;
    })();

    const [statuses, signInReplies] = await Promise.all([clientCalls, Promise.all(signIns)]);
    assert.deepEqual(statuses, new Array(CLIENT_CALLS).fill(200));
    const counts = new Map<number, number>();
    for (const reply of signInReplies)
      counts.set(reply.status, (counts.get(reply.status) ?? 0) + 1);
    // The hasher was saturated: some sign-ins were turned away at once with 503.
    assert.ok((counts.get(503) ?? 0) > 0, `statuses: ${JSON.stringify([...counts])}`);
    assert.ok((counts.get(200) ?? 0) > 0, `statuses: ${JSON.stringify([...counts])}`);
    const busy = signInReplies.find((reply) => reply.status === 503);
    assert.equal(busy?.body.error, 'temporarily_unavailable');
    // The twenty client calls, one after another, finished while queued sign-ins still waited.
    assert.ok(
      finished.indexOf('client calls') < finished.length - 1,
      `order: ${finished.join(', ')}`,
    );
  });

  test('abandoned sign-ins are skipped', async () => {
    // More sign-ins than the hasher runs and queues, from clients that go away 100 ms later.
    const clients = Array.from({ length: 100 }, () => new AbortController());
    const sent = clients.map((client) =>
      fetch(`${gp.staging}/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'user_credentials',
          email: 'busy@platform.test',
          password: PASSWORD,
        }).toString(),
        signal: client.signal,
      }).catch(() => undefined),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of clients) client.abort();
    await Promise.all(sent);

    // A sign-in sent now waits behind whatever is still queued; it succeeds either way.
    let reply = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'busy@platform.test',
      password: PASSWORD,
    });
    while (reply.status === 503) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await postForm(`${gp.staging}/v1/auth/token`, {
        grant_type: 'user_credentials',
        email: 'busy@platform.test',
        password: PASSWORD,
      });
    }
    assert.equal(reply.status, 200);
    const metrics = await (await fetch(`${gp.admin}/metrics`)).text();
    const abandoned = Number(/^gatepass_password_checks_abandoned (\d+)/m.exec(metrics)?.[1]);
    assert.ok(abandoned > 0, `gatepass_password_checks_abandoned is ${abandoned}`);
  });
});
