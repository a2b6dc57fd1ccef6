import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { BoardingResult } from '../src/services/platforms.js';
import { basic, postForm, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';
import { b64, postJson, postRaw, TWO_MODULES } from './helpers/token-api.js';

describe('token API client_credentials', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let twoModules: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({ settings: TWO_MODULES });
    platform = await gp.board();
    twoModules = await gp.board('Two Modules Ltd', ['demo', 'payouts']);
  });
  after(() => gp.close());

  test('body credentials issue a token', async () => {
    const response = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });
    assert.equal(response.status, 200);
    assert.equal(typeof response.body.access_token, 'string');
    assert.equal(response.body.token_type, 'Bearer');
    assert.equal(response.body.expires_in, 900);
    assert.equal(response.body.scope, 'demo');
    assert.match(String(response.body.refresh_token), /^gp_test_rt_/);
    assert.equal(response.body.refresh_expires_in, 30 * 24 * 3600);
  });

  test('Basic credentials issue a token', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(response.status, 200);
    assert.equal(response.body.token_type, 'Bearer');
    assert.equal(response.body.expires_in, 900);
  });

  test('JSON body issues a token', async () => {
    const response = await postJson(`${gp.staging}/v1/auth/token`, {
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.token_type, 'Bearer');
    assert.equal(response.body.expires_in, 900);
  });

  test('Basic secret without form-encoding works', async () => {
    // Secrets use only [A-Za-z0-9_], which form-encoding leaves unchanged.
    assert.match(platform.client_secret, /^[A-Za-z0-9_]+$/);
    const raw = `Basic ${b64(`${platform.client_id}:${platform.client_secret}`)}`;
    const response = await postRaw(`${gp.staging}/v1/auth/token`, 'grant_type=client_credentials', {
      authorization: raw,
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.token_type, 'Bearer');
  });

  test('success sets no-store headers', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('pragma'), 'no-cache');
    assert.equal(response.headers.get('etag'), null);
    assert.equal(response.headers.get('last-modified'), null);
  });

  test('JWT verifies against the JWKS', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(response.status, 200);

    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(String(response.body.access_token), jwks, {
      issuer: gp.staging,
      audience: gp.staging,
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(typeof protectedHeader.kid, 'string');
    assert.notEqual(protectedHeader.kid, '');

    assert.equal(payload.iss, gp.staging);
    assert.equal(payload.sub, platform.platform.id);
    assert.equal(payload.aud, gp.staging);
    assert.equal(typeof payload.iat, 'number');
    assert.equal(payload.nbf, payload.iat);
    assert.equal(payload.exp, Number(payload.iat) + 900);
    assert.equal(typeof payload.jti, 'string');
    assert.notEqual(payload.jti, '');
    assert.equal(payload.env, 'staging');
    assert.equal(payload.client_id, platform.client_id);
    assert.equal(payload.platform, platform.platform.id);
    assert.equal(payload.scope, 'demo');
    assert.equal(payload.email, undefined);
  });

  test('JWKS publishes the signing kid', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    const { kid } = decodeProtectedHeader(String(response.body.access_token));
    const jwks = (await (await fetch(`${gp.staging}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string; d?: string }>;
    };
    assert.ok(jwks.keys.some((key) => key.kid === kid));
    assert.ok(jwks.keys.every((key) => key.d === undefined));
  });

  test('staging JWT fails production JWKS', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    const jwks = createRemoteJWKSet(new URL(`${gp.production}/.well-known/jwks.json`));
    await assert.rejects(jwtVerify(String(response.body.access_token), jwks));
  });

  test('jti differs between tokens', async () => {
    const headers = { authorization: basic(platform.client_id, platform.client_secret) };
    const url = `${gp.staging}/v1/auth/token`;
    const first = await postForm(url, { grant_type: 'client_credentials' }, headers);
    const second = await postForm(url, { grant_type: 'client_credentials' }, headers);
    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const firstToken = await jwtVerify(String(first.body.access_token), jwks);
    const secondToken = await jwtVerify(String(second.body.access_token), jwks);
    assert.notEqual(firstToken.payload.jti, secondToken.payload.jti);
  });

  test('scope narrows to one module', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials', scope: 'payouts' },
      { authorization: basic(twoModules.client_id, twoModules.client_secret) },
    );
    assert.equal(response.status, 200);
    assert.equal(response.body.scope, 'payouts');
    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(response.body.access_token), jwks);
    assert.equal(payload.scope, 'payouts');
  });

  test('absent scope covers every module', async () => {
    const response = await postForm(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(twoModules.client_id, twoModules.client_secret) },
    );
    assert.equal(response.status, 200);
    assert.equal(response.body.scope, 'demo payouts');
  });
});

describe('token API metadata', () => {
  let gp: TestGatepass;

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  test('metadata names the endpoints', async () => {
    const response = await fetch(`${gp.staging}/.well-known/oauth-authorization-server`);
    assert.equal(response.status, 200);
    const metadata = (await response.json()) as Record<string, unknown>;
    assert.equal(metadata.issuer, gp.staging);
    assert.equal(metadata.token_endpoint, `${gp.staging}/v1/auth/token`);
    assert.equal(metadata.jwks_uri, `${gp.staging}/.well-known/jwks.json`);
    assert.equal(metadata.revocation_endpoint, `${gp.staging}/v1/auth/revoke`);
    assert.equal(metadata.introspection_endpoint, `${gp.staging}/v1/auth/introspect`);
  });

  test('metadata lists every grant', async () => {
    const metadata = (await (
      await fetch(`${gp.staging}/.well-known/oauth-authorization-server`)
    ).json()) as {
      grant_types_supported: string[];
      token_endpoint_auth_methods_supported: string[];
    };
    for (const grant of ['client_credentials', 'refresh_token', 'user_credentials', 'password']) {
      assert.ok(metadata.grant_types_supported.includes(grant), grant);
    }
    assert.ok(metadata.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    assert.ok(metadata.token_endpoint_auth_methods_supported.includes('client_secret_post'));
  });

  test('metadata issuer is per listener', async () => {
    const metadata = (await (
      await fetch(`${gp.production}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    assert.equal(metadata.issuer, gp.production);
    assert.equal(metadata.token_endpoint, `${gp.production}/v1/auth/token`);
  });
});

describe('token API user grants', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let user: { id: string };
  const password = 'correct horse battery staple';

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    user = await gp.addUser(platform.platform.id, 'Owner@Example.test', password, 'owner');
  });
  after(() => gp.close());

  test('user_credentials issues a user token', async () => {
    const response = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'owner@example.test',
      password,
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.token_type, 'Bearer');
    assert.equal(response.body.expires_in, 900);
    assert.match(String(response.body.refresh_token), /^gp_test_rt_/);
    assert.equal(response.headers.get('cache-control'), 'no-store');

    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(response.body.access_token), jwks, {
      issuer: gp.staging,
      audience: gp.staging,
    });
    assert.equal(payload.sub, user.id);
    assert.equal(payload.email, 'owner@example.test');
    assert.equal(payload.role, 'owner');
    assert.equal(payload.platform, platform.platform.id);
    assert.equal(payload.client_id, platform.client_id);
    assert.equal(payload.scope, 'demo');
  });

  test('password grant issues a user token', async () => {
    const response = await postForm(`${gp.staging}/v1/auth/token`, {
      grant_type: 'password',
      username: 'owner@example.test',
      password,
    });
    assert.equal(response.status, 200);
    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(response.body.access_token), jwks);
    assert.equal(payload.sub, user.id);
    assert.equal(payload.email, 'owner@example.test');
    assert.equal(payload.role, 'owner');
  });

  test('email is trimmed and case-insensitive', async () => {
    for (const email of [' owner@EXAMPLE.test ', 'OWNER@example.TEST']) {
      const response = await postForm(`${gp.staging}/v1/auth/token`, {
        grant_type: 'user_credentials',
        email,
        password,
      });
      assert.equal(response.status, 200, `sign-in as ${JSON.stringify(email)}`);
      const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(String(response.body.access_token), jwks);
      assert.equal(payload.sub, user.id, `user of ${JSON.stringify(email)}`);
    }
  });

  test('user JSON body issues a token', async () => {
    const response = await postJson(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'owner@example.test',
      password,
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.token_type, 'Bearer');
  });
});
