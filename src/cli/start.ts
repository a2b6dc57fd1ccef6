/** `gatepass start`: run the listeners until SIGINT or SIGTERM. */
import { type Command, Option } from 'commander';
import { type ListenerName, type RunningGatepass, startGatepass } from '../app/start.js';
import { loadConfig } from '../config/load.js';
import { createServerLogger } from '../observability/logger.js';

/**
 * Return the settings a CLI command in another terminal needs to reach this server's database:
 * the environment variables to repeat, as a command prefix, and the names of secret ones the
 * banner must not print.
 */
function sharedSettings(configFile: string | undefined): { prefix: string; secret: string[] } {
  const shown: string[] = [];
  for (const name of ['GATEPASS_CONFIG', 'GATEPASS_DATA_DIR']) {
    const value = process.env[name];
    if (value) shown.push(`${name}=${JSON.stringify(value)}`);
  }
  if (configFile) shown.push(`GATEPASS_CONFIG=${JSON.stringify(configFile)}`);
  const secret = ['DATABASE_URL', 'GATEPASS_MASTER_KEY'].filter((name) => process.env[name]);
  return { prefix: shown.map((item) => `${item} `).join(''), secret };
}

function banner(running: RunningGatepass, configFile: string | undefined): string {
  const { addresses, context } = running;
  const lines = ['', `Gatepass is running on ${context.databaseLocation}.`];
  if (addresses.staging)
    lines.push(
      `  staging     ${addresses.staging}   token API, JWKS and gateway for staging credentials`,
    );
  if (addresses.production)
    lines.push(`  production  ${addresses.production}   the same for production credentials`);
  if (addresses.admin)
    lines.push(
      `  admin       ${addresses.admin}   admin API, its reference at ${addresses.admin}/admin/docs, /readyz and /metrics`,
      `  dashboard   ${addresses.admin}/dashboard   platform users sign in here, operators at ${addresses.admin}/dashboard/operator/sign-in`,
    );
  lines.push(
    `  modules     ${context.modules
      .all()
      .map((m) => `${m.id} at ${m.prefix}`)
      .join(', ')}`,
  );
  if (addresses.staging) {
    const { prefix, secret } = sharedSettings(configFile);
    lines.push(
      '',
      'Next, in another terminal in this folder: board a platform onto staging and get a token.',
    );
    if (secret.length > 0) {
      lines.push(
        `The CLI opens the database itself, so give it the same ${secret.join(' and ')} as this server.`,
      );
    }
    lines.push(
      `  ${prefix}npx gatepass platforms board "Acme Retail" --modules demo --json > acme.json`,
      `  export CLIENT_ID=$(node -p "require('./acme.json').client_id")`,
      `  export CLIENT_SECRET=$(node -p "require('./acme.json').client_secret")`,
      `  curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials ${addresses.staging}/v1/auth/token`,
      'The README walks through every step, from the first call to going live.',
    );
  }
  return `${lines.join('\n')}\n\n`;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the admin, staging and production listeners')
    .addOption(
      new Option('--only <listener>', 'serve one listener only').choices([
        'admin',
        'staging',
        'production',
      ]),
    )
    .action(async (options: { only?: ListenerName }) => {
      const config = loadConfig(
        program.opts<{ config?: string }>().config
          ? { file: program.opts<{ config: string }>().config }
          : {},
      );
      const log = createServerLogger(config.log.level);
      const running = await startGatepass(config, log, options.only);
      process.stderr.write(banner(running, program.opts<{ config?: string }>().config));
      log.info({ addresses: running.addresses }, 'gatepass started');

      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'gatepass stopping');
        running.close().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error({ err: error }, 'gatepass failed to stop cleanly');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
