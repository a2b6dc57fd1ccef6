/**
 * Board platforms for the benchmarks through Gatepass's own services, in one process:
 *
 *   GATEPASS_DATA_DIR=DIR GATEPASS_CONFIG=FILE node bench/seed.mjs --platforms=N \
 *     [--sample=K] [--users=U] [--out=FILE]
 *
 * Each platform is boarded onto staging with every configured module, exactly as
 * `gatepass platforms board` does (one transaction, secrets stored as HMAC digests, audit
 * events written in batches). `--users` adds U users with the role developer to the first
 * sampled platform, for the `user_credentials` grant. The output contains the plaintext
 * credentials of K platforms spread evenly over the range, so that a load can touch old and
 * new rows alike; the secrets of the others are discarded. Needs `npm run build` first.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createContext } from '../dist/app/context.js';
import { loadConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/observability/logger.js';

const { values } = parseArgs({
  options: {
    platforms: { type: 'string' },
    sample: { type: 'string', default: '1' },
    users: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const platforms = Number(values.platforms);
const sample = Number(values.sample);
const users = Number(values.users);
if (!Number.isInteger(platforms) || platforms < 1 || !Number.isInteger(sample) || sample < 1) {
  console.error('usage: node bench/seed.mjs --platforms=N [--sample=K] [--users=U] [--out=FILE]');
  process.exit(2);
}

/** Password of every seeded user; the benchmark signs in with it. */
const PASSWORD = 'benchmark password 0123456789';
const actor = { kind: 'operator', id: 'bench-seed' };

const config = loadConfig({});
const log = createLogger(config.log.level, process.stderr);
const context = await createContext(config, log);
if (!config.databaseUrl) {
  // A benchmark data set need not survive a power cut, so the bulk load skips the fsync of
  // each WAL checkpoint. The server opens the file later with its own settings.
  await sql`PRAGMA synchronous = OFF`.execute(context.store.db);
}
const moduleIds = context.modules.ids();
const step = Math.max(1, Math.floor(platforms / sample));
const sampled = [];
const started = performance.now();
try {
  for (let i = 0; i < platforms; i++) {
    const boarded = await context.platforms.board(`Benchmark platform ${i}`, moduleIds, actor);
    if (i % step === 0 && sampled.length < sample) sampled.push(boarded);
    // The database calls resolve without ever reaching the timers phase of the event loop, so
    // without this the audit recorder's interval would not flush and its buffer would overflow.
    if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
    if (i % 10_000 === 9_999) {
      const seconds = (performance.now() - started) / 1000;
      console.error(`boarded ${i + 1} of ${platforms} platforms in ${seconds.toFixed(1)} s`);
    }
  }
  const boardSeconds = (performance.now() - started) / 1000;

  const created = [];
  const first = sampled[0];
  for (let i = 0; i < users; i++) {
    const email = `bench-user-${i}@example.test`;
    await context.users.add(
      { platformId: first.platform.id, email, role: 'developer', password: PASSWORD },
      actor,
    );
    created.push({ email, password: PASSWORD });
  }

  const output = {
    platforms,
    boardSeconds,
    modules: moduleIds,
    sample: sampled.map((b) => ({
      platform_id: b.platform.id,
      client_id: b.client_id,
      client_secret: b.client_secret,
      module_secrets: Object.fromEntries(
        Object.entries(b.modules).map(([id, secrets]) => [id, secrets.module_secret]),
      ),
    })),
    users: created,
  };
  const text = `${JSON.stringify(output, null, 2)}\n`;
  if (values.out) writeFileSync(values.out, text, { mode: 0o600 });
  else process.stdout.write(text);
  console.error(`boarded ${platforms} platforms in ${boardSeconds.toFixed(1)} s`);
} finally {
  await context.close();
}
