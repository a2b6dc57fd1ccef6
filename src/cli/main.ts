#!/usr/bin/env node
/** The `gatepass` command. */
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { ApiError } from '../domain/errors.js';
import { registerPlatformCommands } from './platforms.js';
import { registerStartCommand } from './start.js';
import { registerUserCommands } from './users.js';

const program = new Command('gatepass')
  .description('Access layer for API modules: credentials, a JWT token API and a gateway')
  .option(
    '--config <file>',
    'JSON configuration file (default: $GATEPASS_CONFIG, else built-in defaults)',
  )
  .showHelpAfterError();

registerStartCommand(program);
registerPlatformCommands(program);
registerUserCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError || error instanceof ApiError) {
    process.stderr.write(`gatepass: ${error.message}\n`);
    process.exit(error instanceof ApiError && error.status === 404 ? 3 : 2);
  }
  process.stderr.write(`gatepass: ${(error as Error).message}\n`);
  process.exit(1);
}
