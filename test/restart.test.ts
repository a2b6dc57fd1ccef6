/**
 * A restart on the same data folder keeps signing keys, platforms, secrets and refresh-token
 * state, and a start with another master key is rejected without touching the folder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BoardingResult } from '../src/services/platforms.js';
import { dumpDatabase } from './helpers/database.js';
import {
  basic,
  dropTestDatabase,
  gatewayHeaders,
  postForm,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

/** Read every row of every table in a fixed order, so two snapshots are equal only if nothing changed. */
async function snapshotDatabase(dataDir: string): Promise<Record<string, unknown[]>> {
  const dump = await dumpDatabase(dataDir);
  return Object.fromEntries(
    Object.entries(dump).map(([table, rows]) => [
      table,
      rows.map((row: unknown) => JSON.stringify(row)).sort(),
    ]),
  );
}

async function fetchKids(baseUrl: string): Promise<string[]> {
  const response = await fetch(`${baseUrl}/.well-known/jwks.json`);
  const body = (await response.json()) as { keys: Array<{ kid: string }> };
  return body.keys.map((key) => key.kid).sort();
}

describe('restart on the same data folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatepass-restart-'));
  // Access tokens carry the issuer URL, so it must stay the same across the restart. Fixed
  // public URLs keep it while the listeners take fresh ports, so that no keep-alive connection
  // to a stopped listener is reused. Nothing listens on these URLs.
  const settings = {
    'environments.staging.publicUrl': 'http://127.0.0.1:9/staging',
    'environments.production.publicUrl': 'http://127.0.0.1:9/production',
  };
  let gp: TestGatepass | undefined;
  let platform: BoardingResult;
  let accessToken = '';
  let firstRefreshToken = '';
  let secondRefreshToken = '';
  let kidsBefore: string[] = [];

  before(async () => {
    gp = await startTestGatepass({ dataDir, settings });
    platform = await gp.board();

    const issued = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    accessToken = String(issued.body.access_token);
    firstRefreshToken = String(issued.body.refresh_token);

    const refreshed = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'refresh_token',
      refresh_token: firstRefreshToken,
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    secondRefreshToken = String(refreshed.body.refresh_token);

    kidsBefore = await fetchKids(gp.staging);
    await gp.stop();
    gp = await startTestGatepass({ dataDir, settings });
  });

  after(async () => {
    await gp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await dropTestDatabase(dataDir);
  });

  test('JWKS keeps the same kid', async () => {
    assert.ok(kidsBefore.length > 0);
    assert.deepEqual(await fetchKids(gp?.staging ?? ''), kidsBefore);
  });

  test('old access token still works', async () => {
    const response = await fetch(`${gp?.staging}/demo/anything`, {
      headers: {
        authorization: `Bearer ${accessToken}`,
        'x-module-secret': platform.modules.demo?.module_secret ?? '',
        'x-provider-secret': platform.modules.demo?.provider_secret ?? '',
      },
    });

    assert.equal(response.status, 200, await response.text());
  });

  test('client secrets still work', async () => {
    const response = await fetch(`${gp?.staging}/demo/anything`, {
      headers: gatewayHeaders(platform),
    });

    assert.equal(response.status, 200, await response.text());
  });

  test('platform is still boarded', async () => {
    const details = await gp?.running.context.platforms.show(platform.platform.id);

    assert.equal(details?.platform.name, 'Acme Retail');
    assert.equal(details?.platform.status, 'staging');
  });

  test('refresh tokens keep their state', async () => {
    // RT2 first: replaying RT1 revokes its whole chain, RT2 included.
    const second = await postForm(`${gp?.staging}/v1/auth/token`, {
      grant_type: 'refresh_token',
      refresh_token: secondRefreshToken,
    });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(typeof second.body.refresh_token, 'string');

    const first = await postForm(`${gp?.staging}/v1/auth/token`, {
      grant_type: 'refresh_token',
      refresh_token: firstRefreshToken,
    });
    assert.equal(first.status, 400);
    assert.equal(first.body.error, 'invalid_grant');

    const third = await postForm(`${gp?.staging}/v1/auth/token`, {
      grant_type: 'refresh_token',
      refresh_token: String(second.body.refresh_token),
    });
    assert.equal(third.status, 400, 'replaying RT1 did not revoke the chain');
    assert.equal(third.body.error, 'invalid_grant');
  });

  describe('another master key', () => {
    let snapshotBefore: Record<string, unknown[]>;
    let keyFileBefore: string;
    let failure: unknown;

    before(async () => {
      await gp?.stop();
      gp = undefined;
      snapshotBefore = await snapshotDatabase(dataDir);
      keyFileBefore = readFileSync(join(dataDir, 'master.key'), 'utf8');
      try {
        gp = await startTestGatepass({
          dataDir,
          settings: { ...settings, masterKey: randomBytes(32).toString('base64') },
        });
      } catch (error) {
        failure = error;
      }
    });

    test('start fails naming master key', () => {
      assert.ok(failure instanceof Error, 'the start with another master key succeeded');
      assert.match(failure.message, /master key/i);
    });

    test('database is unchanged', async () => {
      assert.deepEqual(await snapshotDatabase(dataDir), snapshotBefore);
    });

    test('master.key file is unchanged', () => {
      assert.equal(readFileSync(join(dataDir, 'master.key'), 'utf8'), keyFileBefore);
    });

    test('right key starts again', async () => {
      await gp?.stop();
      gp = await startTestGatepass({ dataDir, settings });

      assert.deepEqual(await fetchKids(gp.staging), kidsBefore);
    });
  });
});
