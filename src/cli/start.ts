/** `gatepass start`: run the listeners until SIGINT or SIGTERM. */
import { type Command, Option } from 'commander';
import { type ListenerName, type RunningGatepass, startGatepass } from '../app/start.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';

function banner(running: RunningGatepass): string {
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
    );
  lines.push(
    `  modules     ${context.modules
      .all()
      .map((m) => `${m.id} at ${m.prefix}`)
      .join(', ')}`,
  );
  if (addresses.staging) {
    lines.push(
      '',
      'Next, in another terminal in this folder: board a platform onto staging and get a token.',
      '  npx gatepass platforms board "Acme Retail" --modules demo --json > acme.json',
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
      const log = createLogger(config.log.level);
      const running = await startGatepass(config, log, options.only);
      process.stderr.write(banner(running));
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
