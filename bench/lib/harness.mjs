/**
 * Shared machinery of the benchmarks: free ports on 127.0.0.1, temporary folders, child
 * processes stopped by PID, the built Gatepass server, seeding, autocannon runs in a separate
 * process, and resident memory read from /proc. Every process started here is stopped by
 * `stopAll`, which each benchmark calls in a `finally` block and on SIGINT or SIGTERM.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  coreSpeedProbeMs,
  ownAndReapedTicks,
  processTicks,
  systemTicks,
  waitForQuiet,
} from './cpu.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH = join(ROOT, 'bench');
export const HOST = '127.0.0.1';

/** The load of every throughput figure: 50 connections, 10 s measured after a 3 s warm-up. */
export const LOAD = { connections: 50, durationSeconds: 10, warmupSeconds: 3 };

/** Rate limits far above anything two cores can serve, so the figures measure throughput. */
export const UNLIMITED = 1_000_000_000;

const children = new Set();
const folders = new Set();

/** Fail early with the command to run when the compiled server is missing. */
export function requireBuild() {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    throw new Error(
      'dist/cli/main.js is missing: run "npm run build" first, or start the benchmark with its npm script, which builds.',
    );
  }
}

/** Return a port that was free on 127.0.0.1 a moment ago, picked by the OS. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Create a temporary folder that `stopAll` deletes. */
export function makeTempDir(name) {
  const folder = mkdtempSync(join(tmpdir(), `gatepass-bench-${name}-`));
  folders.add(folder);
  return folder;
}

/**
 * Start `node ARGS` with stdout and stderr appended to `logFile`. Returns the child, whose
 * `pid` is the process itself (no shell in between), and `stop()`, which sends SIGTERM and,
 * after `graceMs`, SIGKILL.
 */
export function startNode(name, args, { env = {}, logFile, cwd = ROOT } = {}) {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited = false;
  const exit = new Promise((resolveExit) => {
    child.on('exit', (code, signal) => {
      exited = true;
      children.delete(handle);
      resolveExit({ code, signal });
    });
  });
  const handle = {
    name,
    child,
    pid: child.pid,
    logFile,
    exit,
    get exited() {
      return exited;
    },
    async stop(graceMs = 10_000) {
      if (exited) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };
  children.add(handle);
  return handle;
}

/** Return the last `lines` lines of a log file, for error messages. */
export function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Poll `url` until it responds with any HTTP status. Throws when `processHandle` exits first or
 * when `timeoutMs` passes.
 */
export async function waitForHttp(
  url,
  processHandle,
  { timeoutMs = 30_000, intervalMs = 20 } = {},
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (processHandle?.exited) {
      throw new Error(
        `${processHandle.name} exited before ${url} responded:\n${tail(processHandle.logFile)}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return response.status;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${url} did not respond within ${timeoutMs} ms:\n${tail(processHandle?.logFile)}`,
      );
    }
    await new Promise((wake) => setTimeout(wake, intervalMs));
  }
}

/** Stop every child process still running, by PID, and delete every temporary folder. */
export async function stopAll() {
  await Promise.all([...children].map((handle) => handle.stop()));
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  folders.clear();
}

/** Stop the children and delete the folders when the benchmark is interrupted or crashes. */
export function stopOnSignals() {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the processes this benchmark started`);
      stopAll().finally(() => process.exit(130));
    });
  }
  // A crash skips the `finally` blocks, so the children get SIGTERM and the folders go here,
  // with the synchronous calls an exit handler allows.
  process.once('exit', () => {
    for (const handle of children) handle.child.kill('SIGTERM');
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });
}

/** Resident memory of a process, in MiB, from VmRSS in /proc/PID/status (Linux only). */
export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(match[1]) / 1024;
}

/** Merge `override` into `base`: plain objects key by key, anything else replaced. */
function mergeSettings(base, override) {
  const merged = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const plain = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
    merged[key] = plain(value) && plain(base[key]) ? mergeSettings(base[key], value) : value;
  }
  return merged;
}

/**
 * Write the benchmark configuration file: one module `echo` at `/echo` whose upstream is
 * `upstreamUrl` in both environments, and rate limits raised out of the way. `settings` and
 * then the JSON in the environment variable GATEPASS_BENCH_CONFIG, if set, are merged over it,
 * to measure a setting such as `{"tokens":{"refreshForClientCredentials":false}}`.
 */
export function writeConfig(folder, upstreamUrl, settings = {}) {
  const config = {
    modules: [
      {
        id: 'echo',
        name: 'Benchmark upstream',
        prefix: '/echo',
        upstreams: { staging: upstreamUrl, production: upstreamUrl },
        requiresProviderSecret: false,
      },
    ],
    rateLimits: {
      gatewayPerMinute: UNLIMITED,
      tokenPerClientPerMinute: UNLIMITED,
      tokenPerAddressPerMinute: UNLIMITED,
      // Concurrent sign-ins of one user count as failures until their password is checked, so
      // 50 connections signing in as one user would otherwise lock it out.
      signInFailuresBeforeLockout: UNLIMITED,
    },
  };
  const extra = process.env.GATEPASS_BENCH_CONFIG;
  let override = {};
  if (extra) {
    try {
      override = JSON.parse(extra);
    } catch (error) {
      throw new Error(`GATEPASS_BENCH_CONFIG is not valid JSON: ${error.message}`);
    }
  }
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'gatepass.json');
  const merged = mergeSettings(mergeSettings(config, settings), override);
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  return file;
}

/** Start the minimal node:http upstream (`bench/upstream.mjs`) on a free port. */
export async function startUpstream(folder) {
  const port = await freePort();
  const handle = startNode('upstream', [join(BENCH, 'upstream.mjs'), String(port)], {
    logFile: join(folder, 'upstream.log'),
  });
  const url = `http://${HOST}:${port}`;
  await waitForHttp(`${url}/ready`, handle);
  return { ...handle, url };
}

/**
 * Start `node dist/cli/main.js start` on free ports with `dataDir` and `configFile`. Its JSON
 * log lines go to `gatepass.log` in `folder`, as a deployment would write them to a file.
 * `nodeArgs`, such as `--cpu-prof`, go to node before the script.
 */
export async function startGatepass({
  folder,
  dataDir,
  configFile,
  env = {},
  name = 'gatepass',
  nodeArgs = [],
}) {
  const ports = {
    admin: await freePort(),
    staging: await freePort(),
    production: await freePort(),
  };
  const started = performance.now();
  const handle = startNode(name, [...nodeArgs, join(ROOT, 'dist/cli/main.js'), 'start'], {
    env: {
      GATEPASS_HOST: HOST,
      GATEPASS_DATA_DIR: dataDir,
      GATEPASS_CONFIG: configFile,
      GATEPASS_ADMIN_PORT: String(ports.admin),
      GATEPASS_STAGING_PORT: String(ports.staging),
      GATEPASS_PRODUCTION_PORT: String(ports.production),
      ...env,
    },
    logFile: join(folder, `${name}.log`),
  });
  const urls = {
    admin: `http://${HOST}:${ports.admin}`,
    staging: `http://${HOST}:${ports.staging}`,
    production: `http://${HOST}:${ports.production}`,
  };
  await waitForHttp(`${urls.staging}/.well-known/jwks.json`, handle, { intervalMs: 5 });
  const readyMs = performance.now() - started;
  await waitForHttp(`${urls.admin}/readyz`, handle);
  return { ...handle, urls, readyMs };
}

/**
 * Board `platforms` platforms with the `echo` module into `dataDir` through Gatepass's own
 * services (`bench/seed.mjs`, in a child process), and add `users` users to the first sampled
 * platform. Returns the credentials of `sample` platforms spread over the whole range.
 */
export async function seed({ folder, dataDir, configFile, platforms, sample = 1, users = 0 }) {
  const out = join(folder, `seed-${platforms}.json`);
  const handle = startNode(
    'seed',
    [
      join(BENCH, 'seed.mjs'),
      `--platforms=${platforms}`,
      `--sample=${sample}`,
      `--users=${users}`,
      `--out=${out}`,
    ],
    {
      env: { GATEPASS_DATA_DIR: dataDir, GATEPASS_CONFIG: configFile, GATEPASS_LOG_LEVEL: 'warn' },
      logFile: join(folder, 'seed.log'),
    },
  );
  const { code } = await handle.exit;
  if (code !== 0)
    throw new Error(`bench/seed.mjs failed with exit code ${code}:\n${tail(handle.logFile)}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

/**
 * CPU ticks used so far by this process, its children that have exited (the kernel adds them
 * to this process once Node.js reaps them), and its children still running.
 */
function benchmarkTicks() {
  let ticks = ownAndReapedTicks();
  for (const handle of children) ticks += processTicks(handle.pid) ?? 0;
  return ticks;
}

/** Share of all cores' time that processes outside this benchmark may use during a measurement. */
const OTHER_CPU_LIMIT_PERCENT = 5;
/** Runs of one measurement at most, when other work shares the cores. */
const ATTEMPTS = 3;

/** Run `work` once and measure the share of the cores that other processes used meanwhile. */
async function measureOnce(work) {
  const systemBefore = systemTicks();
  const ticksBefore = benchmarkTicks();
  const result = await work();
  const systemAfter = systemTicks();
  const ours = benchmarkTicks() - ticksBefore;
  const other = systemAfter.busy - systemBefore.busy - ours;
  const otherCpuPercent = Math.max(0, (100 * other) / (systemAfter.total - systemBefore.total));
  return { ...result, otherCpuPercent };
}

/**
 * Run the measurement `work` (returning an object) and add `otherCpuPercent`: the share of all
 * cores' time, over the run, that processes outside this benchmark used. Above 5%, other work
 * shared the cores and the figures are low, so `work` runs again once the cores are idle
 * (waiting at most a minute), up to `attempts` runs in all (3 unless set). Returns the run with the least other
 * work, with `attempts`, and warns when even that one exceeded 5%.
 */
export async function measureOnIdleCores(label, work, { attempts = ATTEMPTS } = {}) {
  let best;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = { ...(await measureOnce(work)), attempts: attempt };
    if (!best || result.otherCpuPercent < best.otherCpuPercent) best = result;
    if (result.otherCpuPercent <= OTHER_CPU_LIMIT_PERCENT) break;
    console.warn(
      `"${label}": other processes used ${fmt(result.otherCpuPercent)}% of the cores (run ${attempt} of at most ${attempts})`,
    );
    if (attempt < attempts) await waitForQuiet({ maxWaitSeconds: 60 });
  }
  if (best.otherCpuPercent > OTHER_CPU_LIMIT_PERCENT) {
    console.warn(
      `warning: "${label}" kept ${fmt(best.otherCpuPercent)}% of other work on the cores; its figures are low`,
    );
  }
  return best;
}

/** Run bench/load.mjs once and return its result. */
async function runLoadProcess(folder, spec) {
  const specFile = join(folder, `load-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const resultFile = `${specFile}.result.json`;
  writeFileSync(specFile, JSON.stringify(spec));
  const handle = startNode('load', [join(BENCH, 'load.mjs'), specFile, resultFile], {
    logFile: join(folder, 'load.log'),
  });
  const { code } = await handle.exit;
  if (code !== 0 || !existsSync(resultFile)) {
    throw new Error(
      `bench/load.mjs failed on ${spec.label ?? spec.url} (exit code ${code}):\n${tail(handle.logFile)}`,
    );
  }
  return JSON.parse(readFileSync(resultFile, 'utf8'));
}

/**
 * Run one autocannon load in a separate process (`bench/load.mjs`), so that the load
 * generator is not the process being measured, on idle cores as `measureOnIdleCores`
 * describes. `spec` is described in load.mjs.
 */
export async function runLoad(folder, spec, options = {}) {
  await mkdir(folder, { recursive: true });
  return measureOnIdleCores(spec.label ?? spec.url, () => runLoadProcess(folder, spec), options);
}

/** Return the facts of this machine that every figure depends on. */
export function machine() {
  return {
    node: process.version,
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Write `result` to `bench/results/NAME.json` (ignored by git) and return the path. */
export async function saveResult(name, result) {
  const folder = join(BENCH, 'results');
  await mkdir(folder, { recursive: true });
  const file = join(folder, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine: machine(), ...result }, null, 2)}\n`,
  );
  return file;
}

/** Return whether the module at `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl) {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/**
 * Run one benchmark as a script. Check the build, wait up to two minutes for the cores to be
 * idle (other work on them lowers every figure) and take a core speed reading. Then run
 * `work`, print `report` and save the results. A `finally` block stops every process and
 * deletes every folder, also when `work` throws.
 */
export async function runBenchmark(name, work, report) {
  requireBuild();
  stopOnSignals();
  const busyBeforePercent = await waitForQuiet();
  const speedProbeMs = coreSpeedProbeMs();
  console.log(
    `${name}: ${cpus().length} cores, node ${process.version}, cores ${fmt(busyBeforePercent)}% busy before the run, speed probe ${fmt(speedProbeMs)} ms`,
  );
  if (busyBeforePercent > 10) {
    console.warn(
      'warning: the cores did not become idle within two minutes; the figures will be low',
    );
  }
  try {
    const results = await work();
    report(results);
    const file = await saveResult(name, { busyBeforePercent, speedProbeMs, ...results });
    console.log(`results: ${file}`);
  } finally {
    await stopAll();
  }
}

/** Format a number for a table: thousands separators, `digits` decimals. */
export function fmt(value, digits = 0) {
  if (value === undefined || value === null || Number.isNaN(value)) return 'n/a';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Print a Markdown table of `rows` (arrays of cells) under `header`. */
export function printTable(header, rows) {
  const lines = [header, header.map(() => '---'), ...rows].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  console.log(lines.join('\n'));
}

/**
 * Return one table row of a load result: requests/s, p50 and p99 latency in ms, failed
 * requests, and the server's CPU time per response in µs where it was measured.
 */
export function loadCells(result) {
  return [
    fmt(result.requestsPerSecond),
    fmt(result.latency.p50, 2),
    fmt(result.latency.p99, 2),
    fmt(result.failed),
    fmt(result.serverCpuMicrosPerRequest),
  ];
}
