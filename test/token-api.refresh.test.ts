import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { REFRESH_RACE_WINDOW_MS } from '../src/domain/refresh-chain.js';
import type { BoardingResult } from '../src/services/platforms.js';
import { basic, OPERATOR, startTestGatepass, type TestGatepass } from './helpers/gatepass.js';
import {
  assertOAuthError,
  clientCredentials,
  postFormText,
  type TokenReply,
  TWO_MODULES,
} from './helpers/token-api.js';

function refresh(
  gp: TestGatepass,
  refreshToken: string,
  headers: Record<string, string> = {},
  listener = gp.staging,
  form: Record<string, string> = {},
): Promise<TokenReply> {
  return postFormText(
    `${listener}/v1/auth/token`,
    { grant_type: 'refresh_token', refresh_token: refreshToken, ...form },
    headers,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function freshRefreshToken(gp: TestGatepass, board: BoardingResult): Promise<string> {
  return String((await clientCredentials(gp, board)).refresh_token);
}

describe('token API refresh_token', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let other: BoardingResult;

  before(async () => {
    gp = await startTestGatepass({ settings: TWO_MODULES });
    platform = await gp.board('Acme Retail', ['demo', 'payouts']);
    other = await gp.board('Other Platform');
  });
  after(() => gp.close());

  test('refresh returns new tokens', async () => {
    const first = await clientCredentials(gp, platform);
    const reply = await refresh(gp, String(first.refresh_token));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.token_type, 'Bearer');
    assert.equal(reply.body.expires_in, 900);
    assert.equal(reply.body.scope, 'demo payouts');
    assert.match(String(reply.body.refresh_token), /^gp_test_rt_/);
    assert.notEqual(reply.body.refresh_token, first.refresh_token);
    assert.notEqual(reply.body.access_token, first.access_token);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.equal(reply.headers.get('pragma'), 'no-cache');
  });

  test('refreshed access token verifies', async () => {
    const reply = await refresh(gp, await freshRefreshToken(gp, platform));
    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(reply.body.access_token), jwks, {
      issuer: gp.staging,
      audience: gp.staging,
    });
    assert.equal(payload.sub, platform.platform.id);
    assert.equal(payload.client_id, platform.client_id);
  });

  test('new refresh token works', async () => {
    const second = await refresh(gp, await freshRefreshToken(gp, platform));
    const third = await refresh(gp, String(second.body.refresh_token));
    assert.equal(third.status, 200, third.text);
  });

  test('refresh with client authentication', async () => {
    const reply = await refresh(gp, await freshRefreshToken(gp, platform), {
      authorization: basic(platform.client_id, platform.client_secret),
    });
    assert.equal(reply.status, 200, reply.text);
  });

  test('used refresh token is refused', async () => {
    const token = await freshRefreshToken(gp, platform);
    const first = await refresh(gp, token);
    assert.equal(first.status, 200, first.text);
    const again = await refresh(gp, token);
    assertOAuthError(again, 400, 'invalid_grant');
    assert.equal(again.body.access_token, undefined);
  });

  test('reuse revokes the successor', async () => {
    const token = await freshRefreshToken(gp, platform);
    const first = await refresh(gp, token);
    assert.equal(first.status, 200, first.text);
    // Inside the race window a second use counts as a lost race, so step past it.
    await sleep(REFRESH_RACE_WINDOW_MS + 200);
    const reuse = await refresh(gp, token);
    assertOAuthError(reuse, 400, 'invalid_grant');
    const successor = await refresh(gp, String(first.body.refresh_token));
    assertOAuthError(successor, 400, 'invalid_grant');
  });

  test('reuse within the race window', async () => {
    const token = await freshRefreshToken(gp, platform);
    const first = await refresh(gp, token);
    assert.equal(first.status, 200, first.text);
    const loser = await refresh(gp, token);
    assertOAuthError(loser, 400, 'invalid_grant');
    const successor = await refresh(gp, String(first.body.refresh_token));
    assert.equal(successor.status, 200, successor.text);
  });

  test('reuse of an older generation', async () => {
    const token = await freshRefreshToken(gp, platform);
    const second = await refresh(gp, token);
    const third = await refresh(gp, String(second.body.refresh_token));
    assert.equal(third.status, 200, third.text);
    const replay = await refresh(gp, token);
    assertOAuthError(replay, 400, 'invalid_grant');
    const latest = await refresh(gp, String(third.body.refresh_token));
    assertOAuthError(latest, 400, 'invalid_grant');
  });

  test('concurrent refreshes have one winner', async () => {
    const token = await freshRefreshToken(gp, platform);
    const replies = await Promise.all(Array.from({ length: 10 }, () => refresh(gp, token)));
    const winners = replies.filter((reply) => reply.status === 200);
    const losers = replies.filter((reply) => reply.status !== 200);
    assert.equal(winners.length, 1, replies.map((reply) => reply.status).join(' '));
    assert.equal(losers.length, 9);
    for (const loser of losers) assertOAuthError(loser, 400, 'invalid_grant');

    const winner = winners[0] as TokenReply;
    const next = await refresh(gp, String(winner.body.refresh_token));
    assert.equal(next.status, 200, next.text);
  });

  test('token after the race is refused', async () => {
    const token = await freshRefreshToken(gp, platform);
    await Promise.all(Array.from({ length: 5 }, () => refresh(gp, token)));
    const late = await refresh(gp, token);
    assertOAuthError(late, 400, 'invalid_grant');
  });

  test('another client is refused', async () => {
    const token = await freshRefreshToken(gp, platform);
    const stolen = await refresh(gp, token, {
      authorization: basic(other.client_id, other.client_secret),
    });
    assertOAuthError(stolen, 400, 'invalid_grant');
    assert.equal(stolen.body.access_token, undefined);
    const owner = await refresh(gp, token);
    assert.equal(owner.status, 200, owner.text);
  });

  test('token on the production listener', async () => {
    const token = await freshRefreshToken(gp, platform);
    const reply = await refresh(gp, token, {}, gp.production);
    assertOAuthError(reply, 400, 'invalid_grant');
    assert.match(String(reply.body.error_description), /staging/);
    const onStaging = await refresh(gp, token);
    assert.equal(onStaging.status, 200, onStaging.text);
  });

  test('relabelled token on production', async () => {
    const token = await freshRefreshToken(gp, platform);
    const relabelled = token.replace(/^gp_test_rt_/, 'gp_live_rt_');
    const reply = await refresh(gp, relabelled, {}, gp.production);
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('access token as refresh token', async () => {
    const tokens = await clientCredentials(gp, platform);
    const reply = await refresh(gp, String(tokens.access_token));
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('altered refresh token', async () => {
    const token = await freshRefreshToken(gp, platform);
    // The last base64url character may carry only padding bits, so alter one further in.
    const index = token.length - 30;
    const replacement = token[index] === 'A' ? 'B' : 'A';
    const altered = `${token.slice(0, index)}${replacement}${token.slice(index + 1)}`;
    const reply = await refresh(gp, altered);
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('refresh narrows scope', async () => {
    const token = await freshRefreshToken(gp, platform);
    const reply = await refresh(gp, token, {}, gp.staging, { scope: 'payouts' });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.scope, 'payouts');
  });

  test('refresh cannot widen scope', async () => {
    const narrow = await clientCredentials(gp, platform, { scope: 'demo' });
    const reply = await refresh(gp, String(narrow.refresh_token), {}, gp.staging, {
      scope: 'demo payouts',
    });
    assertOAuthError(reply, 400, 'invalid_scope');
    const unchanged = await refresh(gp, String(narrow.refresh_token));
    assert.equal(unchanged.status, 200, unchanged.text);
    assert.equal(unchanged.body.scope, 'demo');
  });
});

describe('token API user refresh', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let user: { id: string };
  const password = 'correct horse battery staple';

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    user = await gp.addUser(platform.platform.id, 'dev@example.test', password, 'viewer');
  });
  after(() => gp.close());

  test('user refresh keeps user claims', async () => {
    const signIn = await postFormText(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'dev@example.test',
      password,
    });
    assert.equal(signIn.status, 200, signIn.text);
    const reply = await refresh(gp, String(signIn.body.refresh_token));
    assert.equal(reply.status, 200, reply.text);
    const jwks = createRemoteJWKSet(new URL(`${gp.staging}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(reply.body.access_token), jwks);
    assert.equal(payload.sub, user.id);
    assert.equal(payload.email, 'dev@example.test');
    assert.equal(payload.role, 'viewer');
  });

  test('user refresh by the platform client', async () => {
    const signIn = await postFormText(`${gp.staging}/v1/auth/token`, {
      grant_type: 'password',
      username: 'dev@example.test',
      password,
    });
    const reply = await refresh(gp, String(signIn.body.refresh_token), {
      authorization: basic(platform.client_id, platform.client_secret),
    });
    assert.equal(reply.status, 200, reply.text);
  });
});

describe('token API revocation', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let other: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    other = await gp.board('Other Platform');
  });
  after(() => gp.close());

  function revoke(token: string, headers: Record<string, string> = {}): Promise<TokenReply> {
    return postFormText(`${gp.staging}/v1/auth/revoke`, { token }, headers);
  }

  test('revoked refresh token is refused', async () => {
    const token = await freshRefreshToken(gp, platform);
    const reply = await revoke(token, {
      authorization: basic(platform.client_id, platform.client_secret),
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    const after = await refresh(gp, token);
    assertOAuthError(after, 400, 'invalid_grant');
  });

  test('revoking kills the whole chain', async () => {
    const token = await freshRefreshToken(gp, platform);
    const second = await refresh(gp, token);
    assert.equal(second.status, 200, second.text);
    const reply = await revoke(token, {
      authorization: basic(platform.client_id, platform.client_secret),
    });
    assert.equal(reply.status, 200, reply.text);
    const successor = await refresh(gp, String(second.body.refresh_token));
    assertOAuthError(successor, 400, 'invalid_grant');
  });

  test('revoke by another client', async () => {
    const token = await freshRefreshToken(gp, platform);
    const reply = await revoke(token, {
      authorization: basic(other.client_id, other.client_secret),
    });
    assert.equal(reply.status, 200, reply.text);
    const owner = await refresh(gp, token);
    assert.equal(owner.status, 200, owner.text);
  });

  test('revoke of an unknown token', async () => {
    const reply = await revoke('gp_test_rt_not-a-real-token-not-a-real-token-0000000', {
      authorization: basic(platform.client_id, platform.client_secret),
    });
    assert.equal(reply.status, 200, reply.text);
  });

  test('revoke without a token', async () => {
    const reply = await postFormText(
      `${gp.staging}/v1/auth/revoke`,
      {},
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assertOAuthError(reply, 400, 'invalid_request');
  });
});

describe('token API restart', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  test('revocation survives a restart', async () => {
    const token = await freshRefreshToken(gp, platform);
    const second = await refresh(gp, token);
    assert.equal(second.status, 200, second.text);
    const revoked = await postFormText(
      `${gp.staging}/v1/auth/revoke`,
      { token: String(second.body.refresh_token) },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(revoked.status, 200, revoked.text);

    await gp.stop();
    const restarted = await startTestGatepass({ dataDir: gp.dataDir });
    try {
      assertOAuthError(await refresh(restarted, token), 400, 'invalid_grant');
      const successor = await refresh(restarted, String(second.body.refresh_token));
      assertOAuthError(successor, 400, 'invalid_grant');
    } finally {
      await restarted.close();
    }
  });

  test('live chain survives a restart', async () => {
    const original = await startTestGatepass();
    const board = await original.board();
    const token = await freshRefreshToken(original, board);
    await original.stop();
    const restarted = await startTestGatepass({ dataDir: original.dataDir });
    try {
      const reply = await refresh(restarted, token);
      assert.equal(reply.status, 200, reply.text);
    } finally {
      await restarted.close();
      await original.close();
    }
  });
});

describe('token API introspection', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  let other: BoardingResult;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
    other = await gp.board('Other Platform');
  });
  after(() => gp.close());

  function introspect(token: string, board?: BoardingResult): Promise<TokenReply> {
    const headers: Record<string, string> = board
      ? { authorization: basic(board.client_id, board.client_secret) }
      : {};
    return postFormText(`${gp.staging}/v1/auth/introspect`, { token }, headers);
  }

  test('introspection requires client authentication', async () => {
    const tokens = await clientCredentials(gp, platform);
    const reply = await introspect(String(tokens.access_token));
    assertOAuthError(reply, 401, 'invalid_client');
    assert.equal(reply.body.active, undefined);
  });

  test('introspection with a wrong secret', async () => {
    const tokens = await clientCredentials(gp, platform);
    const reply = await postFormText(
      `${gp.staging}/v1/auth/introspect`,
      { token: String(tokens.access_token) },
      { authorization: basic(platform.client_id, other.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('own access token is active', async () => {
    const tokens = await clientCredentials(gp, platform);
    const reply = await introspect(String(tokens.access_token), platform);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.active, true);
    assert.equal(reply.body.client_id, platform.client_id);
    assert.equal(reply.body.sub, platform.platform.id);
    assert.equal(reply.body.scope, 'demo');
    assert.equal(reply.body.env, 'staging');
    assert.equal(reply.headers.get('cache-control'), 'no-store');
  });

  test('own refresh token is active', async () => {
    const tokens = await clientCredentials(gp, platform);
    const reply = await introspect(String(tokens.refresh_token), platform);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.active, true);
    assert.equal(reply.body.token_type, 'refresh_token');
    assert.equal(reply.body.client_id, platform.client_id);
  });

  test('used refresh token is inactive', async () => {
    const tokens = await clientCredentials(gp, platform);
    const refreshed = await refresh(gp, String(tokens.refresh_token));
    assert.equal(refreshed.status, 200, refreshed.text);
    const reply = await introspect(String(tokens.refresh_token), platform);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { active: false });
  });

  test('another client sees inactive', async () => {
    const tokens = await clientCredentials(gp, platform);
    const access = await introspect(String(tokens.access_token), other);
    assert.equal(access.status, 200, access.text);
    assert.deepEqual(access.body, { active: false });
    const refreshToken = await introspect(String(tokens.refresh_token), other);
    assert.deepEqual(refreshToken.body, { active: false });
  });

  test('garbage token is inactive', async () => {
    const reply = await introspect('not-a-token', platform);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { active: false });
  });

  test('introspection does not consume', async () => {
    const tokens = await clientCredentials(gp, platform);
    await introspect(String(tokens.refresh_token), platform);
    const reply = await refresh(gp, String(tokens.refresh_token));
    assert.equal(reply.status, 200, reply.text);
  });
});

describe('token API suspension', () => {
  let gp: TestGatepass;
  const password = 'correct horse battery staple';

  before(async () => {
    gp = await startTestGatepass();
  });
  after(() => gp.close());

  async function suspendedPlatform(name: string): Promise<{
    board: BoardingResult;
    tokens: Record<string, unknown>;
    userTokens: Record<string, unknown>;
  }> {
    const board = await gp.board(name);
    const email = `${name.toLowerCase().replaceAll(' ', '-')}@example.test`;
    await gp.addUser(board.platform.id, email, password);
    const tokens = await clientCredentials(gp, board);
    const signIn = await postFormText(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email,
      password,
    });
    assert.equal(signIn.status, 200, signIn.text);
    await gp.running.context.platforms.suspend(board.platform.id, OPERATOR);
    return { board, tokens, userTokens: signIn.body };
  }

  test('suspension stops refresh', async () => {
    const { tokens } = await suspendedPlatform('Suspended Refresh');
    const reply = await refresh(gp, String(tokens.refresh_token));
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('suspension stops user refresh', async () => {
    const { userTokens } = await suspendedPlatform('Suspended User Refresh');
    const reply = await refresh(gp, String(userTokens.refresh_token));
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('suspension stops client_credentials', async () => {
    const { board } = await suspendedPlatform('Suspended Client');
    const reply = await postFormText(
      `${gp.staging}/v1/auth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(board.client_id, board.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('suspension stops user sign-in', async () => {
    await suspendedPlatform('Suspended Sign In');
    const reply = await postFormText(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email: 'suspended-sign-in@example.test',
      password,
    });
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('suspension stops introspection', async () => {
    const { board, tokens } = await suspendedPlatform('Suspended Introspection');
    const reply = await postFormText(
      `${gp.staging}/v1/auth/introspect`,
      { token: String(tokens.access_token) },
      { authorization: basic(board.client_id, board.client_secret) },
    );
    assertOAuthError(reply, 401, 'invalid_client');
  });

  test('resume keeps old refresh tokens dead', async () => {
    const { board, tokens, userTokens } = await suspendedPlatform('Resumed Platform');
    await gp.running.context.platforms.resume(board.platform.id, OPERATOR);
    const old = await refresh(gp, String(tokens.refresh_token));
    assertOAuthError(old, 400, 'invalid_grant');
    const oldUser = await refresh(gp, String(userTokens.refresh_token));
    assertOAuthError(oldUser, 400, 'invalid_grant');
  });

  test('new chain after resume works', async () => {
    const { board } = await suspendedPlatform('Renewed Platform');
    await gp.running.context.platforms.resume(board.platform.id, OPERATOR);
    const fresh = await clientCredentials(gp, board);
    const renewed = await refresh(gp, String(fresh.refresh_token));
    assert.equal(renewed.status, 200, renewed.text);
  });
});

describe('token API user lifecycle', () => {
  let gp: TestGatepass;
  let platform: BoardingResult;
  const password = 'correct horse battery staple';
  let count = 0;

  before(async () => {
    gp = await startTestGatepass();
    platform = await gp.board();
  });
  after(() => gp.close());

  /** Add a user and sign in, returning the user's id, email and tokens. */
  async function signedInUser(): Promise<{
    id: string;
    email: string;
    tokens: Record<string, unknown>;
  }> {
    count += 1;
    const email = `user${count}@example.test`;
    const { id } = await gp.addUser(platform.platform.id, email, password);
    const signIn = await signInAs(email, password);
    assert.equal(signIn.status, 200, signIn.text);
    return { id, email, tokens: signIn.body };
  }

  function signInAs(email: string, secret: string): Promise<TokenReply> {
    return postFormText(`${gp.staging}/v1/auth/token`, {
      grant_type: 'user_credentials',
      email,
      password: secret,
    });
  }

  test('disabled user cannot sign in', async () => {
    const { id, email } = await signedInUser();
    await gp.running.context.users.disable(id, OPERATOR);
    const reply = await signInAs(email, password);
    assertOAuthError(reply, 400, 'invalid_grant');
    const wrongPassword = await signInAs(email, 'not the password');
    assert.equal(reply.text, wrongPassword.text);
  });

  test('disabled user cannot refresh', async () => {
    const { id, tokens } = await signedInUser();
    await gp.running.context.users.disable(id, OPERATOR);
    const reply = await refresh(gp, String(tokens.refresh_token));
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('disabled user token is inactive', async () => {
    const { id, tokens } = await signedInUser();
    await gp.running.context.users.disable(id, OPERATOR);
    const reply = await postFormText(
      `${gp.staging}/v1/auth/introspect`,
      { token: String(tokens.access_token) },
      { authorization: basic(platform.client_id, platform.client_secret) },
    );
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.body, { active: false });
  });

  test('enabling keeps old refresh tokens dead', async () => {
    const { id, email, tokens } = await signedInUser();
    await gp.running.context.users.disable(id, OPERATOR);
    await gp.running.context.users.enable(id, OPERATOR);
    const old = await refresh(gp, String(tokens.refresh_token));
    assertOAuthError(old, 400, 'invalid_grant');
    const signIn = await signInAs(email, password);
    assert.equal(signIn.status, 200, signIn.text);
    const renewed = await refresh(gp, String(signIn.body.refresh_token));
    assert.equal(renewed.status, 200, renewed.text);
  });

  test('password reset ends refresh tokens', async () => {
    const { id, tokens } = await signedInUser();
    await gp.running.context.users.resetPassword(id, 'another long passphrase', OPERATOR);
    const reply = await refresh(gp, String(tokens.refresh_token));
    assertOAuthError(reply, 400, 'invalid_grant');
  });

  test('password reset changes sign-in', async () => {
    const { id, email } = await signedInUser();
    const newPassword = 'another long passphrase';
    await gp.running.context.users.resetPassword(id, newPassword, OPERATOR);
    assertOAuthError(await signInAs(email, password), 400, 'invalid_grant');
    const signIn = await signInAs(email, newPassword);
    assert.equal(signIn.status, 200, signIn.text);
    const renewed = await refresh(gp, String(signIn.body.refresh_token));
    assert.equal(renewed.status, 200, renewed.text);
  });
});
