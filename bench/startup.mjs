/**
 * Start-up benchmark on the embedded database: `npm run bench:startup` (builds first), or
 * `node bench/startup.mjs` after `npm run build`.
 *
 * Each sample spawns `node dist/cli/main.js start` and polls the staging listener every 5 ms
 * until the first request is served with 200. The time runs from just before the spawn, so it
 * includes loading Node.js and the compiled code. Two cases, 7 samples each:
 *
 *   first start   An empty data folder, so the master key, the schema and the first signing
 *                 keys are created. The first request is GET /.well-known/jwks.json.
 *   restart       A data folder with one boarded platform. The first request is a
 *                 client_credentials token request, so it includes the first database reads.
 *
 * For scale, it also times Node.js running an empty script, Node.js only loading the compiled
 * modules that `gatepass start` loads, and Node.js loading pg and ioredis alone, which
 * `gatepass start` loads even on SQLite without Redis.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  fmt,
  freePort,
  HOST,
  isMain,
  makeTempDir,
  measureOnIdleCores,
  printTable,
  ROOT,
  runBenchmark,
  seed,
  startNode,
  tail,
  writeConfig,
} from './lib/harness.mjs';

const SAMPLES = 7;
const POLL_MS = 5;
const TIMEOUT_MS = 30_000;

/**
 * Spawn Gatepass and return the milliseconds until `request` first gets a 200. The process
 * is stopped by PID before this returns.
 */
async function timeToFirstRequest(folder, dataDir, configFile, request) {
  const ports = {
    admin: await freePort(),
    staging: await freePort(),
    production: await freePort(),
  };
  const staging = `http://${HOST}:${ports.staging}`;
  const started = performance.now();
  const gatepass = startNode('gatepass', [join(ROOT, 'dist/cli/main.js'), 'start'], {
    env: {
      GATEPASS_HOST: HOST,
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_CONFIG: configFile,
      GATEPASS_ADMIN_PORT: String(ports.admin),
      GATEPASS_STAGING_PORT: String(ports.staging),
      GATEPASS_PRODUCTION_PORT: String(ports.production),
    },
    logFile: join(folder, 'startup.log'),
  });
  try {
    for (;;) {
      if (gatepass.exited)
        throw new Error(`gatepass exited before serving a request:\n${tail(gatepass.logFile)}`);
      let status;
      try {
        const response = await fetch(`${staging}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(2_000),
        });
        await response.arrayBuffer();
        status = response.status;
      } catch {
        // Not listening yet.
      }
      if (status === 200) return performance.now() - started;
      if (status !== undefined)
        throw new Error(`${request.method} ${request.path} returned status ${status}`);
      if (performance.now() - started > TIMEOUT_MS)
        throw new Error(`no request served within ${TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await gatepass.stop();
  }
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samples,
    medianMs: sorted[Math.floor(sorted.length / 2)],
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
  };
}

/** Take SAMPLES timings of `sampleOnce` on idle cores (see measureOnIdleCores). */
function sampleCase(label, sampleOnce) {
  return measureOnIdleCores(label, async () => {
    const samples = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(await sampleOnce());
    return summarize(samples);
  });
}

/** Milliseconds from spawning `node ARGS` until it exits. */
async function timeNode(args) {
  const started = performance.now();
  await new Promise((resolve) => spawn(process.execPath, args).on('exit', resolve));
  return performance.now() - started;
}

export async function benchStartup() {
  const folder = makeTempDir('startup');
  // No request here reaches the module's upstream, so nothing listens at this address.
  const configFile = writeConfig(folder, `http://${HOST}:9`);

  const jwks = { method: 'GET', path: '/.well-known/jwks.json' };
  let emptyFolders = 0;
  const firstStart = await sampleCase('first start', () =>
    timeToFirstRequest(folder, join(folder, `empty-${emptyFolders++}`), configFile, jwks),
  );

  const dataDir = join(folder, 'boarded');
  const [platform] = (await seed({ folder, dataDir, configFile, platforms: 1 })).sample;
  const token = {
    method: 'POST',
    path: '/v1/auth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${platform.client_id}:${platform.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  };
  const restart = await sampleCase('restart', () =>
    timeToFirstRequest(folder, dataDir, configFile, token),
  );

  // For scale: Node.js running an empty script, and Node.js loading the modules that
  // `gatepass start` loads (dist/cli/main.js imports these two and runs the command).
  const importCode = ['cli/start.js', 'cli/operations.js']
    .map((file) => `await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', file)).href)});`)
    .join(' ');
  // pg and ioredis are imported at start even on SQLite without Redis.
  const importPackage = (name) => ['--input-type=module', '-e', `await import('${name}');`];
  return {
    firstStart,
    restart,
    nodeAlone: await sampleCase('node -e 0', () => timeNode(['-e', '0'])),
    loadModules: await sampleCase('loading the modules', () =>
      timeNode(['--input-type=module', '-e', importCode]),
    ),
    loadPg: await sampleCase('loading pg', () => timeNode(importPackage('pg'))),
    loadIoredis: await sampleCase('loading ioredis', () => timeNode(importPackage('ioredis'))),
  };
}

function report(results) {
  const row = (label, r) => [label, fmt(r.medianMs), fmt(r.minMs), fmt(r.maxMs)];
  printTable(
    ['case', 'median ms', 'min ms', 'max ms'],
    [
      row('first start, empty data folder, GET /.well-known/jwks.json', results.firstStart),
      row('restart, one platform, client_credentials token request', results.restart),
      row('node -e 0 (Node.js alone, for scale)', results.nodeAlone),
      row('Node.js loading the modules of gatepass start, nothing run', results.loadModules),
      row('Node.js loading pg alone', results.loadPg),
      row('Node.js loading ioredis alone', results.loadIoredis),
    ],
  );
}

if (isMain(import.meta.url)) await runBenchmark('startup', benchStartup, report);
