#!/usr/bin/env node
/** The `gatepass` command. */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.js';
import { ApiError } from '../domain/errors.js';
import { registerOperationCommands } from './operations.js';
import { registerStartCommand } from './start.js';

// A reader that stops early, such as `gatepass audit list | head`, closes the pipe. The rest of
// the output has nowhere to go, so the command ends quietly instead of with an EPIPE stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command('gatepass')
  .description('Access layer for API modules: credentials, a JWT token API and a gateway')
  .option(
    '--config <file>',
    'JSON configuration file (default: $GATEPASS_CONFIG, else built-in defaults)',
  )
  .option(
    '--url <url>',
    'run the command against this admin API, such as http://127.0.0.1:8080, with the operator key in GATEPASS_OPERATOR_KEY',
  )
  .option(
    '--operator <name>',
    'who the audit log names for commands run on the local database (default: local:$USER)',
  )
  .addHelpText(
    'after',
    '\nExit codes: 0 success; 1 unexpected failure, such as an unreachable admin API; 2 invalid\ninput, configuration or credentials, or a conflict; 3 not found; 4 audit verify found an\naltered or missing row.',
  )
  .showHelpAfterError()
  // Commander throws instead of exiting, so that a usage error gets exit code 2 like other invalid
  // input. Subcommands registered below inherit this.
  .exitOverride();

registerStartCommand(program);
registerOperationCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its message, or the help or version that was asked for.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError || error instanceof ApiError) {
    process.stderr.write(`gatepass: ${error.message}\n`);
    process.exit(error instanceof ApiError && error.status === 404 ? 3 : 2);
  }
  process.stderr.write(`gatepass: ${(error as Error).message}\n`);
  process.exit(1);
}
