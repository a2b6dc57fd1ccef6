/** `gatepass platforms …`: board, list, show, suspend and resume platforms. */
import type { Command } from 'commander';
import { CLI_ACTOR, withContext } from './local.js';
import { printJson, printLines, printTable } from './output.js';

interface GlobalOptions {
  config?: string;
}

function printBoarding(
  result: Awaited<ReturnType<import('../services/platforms.js').PlatformService['board']>>,
): void {
  const lines = [
    `Boarded ${result.platform.name} (${result.platform.id}) onto ${result.environment}.`,
    'These secrets are shown once. Store them now; Gatepass keeps only their hashes.',
    '',
    `  client_id        ${result.client_id}`,
    `  client_secret    ${result.client_secret}`,
  ];
  for (const [module, secrets] of Object.entries(result.modules)) {
    lines.push(`  ${module}.module_secret    ${secrets.module_secret}`);
    if (secrets.provider_secret)
      lines.push(`  ${module}.provider_secret  ${secrets.provider_secret}`);
  }
  printLines(lines);
}

export function registerPlatformCommands(program: Command): void {
  const platforms = program.command('platforms').description('board and manage partner platforms');
  const globals = () => program.opts<GlobalOptions>();

  platforms
    .command('board')
    .description('board a platform onto staging and print its credentials once')
    .argument('<name>', 'display name of the platform')
    .requiredOption('--modules <ids>', 'comma-separated module ids, such as payouts,identity')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { modules: string; json?: boolean }) => {
      const result = await withContext(globals().config, (context) =>
        context.platforms.board(name, options.modules.split(','), CLI_ACTOR),
      );
      if (options.json) printJson(result);
      else printBoarding(result);
    });

  platforms
    .command('list')
    .description('list platforms')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const rows = await withContext(globals().config, (context) => context.platforms.list());
      if (options.json) printJson(rows);
      else printTable(rows, ['id', 'name', 'status', 'created_at']);
    });

  platforms
    .command('show')
    .description("show a platform's environments, modules, secrets (hints only) and users")
    .argument('<id>', 'platform id')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const details = await withContext(globals().config, (context) => context.platforms.show(id));
      if (options.json) return printJson(details);
      printLines([
        `${details.platform.name} (${details.platform.id}), status ${details.platform.status}`,
        '',
      ]);
      for (const env of details.environments) {
        printLines([
          `${env.environment}: client_id ${env.client_id}, modules ${env.modules.join(', ') || '(none)'}`,
        ]);
        printTable(env.secrets, [
          'id',
          'kind',
          'module_id',
          'hint',
          'created_at',
          'expires_at',
          'revoked_at',
          'last_used_at',
        ]);
        printLines(['']);
      }
      printLines(['users:']);
      printTable(details.users, ['id', 'email', 'role', 'status']);
    });

  for (const action of ['suspend', 'resume'] as const) {
    platforms
      .command(action)
      .description(
        action === 'suspend'
          ? 'suspend a platform: its calls and tokens stop at once'
          : 'resume a suspended platform',
      )
      .argument('<id>', 'platform id')
      .action(async (id: string) => {
        await withContext(globals().config, async (context) => {
          if (action === 'suspend') await context.platforms.suspend(id, CLI_ACTOR);
          else await context.platforms.resume(id, CLI_ACTOR);
        });
        printLines([`Platform ${id} ${action === 'suspend' ? 'suspended' : 'resumed'}.`]);
      });
  }
}
