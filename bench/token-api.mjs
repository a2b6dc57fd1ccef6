/**
 * Token API benchmark, with node-oidc-provider as the peer in the same run:
 * `npm run bench:token` (builds first), or `node bench/token-api.mjs` after `npm run build`.
 *
 * One platform with the `echo` module and one user are boarded into a fresh data folder, then
 * Gatepass, the peer (bench/peer-oidc.mjs) and two floors (bench/floor-token.mjs) run side by
 * side on 127.0.0.1. Each figure is one autocannon run from a separate process, 50
 * connections, 10 s after a 3 s warm-up:
 *
 *   client_credentials, secret in the body     Gatepass
 *   client_credentials, HTTP Basic             Gatepass, then the peer
 *   minimal token endpoint, Fastify hello      the floors
 *   refresh_token                              Gatepass, over a pre-minted pool (see below)
 *   user_credentials                           Gatepass, plus argon2id hashes/s on one core
 *
 * Then, with both servers stopped, bench/argon2.mjs and bench/signing.mjs measure the two
 * fixed costs on one core: an argon2id hash, which bounds user_credentials, and an EdDSA JWT
 * signature, which bounds every grant.
 *
 * A refresh token works once, so the refresh_token figure sends each token of a pool minted
 * beforehand with client_credentials, and its measured run ends when the pool is used up
 * rather than after 10 s. The rate limits are raised in the configuration file so that the
 * figures measure the token API, not the limiter.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  BENCH,
  fmt,
  freePort,
  HOST,
  isMain,
  LOAD,
  loadCells,
  makeTempDir,
  printTable,
  runBenchmark,
  runLoad,
  seed,
  startGatepass,
  startNode,
  waitForHttp,
  writeConfig,
} from './lib/harness.mjs';

/** Refresh tokens minted for the warm-up and for the measured refresh_token run. */
const REFRESH_POOL = { warmup: 3_000, measured: 20_000 };
const PEER_CLIENT_ID = 'bench-peer-client';
const PEER_CLIENT_SECRET = 'bench-peer-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/**
 * Send one request by hand before loading it, so a misconfigured run fails with the reason.
 * Returns the response body.
 */
async function expectOk(label, url, request) {
  const response = await fetch(url, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${label}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function startFloors(folder) {
  const port = await freePort();
  const handle = startNode(
    'token floors',
    [join(BENCH, 'floor-token.mjs'), String(port), PEER_CLIENT_ID, PEER_CLIENT_SECRET],
    { logFile: join(folder, 'floors.log') },
  );
  const url = `http://${HOST}:${port}`;
  await waitForHttp(`${url}/hello`, handle);
  return { ...handle, url };
}

async function startPeer(folder) {
  const port = await freePort();
  const handle = startNode(
    'oidc-provider',
    [join(BENCH, 'peer-oidc.mjs'), String(port), PEER_CLIENT_ID, PEER_CLIENT_SECRET],
    { logFile: join(folder, 'peer.log') },
  );
  const url = `http://${HOST}:${port}`;
  await waitForHttp(`${url}/.well-known/openid-configuration`, handle);
  return { ...handle, url };
}

export async function benchTokenApi() {
  const folder = makeTempDir('token');
  const dataDir = join(folder, 'data');
  // The token API never calls the module's upstream, so nothing listens at this address.
  const configFile = writeConfig(folder, `http://${HOST}:9`);
  const seeded = await seed({ folder, dataDir, configFile, platforms: 1, users: 1 });
  const [platform] = seeded.sample;
  const [user] = seeded.users;

  const gatepass = await startGatepass({ folder, dataDir, configFile });
  const peer = await startPeer(folder);
  const floors = await startFloors(folder);
  const tokenUrl = `${gatepass.urls.staging}/v1/auth/token`;
  const loads = join(folder, 'loads');

  const body = {
    method: 'POST',
    path: '/v1/auth/token',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: platform.client_id,
      client_secret: platform.client_secret,
    }).toString(),
  };
  const basicRequest = {
    method: 'POST',
    path: '/v1/auth/token',
    headers: { ...FORM, authorization: basic(platform.client_id, platform.client_secret) },
    body: 'grant_type=client_credentials',
  };
  const peerRequest = {
    method: 'POST',
    path: '/token',
    headers: { ...FORM, authorization: basic(PEER_CLIENT_ID, PEER_CLIENT_SECRET) },
    body: 'grant_type=client_credentials&scope=echo',
  };
  const userRequest = {
    method: 'POST',
    path: '/v1/auth/token',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'user_credentials',
      email: user.email,
      password: user.password,
    }).toString(),
  };
  await expectOk('Gatepass client_credentials (body)', tokenUrl, body);
  const issued = await expectOk('Gatepass client_credentials (Basic)', tokenUrl, basicRequest);
  await expectOk('oidc-provider client_credentials', `${peer.url}/token`, peerRequest);
  const floorRequest = {
    method: 'POST',
    path: '/token',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: PEER_CLIENT_ID,
      client_secret: PEER_CLIENT_SECRET,
    }).toString(),
  };
  await expectOk('minimal token endpoint', `${floors.url}/token`, floorRequest);
  await expectOk('Gatepass user_credentials', tokenUrl, userRequest);

  const serverPids = {
    [peer.url]: peer.pid,
    [floors.url]: floors.pid,
    [gatepass.urls.staging]: gatepass.pid,
  };
  const plain = (label, url, request) =>
    runLoad(loads, { label, url, serverPid: serverPids[url], requests: [request], ...LOAD });
  const results = {};
  results.clientCredentialsBody = await plain(
    'client_credentials, body',
    gatepass.urls.staging,
    body,
  );
  results.clientCredentialsBasic = await plain(
    'client_credentials, Basic',
    gatepass.urls.staging,
    basicRequest,
  );
  results.peerClientCredentialsBasic = await plain(
    'oidc-provider client_credentials, Basic',
    peer.url,
    peerRequest,
  );
  results.minimalToken = await plain('minimal token endpoint', floors.url, floorRequest);
  results.fastifyHello = await plain('Fastify hello world', floors.url, {
    method: 'GET',
    path: '/hello',
  });
  // With tokens.refreshForClientCredentials false, client_credentials issues no refresh token
  // to mint the pool from.
  results.refreshToken = issued.refresh_token
    ? await runLoad(loads, {
        label: 'refresh_token',
        url: gatepass.urls.staging,
        serverPid: gatepass.pid,
        connections: LOAD.connections,
        requests: [{ method: 'POST', path: '/v1/auth/token', headers: FORM }],
        refreshPool: { mint: basicRequest, ...REFRESH_POOL },
      })
    : null;
  // Sign-ins of closed warm-up connections stay queued for the password hasher, whose queue is
  // bounded (64), so the measured run starts only once they are done.
  results.userCredentials = await runLoad(loads, {
    label: 'user_credentials',
    url: gatepass.urls.staging,
    serverPid: gatepass.pid,
    requests: [userRequest],
    ...LOAD,
    pauseSeconds: 3,
  });

  await gatepass.stop();
  await peer.stop();
  await floors.stop();
  // Measured with the servers stopped, so that each has the core to itself.
  const measure = (script) =>
    JSON.parse(
      execFileSync(process.execPath, [join(BENCH, script), '--json'], { encoding: 'utf8' }),
    );
  results.argon2 = measure('argon2.mjs');
  results.signing = measure('signing.mjs');
  results.ratios = {
    basicOverPeer:
      results.clientCredentialsBasic.requestsPerSecond /
      results.peerClientCredentialsBasic.requestsPerSecond,
    bodyOverPeer:
      results.clientCredentialsBody.requestsPerSecond /
      results.peerClientCredentialsBasic.requestsPerSecond,
    minimalOverPeer:
      results.minimalToken.requestsPerSecond / results.peerClientCredentialsBasic.requestsPerSecond,
  };
  return results;
}

function report(results) {
  const peer = results.peerClientCredentialsBasic.requestsPerSecond;
  const ratio = (r) => `${fmt(r.requestsPerSecond / peer, 2)}×`;
  printTable(
    [
      'token request',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'server CPU µs',
      'vs oidc-provider',
    ],
    [
      [
        'Gatepass client_credentials, secret in body',
        ...loadCells(results.clientCredentialsBody),
        ratio(results.clientCredentialsBody),
      ],
      [
        'Gatepass client_credentials, HTTP Basic',
        ...loadCells(results.clientCredentialsBasic),
        ratio(results.clientCredentialsBasic),
      ],
      [
        'oidc-provider 8.8 client_credentials, HTTP Basic',
        ...loadCells(results.peerClientCredentialsBasic),
        '1.00×',
      ],
      [
        'floor: minimal token endpoint (form, SHA-256, node:crypto EdDSA)',
        ...loadCells(results.minimalToken),
        ratio(results.minimalToken),
      ],
      [
        'floor: Fastify hello world',
        ...loadCells(results.fastifyHello),
        ratio(results.fastifyHello),
      ],
      results.refreshToken
        ? [
            `Gatepass refresh_token (${fmt(results.refreshToken.poolSize)}-token pool)`,
            ...loadCells(results.refreshToken),
            '',
          ]
        : [
            'Gatepass refresh_token: not measured, client_credentials issues no refresh token',
            '',
            '',
            '',
            '',
            '',
          ],
      ['Gatepass user_credentials', ...loadCells(results.userCredentials), ''],
    ],
  );
  const { argon2, signing } = results;
  console.log(
    `\nargon2id (m=${argon2.parameters.memoryKiB} KiB, t=${argon2.parameters.iterations}, p=${argon2.parameters.parallelism}): ${fmt(argon2.hashesPerSecondPerCore, 1)} hashes/s on one core, ${fmt(argon2.msPerHash, 1)} ms each`,
  );
  console.log(
    `EdDSA JWT signing with jose: ${fmt(signing.jose.signaturesPerSecondPerCore)}/s on one core; with node:crypto, as Gatepass signs: ${fmt(signing.nodeCrypto.signaturesPerSecondPerCore)}/s`,
  );
  console.log(
    `target: client_credentials at least 3× oidc-provider: Basic ${fmt(results.ratios.basicOverPeer, 2)}×, body ${fmt(results.ratios.bodyOverPeer, 2)}×`,
  );
}

if (isMain(import.meta.url)) await runBenchmark('token-api', benchTokenApi, report);
