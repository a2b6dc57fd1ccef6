/** `gatepass users …`: add platform users. */
import type { Command } from 'commander';
import { ROLES } from '../services/users.js';
import { CLI_ACTOR, withContext } from './local.js';
import { printJson, printLines } from './output.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // A password piped with echo ends with one newline, which is not part of it.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('manage platform users');

  users
    .command('add')
    .description('add a user to a platform; the password is read from standard input')
    .requiredOption('--platform <id>', 'platform id')
    .requiredOption('--email <email>', 'email address, used to sign in')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--password-stdin', 'read the password from standard input')
    .option('--json', 'print JSON')
    .action(async (options: { platform: string; email: string; role: string; json?: boolean }) => {
      if (process.stdin.isTTY) process.stderr.write('Password (then Enter and Ctrl-D): ');
      const password = await readStdin();
      const user = await withContext(program.opts<{ config?: string }>().config, (context) =>
        context.users.add(
          { platformId: options.platform, email: options.email, role: options.role, password },
          CLI_ACTOR,
        ),
      );
      if (options.json) printJson(user);
      else printLines([`Added ${user.email} (${user.id}) as ${user.role} of ${user.platform_id}.`]);
    });
}
