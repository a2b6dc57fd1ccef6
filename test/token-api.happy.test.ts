import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { BoardingResult } from '../src/services/platforms.js';
import { basic, postForm, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';

describe('token API client_credentials', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('issues a JWT that verifies against the JWKS', async () => {
    const response = await postForm(`${gp.staging}/v1/auth/token`, { grant_type: 'client_credentials' }, {
      authorization: basic(platform.client_id, platform.client_secret),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.body.token_type, 'Bearer');
    assert.equal(response.body.expires_in, 900);
    assert.equal(response.body.scope, 'demo');

    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(String(response.body.access_token), jwks, {
      issuer: gp.staging,
      audience: gp.staging,
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.platform, platform.platform.id);
    assert.equal(payload.client_id, platform.client_id);
    assert.equal(payload.env, 'staging');
  });
});
