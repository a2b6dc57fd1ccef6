/**
 * The cost of two settings on the hot paths, measured side by side in one run:
 * `npm run bench:settings` (builds first), or `node bench/settings.mjs` after `npm run build`.
 *
 * One data folder with one platform is served three times in turn, by a fresh server each
 * time, with:
 *
 *   defaults                  log level info: one access-log line per request
 *   log level warn            no access-log lines
 *   warn, no refresh token    also tokens.refreshForClientCredentials false
 *
 * Each server gets the same three loads as the other benchmarks (50 connections, 10 s after a
 * 3 s warm-up): client_credentials with HTTP Basic, and GET /echo/hello through the gateway
 * with a JWT and with client headers.
 */
import { join } from 'node:path';
import { accessToken, gatewayRequests } from './gateway.mjs';
import {
  fmt,
  isMain,
  LOAD,
  makeTempDir,
  printTable,
  runBenchmark,
  runLoad,
  seed,
  startGatepass,
  startUpstream,
  writeConfig,
} from './lib/harness.mjs';

const VARIANTS = [
  { name: 'defaults', env: {}, settings: {} },
  { name: 'log level warn', env: { GATEPASS_LOG_LEVEL: 'warn' }, settings: {} },
  {
    name: 'warn, no refresh token',
    env: { GATEPASS_LOG_LEVEL: 'warn' },
    settings: { tokens: { refreshForClientCredentials: false } },
  },
];

export async function benchSettings() {
  const folder = makeTempDir('settings');
  const dataDir = join(folder, 'data');
  const upstream = await startUpstream(folder);
  const [platform] = (
    await seed({ folder, dataDir, configFile: writeConfig(folder, upstream.url), platforms: 1 })
  ).sample;
  const tokenRequest = {
    method: 'POST',
    path: '/v1/auth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${platform.client_id}:${platform.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  };

  const runs = [];
  for (const variant of VARIANTS) {
    const variantFolder = join(folder, `variant-${runs.length}`);
    const configFile = writeConfig(variantFolder, upstream.url, variant.settings);
    const gatepass = await startGatepass({
      folder: variantFolder,
      dataDir,
      configFile,
      env: variant.env,
    });
    const gateway = gatewayRequests(platform, await accessToken(gatepass.urls.staging, platform));
    const load = (label, request) =>
      runLoad(join(variantFolder, 'loads'), {
        label: `${variant.name}: ${label}`,
        url: gatepass.urls.staging,
        requests: [request],
        ...LOAD,
      });
    runs.push({
      variant: variant.name,
      token: await load('client_credentials', tokenRequest),
      jwt: await load('gateway with a JWT', gateway.jwt),
      headers: await load('gateway with client headers', gateway.headers),
    });
    await gatepass.stop();
  }
  return { runs };
}

function report(results) {
  const [base] = results.runs;
  const cell = (run, key) => {
    const rate = run[key].requestsPerSecond;
    const change = (100 * rate) / base[key].requestsPerSecond - 100;
    return run === base ? fmt(rate) : `${fmt(rate)} (${change >= 0 ? '+' : ''}${fmt(change)}%)`;
  };
  printTable(
    ['settings', 'client_credentials/s', 'gateway JWT/s', 'gateway headers/s'],
    results.runs.map((run) => [
      run.variant,
      cell(run, 'token'),
      cell(run, 'jwt'),
      cell(run, 'headers'),
    ]),
  );
}

if (isMain(import.meta.url)) await runBenchmark('settings', benchSettings, report);
