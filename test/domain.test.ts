import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { normalizeEmail } from '../src/domain/email.js';
import { clientIdEnvironment, newClientId } from '../src/domain/identifiers.js';
import { judgeRefresh } from '../src/domain/refresh-chain.js';
import { openRefreshToken, sealRefreshToken } from '../src/domain/refresh-token.js';
import { resolveScope } from '../src/domain/scope.js';
import {
  constantTimeEqual,
  generateSecret,
  hashSecret,
  parseSecret,
} from '../src/domain/secrets.js';

describe('secret format', () => {
  test('round-trips every kind and environment', () => {
    for (const kind of ['client', 'module', 'provider'] as const) {
      for (const environment of ['staging', 'production'] as const) {
        const secret = generateSecret(kind, environment);
        assert.deepEqual(parseSecret(secret), { kind, environment });
      }
    }
  });

  test('names its environment in the prefix', () => {
    assert.match(generateSecret('client', 'staging'), /^gp_test_cs_/);
    assert.match(generateSecret('module', 'production'), /^gp_live_ms_/);
  });

  test('uses only form-safe characters', () => {
    for (let i = 0; i < 50; i++)
      assert.match(generateSecret('client', 'staging'), /^[A-Za-z0-9_]+$/);
  });

  test('never repeats', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateSecret('client', 'staging')));
    assert.equal(seen.size, 1000);
  });

  test('checksum rejects every single-character change', () => {
    const secret = generateSecret('client', 'staging');
    for (let i = 11; i < secret.length; i++) {
      const replacement = secret[i] === 'A' ? 'B' : 'A';
      const altered = secret.slice(0, i) + replacement + secret.slice(i + 1);
      assert.equal(parseSecret(altered), undefined, `change at ${i} was accepted`);
    }
  });

  test('rejects a secret moved to another environment', () => {
    const secret = generateSecret('client', 'staging');
    assert.equal(parseSecret(secret.replace('gp_test_', 'gp_live_')), undefined);
  });

  test('rejects malformed values', () => {
    for (const value of ['', 'gp_test_cs_', 'secret', `${generateSecret('client', 'staging')}x`]) {
      assert.equal(parseSecret(value), undefined, value);
    }
  });

  test('hash depends on the key', () => {
    const secret = generateSecret('client', 'staging');
    assert.notEqual(hashSecret(randomBytes(32), secret), hashSecret(randomBytes(32), secret));
  });

  test('hash does not contain the secret', () => {
    const secret = generateSecret('client', 'staging');
    assert.ok(!hashSecret(randomBytes(32), secret).includes(secret.slice(11, 30)));
  });
});

describe('constantTimeEqual', () => {
  test('equal strings', () => assert.equal(constantTimeEqual('abc', 'abc'), true));
  test('different strings', () => assert.equal(constantTimeEqual('abc', 'abd'), false));
  test('different lengths', () => assert.equal(constantTimeEqual('abc', 'abcd'), false));
});

describe('client ids', () => {
  test('carry their environment', () => {
    assert.equal(clientIdEnvironment(newClientId('staging')), 'staging');
    assert.equal(clientIdEnvironment(newClientId('production')), 'production');
  });

  test('malformed id has no environment', () => {
    assert.equal(clientIdEnvironment('gpc_test_short'), undefined);
    assert.equal(clientIdEnvironment(''), undefined);
  });
});

describe('sealed refresh token', () => {
  const key = randomBytes(32);
  const payload = {
    chainId: 'chain1',
    generation: 3,
    environment: 'staging' as const,
    platformId: 'plt_1',
    clientId: 'gpc_test_x',
    clientSecretId: 'sec_1',
    scope: ['demo'],
    authTime: 100,
    issuedAt: 200,
    expiresAt: 300,
  };

  test('opens what it sealed', () => {
    assert.deepEqual(openRefreshToken(key, 'staging', sealRefreshToken(key, payload)), payload);
  });

  test('reveals no payload in clear', () => {
    const token = sealRefreshToken(key, payload);
    assert.ok(!token.includes('plt_1'));
    assert.ok(!Buffer.from(token.slice(11), 'base64url').toString('latin1').includes('plt_1'));
  });

  test('rejects another key', () => {
    assert.equal(
      openRefreshToken(randomBytes(32), 'staging', sealRefreshToken(key, payload)),
      undefined,
    );
  });

  test('rejects another environment', () => {
    const token = sealRefreshToken(key, payload);
    assert.equal(
      openRefreshToken(key, 'production', token.replace('gp_test_', 'gp_live_')),
      undefined,
    );
  });

  test('rejects an altered byte', () => {
    const token = sealRefreshToken(key, payload);
    const index = token.length - 30;
    const altered =
      token.slice(0, index) + (token[index] === 'A' ? 'B' : 'A') + token.slice(index + 1);
    assert.equal(openRefreshToken(key, 'staging', altered), undefined);
  });
});

describe('refresh chain rules', () => {
  test('first use consumes', () => assert.equal(judgeRefresh(0, undefined).kind, 'consume'));
  test('current generation consumes', () => {
    assert.equal(
      judgeRefresh(2, { chainId: 'c', nextGeneration: 2, revokedAt: null }).kind,
      'consume',
    );
  });
  test('older generation is reuse', () => {
    assert.equal(
      judgeRefresh(1, { chainId: 'c', nextGeneration: 2, revokedAt: null }).kind,
      'reuse',
    );
  });
  test('revoked chain stays revoked', () => {
    assert.equal(
      judgeRefresh(2, { chainId: 'c', nextGeneration: 2, revokedAt: 5 }).kind,
      'revoked',
    );
  });
  test('generation ahead is unknown', () => {
    assert.equal(judgeRefresh(3, undefined).kind, 'unknown-generation');
  });
});

describe('scope resolution', () => {
  test('absent scope means every module', () => {
    assert.deepEqual(resolveScope(undefined, ['payouts', 'demo']), {
      ok: true,
      modules: ['demo', 'payouts'],
    });
  });
  test('narrows to the requested modules', () => {
    assert.deepEqual(resolveScope('demo', ['payouts', 'demo']), { ok: true, modules: ['demo'] });
  });
  test('names modules the platform lacks', () => {
    assert.deepEqual(resolveScope('demo identity', ['demo']), { ok: false, unknown: ['identity'] });
  });
});

describe('email normalization', () => {
  test('trims and lower-cases', () =>
    assert.equal(normalizeEmail('  Owner@Example.TEST '), 'owner@example.test'));
});
