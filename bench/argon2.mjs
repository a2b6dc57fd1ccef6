/**
 * argon2id hashes per second on one core, measured directly with @node-rs/argon2 at Gatepass's
 * parameters: `node bench/argon2.mjs [--json]`.
 *
 * Hashes run one after another, so one libuv thread (one core) does the work: 1 s of warm-up,
 * then 5 s measured. Verifying costs the same as hashing, so this rate bounds each core's
 * `user_credentials` sign-ins. The parameters are read from a hash made by Gatepass's own
 * PasswordHasher (dist/services/passwords.js), so the figure follows them if they change.
 */
import { hash } from '@node-rs/argon2';
import { saveResult } from './lib/harness.mjs';

const { PasswordHasher } = await import('../dist/services/passwords.js');

/** Read m, t and p from a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`. */
function parametersOf(phc) {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!match) throw new Error(`Gatepass's password hash is not argon2id v19: ${phc.slice(0, 40)}`);
  return {
    algorithm: 2 /* Argon2id */,
    memoryCost: Number(match[1]),
    timeCost: Number(match[2]),
    parallelism: Number(match[3]),
  };
}

async function hashFor(seconds, options) {
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    await hash(`benchmark password ${count}`, options);
    count++;
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

const options = parametersOf(await new PasswordHasher().hash('benchmark password'));
await hashFor(1, options);
const run = await hashFor(5, options);
const result = {
  parameters: {
    memoryKiB: options.memoryCost,
    iterations: options.timeCost,
    parallelism: options.parallelism,
  },
  hashes: run.count,
  seconds: run.seconds,
  hashesPerSecondPerCore: run.count / run.seconds,
  msPerHash: (run.seconds * 1000) / run.count,
};

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const { memoryKiB, iterations, parallelism } = result.parameters;
  console.log(
    `argon2id m=${memoryKiB} KiB, t=${iterations}, p=${parallelism}: ${result.hashesPerSecondPerCore.toFixed(1)} hashes/s on one core (${result.msPerHash.toFixed(1)} ms each, ${run.count} hashes in ${run.seconds.toFixed(1)} s)`,
  );
  console.log(`results: ${await saveResult('argon2', result)}`);
}
