/**
 * Production credentials of a go-live approved in the dashboard: sealed for the platform's
 * owners, shown to no operator, revealed once by an owner, audited with that owner, and expired
 * unrevealed after a while. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import { auditEvent, DashboardClient, type PageResponse } from './helpers/dashboard.js';
import { dumpDatabase, readDatabase } from './helpers/database.js';
import {
  basic,
  gatewayHeaders,
  OPERATOR,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';
import { findSecrets } from './helpers/secret-scan.js';

const PASSWORD = 'correct horse battery staple';
const LIVE_SECRET = /gp_live_(?:cs|ms|ps)_[0-9A-Za-z]+/g;
const LIVE_CLIENT_ID = /gpc_live_[0-9A-Za-z]+/;

let gp: TestGatepass;
let acme: BoardingResult;
let other: BoardingResult;

async function signedIn(email: string, kind: 'user' | 'operator' = 'user') {
  const client = new DashboardClient(gp.admin);
  const response = await client.signIn(email, PASSWORD, kind);
  assert.equal(response.status, 303, `sign-in of ${email}`);
  await client.get(kind === 'user' ? '/dashboard/platform' : '/dashboard/operator');
  return client;
}

/** Make a staging call for every module and check every item, so one approval takes it live. */
async function readyForGoLive(board: BoardingResult): Promise<void> {
  const context = gp.running.context;
  const call = await fetch(`${gp.staging}/demo/ok`, { headers: gatewayHeaders(board) });
  assert.equal(call.status, 200);
  await call.text();
  await context.requestLog.flush();
  for (const item of ['agreement-signed', 'compliance-verified', 'production-addresses']) {
    await context.goLive.check(board.platform.id, item, 'checked', OPERATOR);
  }
}

/** Approve go-live in the dashboard as the test operator, and return the response page. */
async function approveInDashboard(board: BoardingResult): Promise<PageResponse> {
  const operator = await signedIn('ops@provider.test', 'operator');
  const path = `/dashboard/operator/platforms/${board.platform.id}`;
  await operator.get(path);
  return operator.post(`${path}/approve`);
}

async function sealedRows(platformId: string) {
  const rows = (await dumpDatabase(gp.dataDir)).credential_reveals as Array<
    Record<string, unknown>
  >;
  return rows.filter((row) => row.platform_id === platformId);
}

async function liveClientId(platformId: string): Promise<string> {
  const client = await gp.running.context.store.platforms.findClientFor(platformId, 'production');
  assert.ok(client, 'the platform has a production client');
  return client.client_id;
}

before(async () => {
  gp = await startTestGatepass();
  acme = await gp.board('Acme Retail');
  other = await gp.board('Other Retail');
  await gp.addUser(acme.platform.id, 'owner@acme.test', PASSWORD, 'owner');
  await gp.addUser(acme.platform.id, 'dev@acme.test', PASSWORD, 'developer');
  await gp.addUser(acme.platform.id, 'viewer@acme.test', PASSWORD, 'viewer');
  await gp.addUser(other.platform.id, 'owner@other.test', PASSWORD, 'owner');
  await gp.running.context.operatorAccounts.add(
    { email: 'ops@provider.test', password: PASSWORD },
    OPERATOR,
  );
  await readyForGoLive(acme);
});
after(() => gp.close());

describe('credentials sealed for the owner', () => {
  /** Everything stored while the sealed row existed, to search for the secrets once known. */
  let storedBeforeReveal: Buffer;
  let sealedBlob = '';
  let clientId = '';
  let revealed: Record<string, string> = {};

  test('operator approval shows no secret', async () => {
    const approved = await approveInDashboard(acme);
    assert.equal(approved.status, 201);
    assert.deepEqual(approved.text.match(LIVE_SECRET) ?? [], [], 'no production secret');
    assert.match(approved.text, /Production credentials issued/);
    assert.match(approved.text, /reveal them once in their dashboard/);
    clientId = await liveClientId(acme.platform.id);
    assert.equal(LIVE_CLIENT_ID.exec(approved.text)?.[0], clientId, 'the client id is shown');

    const rows = await sealedRows(acme.platform.id);
    assert.equal(rows.length, 1, 'one sealed row');
    assert.equal(rows[0]?.environment, 'production');
    const createdAt = Number(rows[0]?.created_at);
    assert.equal(
      Number(rows[0]?.expires_at) - createdAt,
      7 * 24 * 3600 * 1000,
      'expires in 7 days',
    );
    sealedBlob = String(rows[0]?.sealed);
    storedBeforeReveal = await readDatabase(gp.dataDir);

    const sealed = await auditEvent(
      gp,
      (row) => row.action === 'credential.sealed' && row.platform_id === acme.platform.id,
    );
    assert.equal(sealed?.actor_kind, 'operator');
  });

  test('developer and viewer cannot reveal', async () => {
    for (const email of ['dev@acme.test', 'viewer@acme.test']) {
      const user = await signedIn(email);
      const overview = await user.get('/dashboard/platform');
      assert.match(overview.text, /Production credentials are ready/, `${email} sees the notice`);
      assert.ok(!overview.text.includes('Reveal production credentials'), `${email}: no button`);
      await user.get(`/dashboard/platform/clients/${clientId}`);
      const refused = await user.post(`/dashboard/platform/clients/${clientId}/reveal`);
      assert.equal(refused.status, 403, email);
      assert.deepEqual(refused.text.match(LIVE_SECRET) ?? [], [], `${email} sees no secret`);
    }
    assert.equal((await sealedRows(acme.platform.id)).length, 1, 'the row is untouched');
  });

  test('other platform owner gets 404', async () => {
    const stranger = await signedIn('owner@other.test');
    const before = await sealedRows(acme.platform.id);
    const response = await stranger.post(`/dashboard/platform/clients/${clientId}/reveal`);
    assert.equal(response.status, 404);
    assert.deepEqual(response.text.match(LIVE_SECRET) ?? [], []);
    assert.deepEqual(await sealedRows(acme.platform.id), before, 'the row is untouched');
  });

  test('owner reveals working credentials', async () => {
    const owner = await signedIn('owner@acme.test');
    const overview = await owner.get('/dashboard/platform');
    assert.match(overview.text, /Production credentials are ready/);
    assert.match(overview.text, /Reveal production credentials/);
    const page = await owner.post(`/dashboard/platform/clients/${clientId}/reveal`);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.headers.get('cache-control'), 'no-store');

    const clientSecret = /gp_live_cs_[0-9A-Za-z]+/.exec(page.text)?.[0] ?? '';
    const moduleSecret = /gp_live_ms_[0-9A-Za-z]+/.exec(page.text)?.[0] ?? '';
    const providerSecret = /gp_live_ps_[0-9A-Za-z]+/.exec(page.text)?.[0] ?? '';
    assert.ok(clientSecret, 'the client secret is shown');
    assert.ok(moduleSecret, 'the demo module secret is shown');
    assert.ok(providerSecret, 'the demo provider secret is shown');
    assert.ok(page.text.includes(clientId), 'the client id is shown');
    revealed = { clientSecret, moduleSecret, providerSecret };
    assert.equal((await sealedRows(acme.platform.id)).length, 0, 'the row is deleted');

    const token = await postForm(
      `${gp.production}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, clientSecret) },
    );
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const call = await fetch(`${gp.production}/demo/hello`, {
      headers: {
        authorization: `Bearer ${String(token.body.access_token)}`,
        'x-module-secret': moduleSecret,
        'x-provider-secret': providerSecret,
      },
    });
    const echoed = (await call.json()) as { environment?: string };
    assert.equal(call.status, 200, JSON.stringify(echoed));
    assert.equal(echoed.environment, 'production');
  });

  test('second reveal shows nothing', async () => {
    const owner = await signedIn('owner@acme.test');
    const overview = await owner.get('/dashboard/platform');
    assert.ok(!overview.text.includes('Production credentials are ready'), 'no notice');
    await owner.get(`/dashboard/platform/clients/${clientId}`);
    const again = await owner.post(`/dashboard/platform/clients/${clientId}/reveal`);
    assert.equal(again.status, 409);
    assert.match(again.text, /shown once/);
    assert.deepEqual(again.text.match(LIVE_SECRET) ?? [], [], 'no secret');
  });

  test('no secret stored in clear', async () => {
    assert.ok(sealedBlob.length > 0);
    assert.deepEqual(findSecrets(sealedBlob, revealed), [], 'the sealed blob');
    assert.deepEqual(findSecrets(storedBeforeReveal, revealed), [], 'the database with the row');
    assert.deepEqual(findSecrets(await readDatabase(gp.dataDir), revealed), [], 'the database');
    assert.deepEqual(findSecrets(gp.logs.join('\n'), revealed), [], 'the log');
  });

  test('reveal is audited with the owner', async () => {
    const event = await auditEvent(
      gp,
      (row) => row.action === 'credential.revealed' && row.platform_id === acme.platform.id,
    );
    assert.ok(event, 'a credential.revealed row');
    assert.equal(event.actor_kind, 'user');
    assert.equal(event.actor_id, 'owner@acme.test');
    assert.equal(event.environment, 'production');
    assert.deepEqual(findSecrets(JSON.stringify(event), revealed), [], 'no secret in the row');
    const reveals = (await gp.running.context.auditLog.list({ limit: 1000 })).filter(
      (row) => row.action === 'credential.revealed' && row.platform_id === acme.platform.id,
    );
    assert.equal(reveals.length, 1, 'one reveal');
  });
});

describe('reveal edge cases', () => {
  test('concurrent reveals show it once', async () => {
    const board = await gp.board('Twin Owners');
    await gp.addUser(board.platform.id, 'first@twin.test', PASSWORD, 'owner');
    await gp.addUser(board.platform.id, 'second@twin.test', PASSWORD, 'owner');
    await readyForGoLive(board);
    assert.equal((await approveInDashboard(board)).status, 201);
    const clientId = await liveClientId(board.platform.id);
    const first = await signedIn('first@twin.test');
    const second = await signedIn('second@twin.test');
    const path = `/dashboard/platform/clients/${clientId}/reveal`;
    const responses = await Promise.all([first.post(path), second.post(path)]);
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 409]);
    const shown = responses.flatMap((response) => response.text.match(/gp_live_cs_\w+/g) ?? []);
    assert.equal(shown.length, 1, 'the client secret is shown once');
    assert.equal((await sealedRows(board.platform.id)).length, 0, 'the row is deleted');
  });

  test('expired reveal says to rotate', async () => {
    const board = await gp.board('Late Owner');
    await gp.addUser(board.platform.id, 'owner@late.test', PASSWORD, 'owner');
    await readyForGoLive(board);
    assert.equal((await approveInDashboard(board)).status, 201);
    const clientId = await liveClientId(board.platform.id);
    const owner = await signedIn('owner@late.test');
    assert.match((await owner.get('/dashboard/platform')).text, /Reveal production credentials/);
    await gp.running.context.store.db
      .updateTable('credential_reveals')
      .set({ expires_at: Date.now() - 1000 })
      .where('platform_id', '=', board.platform.id)
      .execute();

    const response = await owner.post(`/dashboard/platform/clients/${clientId}/reveal`);
    assert.equal(response.status, 409);
    assert.match(response.text, /expired unrevealed/);
    assert.match(response.text, /Rotate the production client secret/);
    assert.deepEqual(response.text.match(LIVE_SECRET) ?? [], [], 'no secret');
    assert.equal((await sealedRows(board.platform.id)).length, 0, 'the row is deleted');
  });

  test('expired row is purged on read', async () => {
    const board = await gp.board('Absent Owner');
    await gp.addUser(board.platform.id, 'owner@absent.test', PASSWORD, 'owner');
    await readyForGoLive(board);
    assert.equal((await approveInDashboard(board)).status, 201);
    const owner = await signedIn('owner@absent.test');
    await gp.running.context.store.db
      .updateTable('credential_reveals')
      .set({ expires_at: Date.now() - 1000 })
      .where('platform_id', '=', board.platform.id)
      .execute();

    const overview = await owner.get('/dashboard/platform');
    assert.ok(!overview.text.includes('Reveal production credentials'), 'no reveal button');
    assert.match(overview.text, /expired unrevealed/);
    assert.match(overview.text, /production client secret/);
    assert.equal((await sealedRows(board.platform.id)).length, 0, 'the row is deleted');
  });

  test('later rotation discards sealed credentials', async () => {
    const board = await gp.board('Rotated Retail');
    await gp.addUser(board.platform.id, 'owner@rotated.test', PASSWORD, 'owner');
    await readyForGoLive(board);
    assert.equal((await approveInDashboard(board)).status, 201);
    assert.equal((await sealedRows(board.platform.id)).length, 1, 'sealed at approval');
    await gp.running.context.credentials.rotate(
      {
        platformId: board.platform.id,
        environment: 'production',
        kind: 'module',
        moduleId: 'demo',
        overlapSeconds: 0,
      },
      OPERATOR,
    );
    assert.equal((await sealedRows(board.platform.id)).length, 0, 'the stale copy is gone');
    const owner = await signedIn('owner@rotated.test');
    const overview = await owner.get('/dashboard/platform');
    assert.ok(!overview.text.includes('Reveal production credentials'), 'no reveal button');
    assert.deepEqual(overview.text.match(LIVE_SECRET) ?? [], [], 'no secret');
  });

  test('sweep deletes rows nobody reads', async () => {
    const board = await gp.board('Forgotten Retail');
    await gp.addUser(board.platform.id, 'owner@forgotten.test', PASSWORD, 'owner');
    await readyForGoLive(board);
    assert.equal((await approveInDashboard(board)).status, 201);
    await gp.running.context.store.db
      .updateTable('credential_reveals')
      .set({ expires_at: Date.now() - 1000 })
      .where('platform_id', '=', board.platform.id)
      .execute();
    // A second service on the same store sweeps once at start; stop waits for that sweep.
    const { CredentialRevealService } = await import('../src/services/credential-reveals.js');
    const sweeper = new CredentialRevealService(
      gp.running.context.store,
      Buffer.alloc(32),
      gp.running.context.events,
    );
    sweeper.startSweeping(gp.running.context.log);
    await sweeper.stop();
    assert.equal((await sealedRows(board.platform.id)).length, 0, 'the expired row is deleted');
  });

  test('admin API approval seals nothing', async () => {
    const board = await gp.board('Scripted Retail');
    await readyForGoLive(board);
    const result = await gp.running.context.goLive.approve(board.platform.id, OPERATOR);
    assert.equal(result.status, 'live');
    assert.match(result.status === 'live' ? result.production.client_secret : '', /^gp_live_cs_/);
    assert.equal((await sealedRows(board.platform.id)).length, 0, 'no sealed row');
  });

  test('operator is warned without owners', async () => {
    const board = await gp.board('Ownerless Retail');
    await readyForGoLive(board);
    const approved = await approveInDashboard(board);
    assert.equal(approved.status, 201);
    assert.match(approved.text, /no active owner yet/);
    assert.deepEqual(approved.text.match(LIVE_SECRET) ?? [], [], 'no secret');
  });
});

describe('reveal attacks', () => {
  /** Board a platform with one owner and approve its go-live in the dashboard. */
  async function sealedPlatform(name: string, owner: string) {
    const board = await gp.board(name);
    const user = await gp.addUser(board.platform.id, owner, PASSWORD, 'owner');
    await readyForGoLive(board);
    assert.equal((await approveInDashboard(board)).status, 201);
    return { board, userId: user.id, clientId: await liveClientId(board.platform.id) };
  }

  test('tampered blob is rejected cleanly', async () => {
    const { board, clientId } = await sealedPlatform('Tampered Retail', 'owner@tampered.test');
    const [row] = await sealedRows(board.platform.id);
    const bytes = Buffer.from(String(row?.sealed), 'base64url');
    bytes[20] = (bytes[20] ?? 0) ^ 1;
    await gp.running.context.store.db
      .updateTable('credential_reveals')
      .set({ sealed: bytes.toString('base64url') })
      .where('platform_id', '=', board.platform.id)
      .execute();
    const owner = await signedIn('owner@tampered.test');
    await owner.get(`/dashboard/platform/clients/${clientId}`);
    const response = await owner.post(`/dashboard/platform/clients/${clientId}/reveal`);
    assert.equal(response.status, 409);
    assert.match(response.text, /cannot be opened/);
    assert.deepEqual(response.text.match(LIVE_SECRET) ?? [], [], 'no secret');
    assert.equal((await sealedRows(board.platform.id)).length, 1, 'the row is kept');
  });

  test('short blob is rejected cleanly', async () => {
    const { board, clientId } = await sealedPlatform('Short Retail', 'owner@short.test');
    await gp.running.context.store.db
      .updateTable('credential_reveals')
      .set({ sealed: Buffer.alloc(20).toString('base64url') })
      .where('platform_id', '=', board.platform.id)
      .execute();
    const owner = await signedIn('owner@short.test');
    await owner.get(`/dashboard/platform/clients/${clientId}`);
    const response = await owner.post(`/dashboard/platform/clients/${clientId}/reveal`);
    assert.equal(response.status, 409);
    assert.match(response.text, /cannot be opened/);
  });

  test('sealed row moved to another platform', async () => {
    const source = await sealedPlatform('Source Retail', 'owner@source.test');
    const target = await sealedPlatform('Target Retail', 'owner@target.test');
    const [row] = await sealedRows(source.board.platform.id);
    await gp.running.context.store.db
      .updateTable('credential_reveals')
      .set({ sealed: String(row?.sealed) })
      .where('platform_id', '=', target.board.platform.id)
      .execute();
    const owner = await signedIn('owner@target.test');
    await owner.get(`/dashboard/platform/clients/${target.clientId}`);
    const response = await owner.post(`/dashboard/platform/clients/${target.clientId}/reveal`);
    assert.equal(response.status, 409);
    assert.deepEqual(response.text.match(LIVE_SECRET) ?? [], [], 'no secret');
    const sourceOwner = await signedIn('owner@source.test');
    await sourceOwner.get(`/dashboard/platform/clients/${source.clientId}`);
    const page = await sourceOwner.post(`/dashboard/platform/clients/${source.clientId}/reveal`);
    assert.equal(page.status, 200, 'the source row still opens on its own platform');
  });

  test('staging client id reveals nothing', async () => {
    const { board } = await sealedPlatform('Staging Retail', 'owner@staging.test');
    const staging = await gp.running.context.store.platforms.findClientFor(
      board.platform.id,
      'staging',
    );
    const owner = await signedIn('owner@staging.test');
    await owner.get(`/dashboard/platform/clients/${staging?.client_id}`);
    const response = await owner.post(`/dashboard/platform/clients/${staging?.client_id}/reveal`);
    assert.equal(response.status, 409);
    assert.deepEqual(response.text.match(LIVE_SECRET) ?? [], [], 'no secret');
    assert.equal((await sealedRows(board.platform.id)).length, 1, 'the row is untouched');
  });

  test('operator session and stale sessions', async () => {
    const { board, userId, clientId } = await sealedPlatform('Stale Retail', 'owner@stale.test');
    const path = `/dashboard/platform/clients/${clientId}/reveal`;
    const operator = await signedIn('ops@provider.test', 'operator');
    assert.equal((await operator.post(path)).status, 404, 'operator session');

    const owner = await signedIn('owner@stale.test');
    await owner.get(`/dashboard/platform/clients/${clientId}`);
    await gp.running.context.platforms.suspend(board.platform.id, OPERATOR);
    const suspended = await owner.post(path);
    assert.notEqual(suspended.status, 200, 'suspended platform');
    assert.deepEqual(suspended.text.match(LIVE_SECRET) ?? [], [], 'no secret when suspended');
    await gp.running.context.platforms.resume(board.platform.id, OPERATOR);

    const again = await signedIn('owner@stale.test');
    await again.get(`/dashboard/platform/clients/${clientId}`);
    await gp.running.context.users.disable(userId, OPERATOR);
    const disabled = await again.post(path);
    assert.notEqual(disabled.status, 200, 'disabled owner');
    assert.deepEqual(disabled.text.match(LIVE_SECRET) ?? [], [], 'no secret when disabled');
    assert.equal((await sealedRows(board.platform.id)).length, 1, 'the row is untouched');
  });

  test('suspension after session check', async () => {
    const { board, userId, clientId } = await sealedPlatform('Late Check', 'owner@check.test');
    const context = gp.running.context;
    // The viewer and actor of a request whose session check passed before the change committed.
    const viewer = {
      userId,
      email: 'owner@check.test',
      platformId: board.platform.id,
      role: 'owner' as const,
    };
    const actor = { kind: 'user' as const, id: 'owner@check.test', address: '127.0.0.1' };

    await context.platforms.suspend(board.platform.id, OPERATOR);
    await assert.rejects(context.dashboard.revealCredentials(viewer, clientId, actor), {
      code: 'platform_suspended',
    });
    assert.equal((await sealedRows(board.platform.id)).length, 1, 'kept while suspended');
    await context.platforms.resume(board.platform.id, OPERATOR);

    await context.users.disable(userId, OPERATOR);
    await assert.rejects(context.dashboard.revealCredentials(viewer, clientId, actor), {
      code: 'forbidden',
    });
    assert.equal((await sealedRows(board.platform.id)).length, 1, 'kept for another owner');
  });

  test('form token and CSRF replay', async () => {
    const { clientId } = await sealedPlatform('Replay Retail', 'owner@replay.test');
    const path = `/dashboard/platform/clients/${clientId}/reveal`;
    const owner = await signedIn('owner@replay.test');
    await owner.get(`/dashboard/platform/clients/${clientId}`);
    const spent = owner.once;
    const noCsrf = await owner.post(path, { _once: spent }, { csrf: null });
    assert.equal(noCsrf.status, 403, 'missing CSRF token');
    const first = await owner.post(path, { _once: spent });
    assert.equal(first.status, 200);
    const replay = await owner.post(path, { _once: spent });
    assert.equal(replay.status, 409, 'replayed form token');
    assert.deepEqual(replay.text.match(LIVE_SECRET) ?? [], [], 'no secret on replay');
  });

  test('five concurrent reveals show it once', async () => {
    const { board, clientId } = await sealedPlatform('Crowd Retail', 'owner0@crowd.test');
    const owners = [await signedIn('owner0@crowd.test')];
    for (let i = 1; i < 5; i++) {
      await gp.addUser(board.platform.id, `owner${i}@crowd.test`, PASSWORD, 'owner');
      owners.push(await signedIn(`owner${i}@crowd.test`));
    }
    const path = `/dashboard/platform/clients/${clientId}/reveal`;
    const responses = await Promise.all(owners.map((owner) => owner.post(path)));
    const statuses = responses.map((response) => response.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409, 409]);
    const shown = responses.flatMap((response) => response.text.match(/gp_live_cs_\w+/g) ?? []);
    assert.equal(shown.length, 1, 'the client secret is shown once');
    const reveals = (await gp.running.context.auditLog.list({ limit: 1000 })).filter(
      (row) => row.action === 'credential.revealed' && row.platform_id === board.platform.id,
    );
    assert.ok(reveals.length <= 1, 'at most one audit row');
  });

  test('reveal racing rotation', async () => {
    for (let round = 0; round < 4; round++) {
      const owner = `owner@race${round}.test`;
      const { board, clientId } = await sealedPlatform(`Race Retail ${round}`, owner);
      const user = await signedIn(owner);
      const rotation = gp.running.context.credentials.rotate(
        {
          platformId: board.platform.id,
          environment: 'production',
          kind: 'module',
          moduleId: 'demo',
          overlapSeconds: 0,
        },
        OPERATOR,
      );
      const [response] = await Promise.all([
        user.post(`/dashboard/platform/clients/${clientId}/reveal`),
        rotation,
      ]);
      assert.ok([200, 409].includes(response.status), `round ${round}: ${response.status}`);
      assert.equal((await sealedRows(board.platform.id)).length, 0, 'the row is gone');
    }
  });

  test('server log contains no live secret', () => {
    assert.deepEqual(gp.logs.join('\n').match(LIVE_SECRET) ?? [], []);
  });
});
