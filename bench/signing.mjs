/**
 * EdDSA (Ed25519) JWT signatures per second on one core, the fixed cost of every access token:
 * `node bench/signing.mjs [--json]`, or `npm run bench:signing`.
 *
 * Signs access-token-sized claims two ways, one signature after another, 1 s of warm-up, then
 * 3 s measured: with jose's SignJWT and a key imported with importPKCS8, and as Gatepass's
 * keyring does (dist/services/keyring.js): the protected header encoded once, the claims
 * serialized and base64url-encoded, and node:crypto's synchronous `sign`, without the promise
 * and WebCrypto job that jose 6 runs per signature on Node.js. A token endpoint that signs a
 * way issues at most that many tokens per second per core, whatever else it does.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { exportPKCS8, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import { isMain, saveResult } from './lib/harness.mjs';

async function signFor(seconds, key) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  while (performance.now() < deadline) {
    const now = Math.floor(Date.now() / 1000);
    await new SignJWT({
      client_id: 'gpc_test_0123456789abcdefghijklmn',
      platform: 'plt_0123456789abcdef',
      scope: 'echo',
      env: 'staging',
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'staging-0123456789ab' })
      .setIssuer('http://127.0.0.1:8081')
      .setAudience('http://127.0.0.1:8081')
      .setSubject('plt_0123456789abcdef')
      .setJti(`jti-${count}`)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 900)
      .sign(key);
    count++;
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

/** Sign the same claims as Gatepass does, with node:crypto, for `seconds`. */
function nodeCryptoSignFor(seconds) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const header = Buffer.from(
    JSON.stringify({ alg: 'EdDSA', kid: 'staging-0123456789ab', typ: 'at+jwt' }),
  ).toString('base64url');
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  while (performance.now() < deadline) {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'http://127.0.0.1:8081',
      sub: 'plt_0123456789abcdef',
      aud: 'http://127.0.0.1:8081',
      iat: now,
      nbf: now,
      exp: now + 900,
      jti: `jti-${count}`,
      env: 'staging',
      client_id: 'gpc_test_0123456789abcdefghijklmn',
      platform: 'plt_0123456789abcdef',
      scope: 'echo',
    };
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = sign(null, Buffer.from(input), privateKey).toString('base64url');
    if (signature.length === 0) throw new Error('empty signature');
    count++;
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

function rate(run) {
  return {
    signatures: run.count,
    seconds: run.seconds,
    signaturesPerSecondPerCore: run.count / run.seconds,
    microsecondsPerSignature: (run.seconds * 1e6) / run.count,
  };
}

export async function benchSigning() {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const key = await importPKCS8(await exportPKCS8(privateKey), 'EdDSA');
  await signFor(1, key);
  const jose = rate(await signFor(3, key));
  nodeCryptoSignFor(1);
  const nodeCrypto = rate(nodeCryptoSignFor(3));
  return { jose, nodeCrypto };
}

if (isMain(import.meta.url)) {
  const result = await benchSigning();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const line = (label, r) =>
      `${label}: ${r.signaturesPerSecondPerCore.toFixed(0)}/s on one core (${r.microsecondsPerSignature.toFixed(1)} µs each)`;
    console.log(line('EdDSA JWT with jose SignJWT', result.jose));
    console.log(line('EdDSA JWT with node:crypto sign, as Gatepass signs', result.nodeCrypto));
    console.log(`results: ${await saveResult('signing', result)}`);
  }
}
