import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { saveConfiguredModules } from '../src/services/modules.js';
import {
  gatewayHeaders,
  OPERATOR,
  startTestGatepass,
  type TestGatepass,
} from './helpers/gatepass.js';

/** A tiny upstream that answers with the path it received. */
function startUpstream(): Promise<Server> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ path: request.url }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('module administration', () => {
  let gp: TestGatepass;
  let upstream: Server;
  let upstreamUrl: string;
  let key: string;

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gp.admin}/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    upstream = await startUpstream();
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gp = await startTestGatepass();
    key = (await gp.running.context.operators.createKey('alice', OPERATOR)).key;
  });
  after(async () => {
    await gp.close();
    upstream.close();
  });

  test('created module is served at once', async () => {
    const created = await admin('POST', '/modules', {
      id: 'payouts',
      name: 'Payouts',
      prefix: '/payouts',
      staging_upstream: `${upstreamUrl}/s`,
      production_upstream: `${upstreamUrl}/p`,
    });
    assert.equal(created.status, 201);
    const platform = await gp.board('Payer', ['payouts']);
    const call = await fetch(`${gp.staging}/payouts/transfer`, {
      headers: gatewayHeaders(platform, 'payouts'),
    });
    assert.equal(call.status, 200);
    assert.deepEqual(await call.json(), { path: '/s/transfer' });
  });

  test('changed prefix moves the routes', async () => {
    const changed = await admin('PUT', '/modules/payouts', { prefix: '/pay' });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.prefix, '/pay');
    const platform = await gp.board('Mover', ['payouts']);
    const moved = await fetch(`${gp.staging}/pay/x`, {
      headers: gatewayHeaders(platform, 'payouts'),
    });
    assert.equal(moved.status, 200);
    const old = await fetch(`${gp.staging}/payouts/x`, {
      headers: gatewayHeaders(platform, 'payouts'),
    });
    assert.equal(old.status, 404);
  });

  test('retired module is no longer served', async () => {
    const platform = await gp.board('Leaver', ['payouts']);
    const retired = await admin('POST', '/modules/payouts/retire');
    assert.equal(retired.status, 200);
    const call = await fetch(`${gp.staging}/pay/x`, {
      headers: gatewayHeaders(platform, 'payouts'),
    });
    assert.equal(call.status, 404);
    const body = (await call.json()) as Record<string, unknown>;
    assert.equal(body.code, 'not_found');
  });

  test('retired module cannot be boarded', async () => {
    await assert.rejects(gp.board('Late', ['payouts']), /Unknown module "payouts"/);
  });

  test('configured module cannot be changed', async () => {
    const changed = await admin('PUT', '/modules/demo', { name: 'Other' });
    assert.equal(changed.status, 409);
    assert.match(String(changed.body.message), /declared in configuration/);
  });

  test('reserved prefix is rejected', async () => {
    const created = await admin('POST', '/modules', {
      id: 'sneaky',
      name: 'Sneaky',
      prefix: '/v1/auth',
      staging_upstream: upstreamUrl,
      production_upstream: upstreamUrl,
    });
    assert.equal(created.status, 400);
    assert.equal(created.body.code, 'invalid_request');
  });

  test('taken prefix is a conflict', async () => {
    const created = await admin('POST', '/modules', {
      id: 'copy',
      name: 'Copy',
      prefix: '/demo',
      staging_upstream: upstreamUrl,
      production_upstream: upstreamUrl,
    });
    assert.equal(created.status, 409);
  });

  test('module change is audited', async () => {
    await gp.running.context.requestLog.flush();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const actions = (await gp.running.context.auditLog.list({ limit: 200 })).map(
      (row) => row.action,
    );
    assert.ok(actions.includes('module.created'));
    assert.ok(actions.includes('module.updated'));
    assert.ok(actions.includes('module.retired'));
  });
});

describe('configured modules at start', () => {
  let gp: TestGatepass;
  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('concurrent saves of one module succeed', async () => {
    // Nodes starting together save the same configured module at once; none may fail.
    for (let round = 0; round < 10; round++) {
      const module = {
        id: `concurrent-${round}`,
        name: `Concurrent ${round}`,
        prefix: `/concurrent-${round}`,
        upstreams: { staging: 'builtin:demo', production: 'builtin:demo' },
        requiresProviderSecret: false,
        timeoutMs: 30_000,
      };
      const saves = Array.from({ length: 6 }, () =>
        saveConfiguredModules(gp.running.context.store, [module], Date.now()),
      );
      const outcomes = await Promise.allSettled(saves);
      const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
      assert.deepEqual(failures, [], `round ${round}`);
    }
    const saved = await gp.running.context.store.modules.listAll();
    assert.equal(saved.filter((m) => m.id.startsWith('concurrent-')).length, 10);
  });
});
