/**
 * One autocannon load, run in its own process so that the load generator is not the process
 * being measured: `node bench/load.mjs SPEC.json RESULT.json`. The benchmarks write SPEC and
 * read RESULT; run by hand without RESULT, it prints the result.
 *
 * SPEC fields:
 *   label            name shown in errors
 *   url              base URL, always on 127.0.0.1
 *   requests         [{ method, path, headers, body }], cycled through by every connection
 *   connections      concurrent connections (default 50)
 *   warmupSeconds    load before the measured run, not counted (default 3)
 *   pauseSeconds     idle time between the warm-up and the measured run (default 1), so that
 *                    requests the server still works on for closed warm-up connections do
 *                    not count against the measured run
 *   durationSeconds  measured run (default 10)
 *   overallRate      requests per second over all connections; unset for the maximum rate
 *   serverPid        process id of the server under load; when set, RESULT also gives the
 *                    server's CPU time per 2xx response of the measured run, from /proc
 *   refreshPool      { mint: REQUEST, warmup: N, measured: N }: mint N refresh tokens with the
 *                    `mint` request (client_credentials), then send each in one
 *                    `grant_type=refresh_token` request of `requests[0]`; the measured run
 *                    ends when its tokens are used up, not after `durationSeconds`
 *
 * RESULT: requests per second (responses with a 2xx status per second of the measured run),
 * latency percentiles of 2xx responses in milliseconds with sub-millisecond precision, and the
 * count of failed requests (non-2xx responses, connection errors and timeouts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

/** Response times kept per maximum-rate run: 80 MB, far more responses than two cores send in 10 s. */
const MAX_SAMPLES = 10_000_000;

const pause = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/**
 * Run autocannon once and return its counts with the response time of every 2xx response.
 * autocannon's own histogram keeps whole milliseconds only, too coarse for a 1 ms target, so
 * the times are taken from its `response` event, which reports them as fractional ms.
 */
async function cannon(options, capacity = MAX_SAMPLES) {
  const times = new Float64Array(capacity);
  let count = 0;
  const instance = autocannon({ timeout: 10, ...options });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300 && count < capacity) times[count++] = responseTime;
  });
  const result = await instance;
  const statusCodes = {};
  for (const [code, { count: n }] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = n;
  }
  return {
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    connections: result.connections,
    durationSeconds: result.duration,
    requestsPerSecond: result['2xx'] / result.duration,
    times: times.slice(0, count),
  };
}

/**
 * Run `overallRate` requests per second as one autocannon instance per connection, started
 * 1000/connections ms apart. autocannon paces a connection by sending its whole quota for
 * each second back to back when that second starts. The connections of one instance start
 * together, so a single instance sends the load in one burst per second, and the latencies
 * measure the burst's queue. Staggered instances spread the bursts over the second.
 */
async function pacedCannon(options) {
  const { connections, overallRate, duration, ...shared } = options;
  const runs = [];
  for (let i = 0; i < connections; i++) {
    const rate = Math.floor(overallRate / connections) + (i < overallRate % connections ? 1 : 0);
    if (rate === 0) continue;
    if (i > 0) await pause(1 / connections);
    const capacity = Math.ceil(rate * (duration + 1) * 1.5);
    runs.push(cannon({ ...shared, duration, connections: 1, connectionRate: rate }, capacity));
  }
  const results = await Promise.all(runs);
  const statusCodes = {};
  for (const result of results) {
    for (const [code, n] of Object.entries(result.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + n;
  }
  const sum = (field) => results.reduce((total, result) => total + result[field], 0);
  const times = new Float64Array(results.reduce((n, result) => n + result.times.length, 0));
  let offset = 0;
  for (const result of results) {
    times.set(result.times, offset);
    offset += result.times.length;
  }
  return {
    ok: sum('ok'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    statusCodes,
    connections: results.length,
    durationSeconds: Math.max(...results.map((r) => r.durationSeconds)),
    // Each instance ran for `duration` seconds, so their rates add up.
    requestsPerSecond: sum('requestsPerSecond'),
    times,
  };
}

function summarize(spec, run) {
  const times = run.times.sort();
  return {
    label: spec.label,
    connections: run.connections,
    overallRate: spec.overallRate ?? null,
    durationSeconds: run.durationSeconds,
    requests: run.ok + run.non2xx,
    requestsPerSecond: run.requestsPerSecond,
    failed: run.non2xx + run.errors + run.timeouts,
    non2xx: run.non2xx,
    errors: run.errors,
    timeouts: run.timeouts,
    statusCodes: run.statusCodes,
    latency: {
      mean: times.length ? times.reduce((sum, t) => sum + t, 0) / times.length : Number.NaN,
      p50: percentile(times, 50),
      p90: percentile(times, 90),
      p99: percentile(times, 99),
      p999: percentile(times, 99.9),
      max: times.length ? times[times.length - 1] : Number.NaN,
    },
  };
}

function load(spec, duration) {
  const options = {
    url: spec.url,
    connections: spec.connections ?? 50,
    requests: spec.requests,
    duration,
  };
  if (spec.overallRate) return pacedCannon({ ...options, overallRate: spec.overallRate });
  return cannon(options);
}

/** USER_HZ, the unit of /proc/PID/stat's times, is 100 on every Linux architecture Node.js runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user and system) used so far by process `pid`, in microseconds, or undefined. */
function cpuMicros(pid) {
  if (!pid) return undefined;
  try {
    // Fields 14 and 15 of /proc/PID/stat, counted after the parenthesized command name.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Run `measured` and add the server's CPU time per 2xx response to its summary. */
async function withServerCpu(spec, measured) {
  const before = cpuMicros(spec.serverPid);
  const result = await measured();
  const after = cpuMicros(spec.serverPid);
  result.serverCpuMicrosPerRequest =
    before === undefined || after === undefined || result.requests === 0
      ? null
      : (after - before) / (result.requests - result.non2xx);
  return result;
}

async function runPlain(spec) {
  const warmup = spec.warmupSeconds ?? 3;
  if (warmup > 0) {
    await load(spec, warmup);
    await pause(spec.pauseSeconds ?? 1);
  }
  return withServerCpu(spec, async () =>
    summarize(spec, await load(spec, spec.durationSeconds ?? 10)),
  );
}

/** Mint `count` refresh tokens with client_credentials requests over all connections. */
async function mintRefreshTokens(spec, count) {
  const tokens = [];
  const mint = {
    ...spec.refreshPool.mint,
    onResponse: (status, body) => {
      const token = status === 200 ? JSON.parse(body).refresh_token : undefined;
      if (typeof token === 'string') tokens.push(token);
    },
  };
  const run = await cannon(
    { url: spec.url, connections: spec.connections ?? 50, amount: count, requests: [mint] },
    0,
  );
  if (tokens.length !== count) {
    throw new Error(
      `minting refresh tokens: ${tokens.length} of ${count} requests returned one (${run.non2xx} non-2xx, ${run.errors} errors)`,
    );
  }
  return tokens;
}

/**
 * Send every token of `tokens` once as a refresh_token grant. A token is taken when autocannon
 * builds a request, which can happen once more than it sends per connection at the end, so
 * the pool keeps a few spare tokens rather than ever send one twice.
 */
function refreshRun(spec, tokens, amount) {
  const [template] = spec.requests;
  let next = 0;
  const request = {
    ...template,
    setupRequest: (request) => {
      const token = tokens[next++];
      if (token === undefined) throw new Error('the refresh-token pool is used up');
      return {
        ...request,
        body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`,
      };
    },
  };
  return cannon({
    url: spec.url,
    connections: spec.connections ?? 50,
    amount,
    requests: [request],
  });
}

async function runRefresh(spec) {
  const connections = spec.connections ?? 50;
  const spare = connections * 2;
  const { warmup, measured } = spec.refreshPool;
  const started = performance.now();
  const tokens = await mintRefreshTokens(spec, warmup + measured + 2 * spare);
  const mintSeconds = (performance.now() - started) / 1000;
  await refreshRun(spec, tokens.slice(0, warmup + spare), warmup);
  await pause(spec.pauseSeconds ?? 1);
  const result = await withServerCpu(spec, async () =>
    summarize(spec, await refreshRun(spec, tokens.slice(warmup + spare), measured)),
  );
  return { ...result, mintSeconds, poolSize: measured };
}

const [specFile, resultFile] = process.argv.slice(2);
if (!specFile) {
  console.error('usage: node bench/load.mjs SPEC.json [RESULT.json]');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const target = new URL(spec.url);
if (target.hostname !== '127.0.0.1') {
  console.error(`bench/load.mjs sends load to 127.0.0.1 only; the spec names ${target.hostname}`);
  process.exit(2);
}
const result = spec.refreshPool ? await runRefresh(spec) : await runPlain(spec);
const cpu = process.cpuUsage();
result.loadCpuSeconds = (cpu.user + cpu.system) / 1e6;
const text = `${JSON.stringify(result, null, 2)}\n`;
if (resultFile) writeFileSync(resultFile, text);
else process.stdout.write(text);
