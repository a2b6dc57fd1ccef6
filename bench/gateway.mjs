/**
 * Gateway benchmark against its floor, a bare Fastify proxy: `npm run bench:gateway` (builds
 * first), or `node bench/gateway.mjs` after `npm run build`.
 *
 * Three processes serve the same minimal node:http upstream (bench/upstream.mjs) on
 * 127.0.0.1: Gatepass, whose configuration file declares the module `echo` at `/echo` with
 * that upstream and `requiresProviderSecret: false`, and bench/bare-proxy.mjs, which forwards
 * `/echo` with @fastify/http-proxy and no authentication. Every figure is one autocannon run
 * from a separate process, 50 connections, 10 s after a 3 s warm-up, of `GET /echo/hello`:
 *
 *   maximum rate        the bare proxy, Gatepass with a JWT, Gatepass with client headers
 *   half the bare proxy's maximum rate (autocannon overallRate), for the p99 latency of each
 *   a quarter of it, where Gatepass is not near its own maximum either
 *
 * Gateway rate limits are raised in the configuration file, so the figures measure the
 * gateway, not the limiter. Request-log rows are still written, in batches, as in production.
 */
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
  startUpstream,
  waitForHttp,
  writeConfig,
} from './lib/harness.mjs';

async function startBareProxy(folder, upstreamUrl) {
  const port = await freePort();
  const handle = startNode(
    'bare-proxy',
    [join(BENCH, 'bare-proxy.mjs'), String(port), upstreamUrl],
    {
      logFile: join(folder, 'bare-proxy.log'),
    },
  );
  const url = `http://${HOST}:${port}`;
  await waitForHttp(`${url}/ready`, handle);
  return { ...handle, url };
}

/** Get an access token for `platform` with client_credentials and HTTP Basic. */
export async function accessToken(stagingUrl, platform) {
  const response = await fetch(`${stagingUrl}/v1/auth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${platform.client_id}:${platform.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const body = await response.json();
  if (response.status !== 200)
    throw new Error(`client_credentials failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Return the gateway requests of one platform: with its JWT, and with its client headers. */
export function gatewayRequests(platform, token) {
  const moduleSecret = platform.module_secrets.echo;
  return {
    jwt: {
      method: 'GET',
      path: '/echo/hello',
      headers: { authorization: `Bearer ${token}`, 'x-module-secret': moduleSecret },
    },
    headers: {
      method: 'GET',
      path: '/echo/hello',
      headers: {
        'x-client-id': platform.client_id,
        'x-client-secret': platform.client_secret,
        'x-module-secret': moduleSecret,
      },
    },
  };
}

async function expectOk(label, url, request) {
  const response = await fetch(`${url}${request.path}`, { headers: request.headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${label}: ${response.status} ${text}`);
}

export async function benchGateway() {
  const folder = makeTempDir('gateway');
  const dataDir = join(folder, 'data');
  const upstream = await startUpstream(folder);
  const configFile = writeConfig(folder, upstream.url);
  const seeded = await seed({ folder, dataDir, configFile, platforms: 1 });
  const [platform] = seeded.sample;

  const gatepass = await startGatepass({ folder, dataDir, configFile });
  const bare = await startBareProxy(folder, upstream.url);
  const requests = gatewayRequests(platform, await accessToken(gatepass.urls.staging, platform));
  const bareRequest = { method: 'GET', path: '/echo/hello', headers: {} };
  await expectOk('Gatepass with a JWT', gatepass.urls.staging, requests.jwt);
  await expectOk('Gatepass with client headers', gatepass.urls.staging, requests.headers);
  await expectOk('bare proxy', bare.url, bareRequest);

  const loads = join(folder, 'loads');
  const serverPids = { [bare.url]: bare.pid, [gatepass.urls.staging]: gatepass.pid };
  const run = (label, url, request, overallRate) =>
    runLoad(loads, {
      label,
      url,
      serverPid: serverPids[url],
      requests: [request],
      ...LOAD,
      ...(overallRate ? { overallRate } : {}),
    });

  const max = {
    bare: await run('bare proxy', bare.url, bareRequest),
    jwt: await run('Gatepass, JWT', gatepass.urls.staging, requests.jwt),
    headers: await run('Gatepass, client headers', gatepass.urls.staging, requests.headers),
  };
  const atRate = async (name, rate) => ({
    bare: await run(`bare proxy at ${name} rate`, bare.url, bareRequest, rate),
    jwt: await run(`Gatepass, JWT, at ${name} rate`, gatepass.urls.staging, requests.jwt, rate),
    headers: await run(
      `Gatepass, client headers, at ${name} rate`,
      gatepass.urls.staging,
      requests.headers,
      rate,
    ),
  });
  const halfRate = Math.floor(max.bare.requestsPerSecond / 2);
  const half = await atRate('half', halfRate);
  const quarterRate = Math.floor(max.bare.requestsPerSecond / 4);
  const quarter = await atRate('quarter', quarterRate);
  return {
    max,
    halfRate,
    half,
    quarterRate,
    quarter,
    ratios: {
      jwtOverBare: max.jwt.requestsPerSecond / max.bare.requestsPerSecond,
      headersOverBare: max.headers.requestsPerSecond / max.bare.requestsPerSecond,
    },
    p99AboveBareAtHalfRateMs: {
      jwt: half.jwt.latency.p99 - half.bare.latency.p99,
      headers: half.headers.latency.p99 - half.bare.latency.p99,
    },
    p99AboveBareAtQuarterRateMs: {
      jwt: quarter.jwt.latency.p99 - quarter.bare.latency.p99,
      headers: quarter.headers.latency.p99 - quarter.bare.latency.p99,
    },
  };
}

function printAtRate(title, runs) {
  console.log(`\n${title}`);
  const above = (r) => {
    const difference = r.latency.p99 - runs.bare.latency.p99;
    return `${difference >= 0 ? '+' : ''}${fmt(difference, 2)}`;
  };
  printTable(
    [
      'GET /echo/hello',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'server CPU µs',
      'p99 above bare, ms',
    ],
    [
      ['bare Fastify proxy', ...loadCells(runs.bare), '0'],
      ['Gatepass, JWT', ...loadCells(runs.jwt), above(runs.jwt)],
      ['Gatepass, client headers', ...loadCells(runs.headers), above(runs.headers)],
    ],
  );
}

function report(results) {
  const { max } = results;
  const share = (r) => `${fmt((100 * r.requestsPerSecond) / max.bare.requestsPerSecond)}%`;
  console.log('Maximum rate:');
  printTable(
    [
      'GET /echo/hello',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'server CPU µs',
      'of bare proxy',
    ],
    [
      ['bare Fastify proxy, no authentication', ...loadCells(max.bare), '100%'],
      ['Gatepass, JWT', ...loadCells(max.jwt), share(max.jwt)],
      ['Gatepass, client headers', ...loadCells(max.headers), share(max.headers)],
    ],
  );
  printAtRate(
    `At ${fmt(results.halfRate)} requests/s, half the bare proxy's maximum:`,
    results.half,
  );
  printAtRate(`At ${fmt(results.quarterRate)} requests/s, a quarter of it:`, results.quarter);
}

if (isMain(import.meta.url)) await runBenchmark('gateway', benchGateway, report);
