/**
 * Growth benchmark: throughput and idle memory with 100 and with 100,000 platforms in the
 * database. `npm run bench:growth` (builds first), or `node bench/growth.mjs` after
 * `npm run build`; `--platforms=100,20000` picks other sizes.
 *
 * For each size, bench/seed.mjs boards that many platforms into a fresh data folder through
 * Gatepass's services, then a fresh server starts on it. Its resident memory is read 5 s after
 * it first responded, before any load ("idle"), and again 5 s after the loads ("idle after
 * load", with caches filled). The loads are the same at every size: 50 connections, 10 s
 * after a 3 s warm-up, cycling over the same number (100) of platforms spread evenly over the
 * whole database, so that only the size of the database differs:
 *
 *   token API   client_credentials with HTTP Basic
 *   gateway     GET /echo/hello with each platform's JWT
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { accessToken, gatewayRequests } from './gateway.mjs';
import {
  fmt,
  isMain,
  LOAD,
  loadCells,
  makeTempDir,
  printTable,
  rssMiB,
  runBenchmark,
  runLoad,
  seed,
  startGatepass,
  startUpstream,
  writeConfig,
} from './lib/harness.mjs';

/** Platforms each load cycles over, at every database size. */
const WORKING_SET = 100;
const IDLE_SETTLE_MS = 5_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureSize(folder, upstreamUrl, platforms) {
  const sizeFolder = join(folder, String(platforms));
  const dataDir = join(sizeFolder, 'data');
  const configFile = writeConfig(folder, upstreamUrl);
  const seeded = await seed({
    folder: sizeFolder,
    dataDir,
    configFile,
    platforms,
    sample: WORKING_SET,
  });
  const gatepass = await startGatepass({ folder: sizeFolder, dataDir, configFile });
  await sleep(IDLE_SETTLE_MS);
  const idleMiB = rssMiB(gatepass.pid);

  const tokenRequests = seeded.sample.map((platform) => ({
    method: 'POST',
    path: '/v1/auth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${platform.client_id}:${platform.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  }));
  const jwtRequests = [];
  for (const platform of seeded.sample) {
    jwtRequests.push(
      gatewayRequests(platform, await accessToken(gatepass.urls.staging, platform)).jwt,
    );
  }
  const loads = join(sizeFolder, 'loads');
  const url = gatepass.urls.staging;
  const token = await runLoad(loads, {
    label: `token API, ${platforms} platforms`,
    url,
    serverPid: gatepass.pid,
    requests: tokenRequests,
    ...LOAD,
  });
  const gateway = await runLoad(loads, {
    label: `gateway, ${platforms} platforms`,
    url,
    serverPid: gatepass.pid,
    requests: jwtRequests,
    ...LOAD,
  });
  await sleep(IDLE_SETTLE_MS);
  const idleAfterLoadMiB = rssMiB(gatepass.pid);
  await gatepass.stop();
  return {
    platforms,
    workingSet: seeded.sample.length,
    seedSeconds: seeded.boardSeconds,
    idleMiB,
    idleAfterLoadMiB,
    token,
    gateway,
  };
}

export async function benchGrowth(sizes = [100, 100_000]) {
  const folder = makeTempDir('growth');
  const upstream = await startUpstream(folder);
  const runs = [];
  for (const platforms of sizes) runs.push(await measureSize(folder, upstream.url, platforms));
  const [small, large] = [runs[0], runs[runs.length - 1]];
  return {
    runs,
    ratios: {
      token: large.token.requestsPerSecond / small.token.requestsPerSecond,
      gateway: large.gateway.requestsPerSecond / small.gateway.requestsPerSecond,
    },
  };
}

function report(results) {
  const rows = [];
  const [small] = results.runs;
  for (const run of results.runs) {
    const share = (r, base) => `${fmt((100 * r.requestsPerSecond) / base.requestsPerSecond)}%`;
    rows.push([
      `token API, ${fmt(run.platforms)} platforms`,
      ...loadCells(run.token),
      share(run.token, small.token),
    ]);
    rows.push([
      `gateway (JWT), ${fmt(run.platforms)} platforms`,
      ...loadCells(run.gateway),
      share(run.gateway, small.gateway),
    ]);
  }
  printTable(
    [
      'load',
      'requests/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'server CPU µs',
      `of ${fmt(small.platforms)} platforms`,
    ],
    rows,
  );
  console.log('');
  printTable(
    ['platforms', 'seeding s', 'idle RSS MiB', 'idle RSS after load MiB'],
    results.runs.map((run) => [
      fmt(run.platforms),
      fmt(run.seedSeconds, 1),
      fmt(run.idleMiB, 1),
      fmt(run.idleAfterLoadMiB, 1),
    ]),
  );
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { platforms: { type: 'string', default: '100,100000' } },
  });
  const sizes = values.platforms.split(',').map(Number);
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < WORKING_SET)) {
    console.error(
      `--platforms takes two or more sizes of at least ${WORKING_SET}, such as 100,100000`,
    );
    process.exit(2);
  }
  await runBenchmark('growth', () => benchGrowth(sizes), report);
}
