/**
 * Soak: a fixed mix of token requests and gateway calls at a steady rate against one running
 * Gatepass. `npm run bench:soak` (builds first), or `node bench/soak.mjs [--rate=500]
 * [--seconds=60] [--warmup=10]` after `npm run build`.
 *
 * Gatepass starts once on a fresh data folder with 10 boarded platforms, in front of the
 * minimal upstream (bench/upstream.mjs). autocannon, in a separate process, sends the mix at
 * `--rate` requests/s over 50 connections, first for `--warmup` seconds, then for `--seconds`
 * measured. Every connection cycles through the same five requests, so the mix is fixed:
 *
 *   1 in 5   POST /v1/auth/token, client_credentials with HTTP Basic
 *   2 in 5   GET /echo/hello with a JWT
 *   2 in 5   GET /echo/hello with client headers
 *
 * The JWTs are minted before the warm-up and live 900 s, longer than any soak this script
 * accepts. The report gives errors by status, latency percentiles, and the server's resident
 * memory (and its V8 heap) after the warm-up, every 10 s and at the end. V8 lets garbage pile
 * up in the old generation until a full collection, so those readings rise and fall in a
 * sawtooth. The server therefore runs with bench/lib/gc-on-signal.cjs preloaded, and memory is
 * also read after a full garbage collection at the end of the warm-up and of the soak: their
 * difference is memory the server kept. Rate limits are raised in the configuration file, as
 * in the other benchmarks.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { accessToken, gatewayRequests } from './gateway.mjs';
import {
  BENCH,
  fmt,
  isMain,
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

const PLATFORMS = 10;
const CONNECTIONS = 50;
/** Maximum soak and warm-up, in seconds: together less than the JWTs' lifetime of 900 s. */
const MAX_SECONDS = 600;
const MAX_WARMUP_SECONDS = 120;
const MEMORY_SAMPLE_MS = 10_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resident memory of the server from /proc, and its V8 heap (used and reserved) and external
 * memory from its Prometheus metrics, in MiB. A growing RSS with a flat heap points outside
 * JavaScript.
 */
async function sampleMemory(gatepass) {
  const text = await (await fetch(`${gatepass.urls.admin}/metrics`)).text();
  const metric = (name) => {
    const match = new RegExp(`^gatepass_${name} ([0-9.e+]+)$`, 'm').exec(text);
    return match ? Number(match[1]) / 2 ** 20 : Number.NaN;
  };
  return {
    rssMiB: rssMiB(gatepass.pid),
    heapUsedMiB: metric('nodejs_heap_size_used_bytes'),
    heapTotalMiB: metric('nodejs_heap_size_total_bytes'),
    externalMiB: metric('nodejs_external_memory_bytes'),
  };
}

/**
 * Run a full garbage collection in the server (SIGUSR2, handled by bench/lib/gc-on-signal.cjs)
 * and return its memory a second later, when the collection has finished and V8 has returned
 * the freed pages.
 */
async function sampleMemoryAfterGc(gatepass) {
  process.kill(gatepass.pid, 'SIGUSR2');
  await sleep(1_000);
  return sampleMemory(gatepass);
}

function tokenRequest(platform) {
  return {
    method: 'POST',
    path: '/v1/auth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${platform.client_id}:${platform.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  };
}

export async function benchSoak({ rate = 500, seconds = 60, warmup = 10 } = {}) {
  const folder = makeTempDir('soak');
  const dataDir = join(folder, 'data');
  const upstream = await startUpstream(folder);
  const configFile = writeConfig(folder, upstream.url);
  const seeded = await seed({
    folder,
    dataDir,
    configFile,
    platforms: PLATFORMS,
    sample: PLATFORMS,
  });
  const nodeArgs = ['--expose-gc', '--require', join(BENCH, 'lib/gc-on-signal.cjs')];
  const gatepass = await startGatepass({ folder, dataDir, configFile, nodeArgs });
  const atStart = await sampleMemory(gatepass);

  // The cycle contains the five requests of every platform, so all ten are in use.
  const requests = [];
  for (const platform of seeded.sample) {
    const gateway = gatewayRequests(platform, await accessToken(gatepass.urls.staging, platform));
    requests.push(
      tokenRequest(platform),
      gateway.jwt,
      gateway.headers,
      gateway.jwt,
      gateway.headers,
    );
  }
  const loads = join(folder, 'loads');
  const spec = {
    url: gatepass.urls.staging,
    requests,
    connections: CONNECTIONS,
    overallRate: rate,
    warmupSeconds: 0,
  };

  // One run each, even when other processes share the cores: a repeated run would measure
  // memory over a longer, different history.
  const once = { attempts: 1 };
  const warm = await runLoad(
    loads,
    { ...spec, label: 'soak warm-up', durationSeconds: warmup },
    once,
  );
  const afterWarmup = await sampleMemory(gatepass);
  const afterWarmupGc = await sampleMemoryAfterGc(gatepass);
  const samples = [{ second: 0, ...afterWarmup }];
  const started = performance.now();
  const sampler = setInterval(async () => {
    const second = Math.round((performance.now() - started) / 1000);
    try {
      samples.push({ second, ...(await sampleMemory(gatepass)) });
    } catch (error) {
      console.warn(`memory sample at ${second} s failed: ${error.message}`);
    }
  }, MEMORY_SAMPLE_MS);
  let measured;
  try {
    measured = await runLoad(loads, { ...spec, label: 'soak', durationSeconds: seconds }, once);
  } finally {
    clearInterval(sampler);
  }
  const atEnd = await sampleMemory(gatepass);
  const atEndGc = await sampleMemoryAfterGc(gatepass);
  const { code } = await gatepass.stop();
  return {
    rate,
    seconds,
    warmupSeconds: warmup,
    mix: { token: 1, gatewayJwt: 2, gatewayHeaders: 2 },
    warmupFailed: warm.failed,
    measured,
    memory: {
      atStart,
      afterWarmup,
      samples,
      atEnd,
      afterWarmupGc,
      atEndGc,
      maxRssMiB: Math.max(atEnd.rssMiB, ...samples.map((m) => m.rssMiB)),
      rssGrowthAfterGc: atEndGc.rssMiB / afterWarmupGc.rssMiB - 1,
    },
    serverExitCode: code,
  };
}

function report(results) {
  const { measured, memory } = results;
  console.log(
    `${fmt(results.seconds)} s at ${fmt(results.rate)} requests/s after a ${fmt(results.warmupSeconds)} s warm-up; mix per 5 requests: 1 token, 2 gateway with JWT, 2 gateway with client headers`,
  );
  printTable(
    [
      'requests',
      'achieved/s',
      'failed',
      'statuses',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'max ms',
    ],
    [
      [
        fmt(measured.requests),
        fmt(measured.requestsPerSecond),
        fmt(measured.failed),
        Object.entries(measured.statusCodes)
          .map(([status, count]) => `${status}: ${count}`)
          .join(', '),
        fmt(measured.latency.p50, 2),
        fmt(measured.latency.p90, 2),
        fmt(measured.latency.p99, 2),
        fmt(measured.latency.p999, 2),
        fmt(measured.latency.max, 2),
      ],
    ],
  );
  console.log('\nServer memory:');
  printTable(
    ['when', 'RSS MiB', 'V8 heap used MiB', 'V8 heap total MiB', 'external MiB'],
    [
      ['at start', memory.atStart],
      ...memory.samples.map((m) => [m.second === 0 ? 'after warm-up' : `${m.second} s`, m]),
      ['at the end', memory.atEnd],
      ['after warm-up, after a full garbage collection', memory.afterWarmupGc],
      ['at the end, after a full garbage collection', memory.atEndGc],
    ].map(([when, m]) => [
      when,
      fmt(m.rssMiB, 1),
      fmt(m.heapUsedMiB, 1),
      fmt(m.heapTotalMiB, 1),
      fmt(m.externalMiB, 1),
    ]),
  );
  console.log(
    `RSS after a full garbage collection: ${fmt(memory.afterWarmupGc.rssMiB, 1)} MiB after warm-up, ${fmt(memory.atEndGc.rssMiB, 1)} MiB at the end (${memory.rssGrowthAfterGc >= 0 ? '+' : ''}${fmt(100 * memory.rssGrowthAfterGc, 1)}%)`,
  );
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '500' },
      seconds: { type: 'string', default: '60' },
      warmup: { type: 'string', default: '10' },
    },
  });
  const options = {
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
  };
  const valid = (n, min, max) => Number.isInteger(n) && n >= min && n <= max;
  if (
    !valid(options.rate, 1, 100_000) ||
    !valid(options.seconds, 1, MAX_SECONDS) ||
    !valid(options.warmup, 0, MAX_WARMUP_SECONDS)
  ) {
    console.error(
      `usage: node bench/soak.mjs [--rate=1..100000 requests/s] [--seconds=1..${MAX_SECONDS}] [--warmup=0..${MAX_WARMUP_SECONDS} seconds]`,
    );
    process.exit(2);
  }
  await runBenchmark('soak', () => benchSoak(options), report);
}
