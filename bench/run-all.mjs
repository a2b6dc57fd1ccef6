/**
 * Run every benchmark, one after another, each in its own process: `npm run bench` (builds
 * first), or `node bench/run-all.mjs` after `npm run build`. Prints each benchmark's report
 * as it finishes, then how long each took. Exits with 1 if any benchmark failed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH, fmt, printTable, requireBuild } from './lib/harness.mjs';

const BENCHMARKS = ['startup.mjs', 'token-api.mjs', 'gateway.mjs', 'growth.mjs', 'soak.mjs'];

let current;
let interrupted = false;

function runScript(script) {
  return new Promise((resolve) => {
    current = spawn(process.execPath, [join(BENCH, script)], { stdio: 'inherit' });
    current.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// The running benchmark gets the signal too and stops the processes it started. No further
// benchmark starts.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the running benchmark (PID ${current?.pid})`);
    if (current && current.exitCode === null) current.kill(signal);
  });
}

requireBuild();
const timings = [];
const started = performance.now();
for (const script of BENCHMARKS) {
  if (interrupted) break;
  console.log(`\n## ${script}\n`);
  const scriptStarted = performance.now();
  const code = await runScript(script);
  timings.push([
    script,
    code === 0 ? 'ok' : `failed (exit code ${code})`,
    fmt((performance.now() - scriptStarted) / 1000),
  ]);
}
console.log('');
printTable(
  ['benchmark', 'outcome', 'seconds'],
  [...timings, ['all', '', fmt((performance.now() - started) / 1000)]],
);
process.exitCode = timings.some(([, outcome]) => outcome !== 'ok') ? 1 : 0;
