/**
 * CLI commands generated from the admin operations: `gatepass <group> <action>`. Each runs on
 * the local database through the same services as the admin API, or, with `--url`, calls a
 * remote admin API with the operator key in GATEPASS_OPERATOR_KEY.
 */
import { type Command, Option } from 'commander';
import { OPERATIONS, type Operation } from '../admin-api/operations/index.js';
import { type CliOption, pathParams } from '../admin-api/operations/types.js';
import { ApiError, type ApiErrorCode } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { withContext } from './local.js';
import { printJson, printLines, printTable } from './output.js';

interface GlobalOptions {
  config?: string;
  url?: string;
  operator?: string;
}

const kebab = (field: string) => field.replaceAll('_', '-');
const camel = (field: string) => field.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // A value piped with echo ends with one newline, which is not part of it.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function buildInput(
  operation: Operation,
  args: string[],
  options: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = {};
  operation.cli.args?.forEach((arg, index) => {
    input[arg.field] = args[index];
  });
  for (const [field, option] of Object.entries(operation.cli.options ?? {})) {
    // Commander stores an option under the name of its flag, which may differ from the field.
    const value = options[optionFor(field, option).attributeName()];
    if (value === undefined) continue;
    input[field] = operation.cli.lists?.includes(field)
      ? String(value)
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== '')
      : value;
  }
  if (operation.cli.stdin) {
    if (!options[`${camel(operation.cli.stdin)}Stdin`]) {
      throw new ApiError(
        'invalid_request',
        `Pass --${kebab(operation.cli.stdin)}-stdin and send the ${operation.cli.stdin} on standard input.`,
      );
    }
    if (process.stdin.isTTY)
      process.stderr.write(`${operation.cli.stdin} (then Enter and Ctrl-D): `);
    input[operation.cli.stdin] = await readStdin();
  }
  return input;
}

async function runRemote(
  url: string,
  operation: Operation,
  input: Record<string, unknown>,
): Promise<unknown> {
  const key = process.env.GATEPASS_OPERATOR_KEY;
  if (!key)
    throw new ApiError(
      'missing_credentials',
      'Set GATEPASS_OPERATOR_KEY to an operator key to use --url. Create one on the server with: gatepass operators create-key NAME',
    );
  const inPath = pathParams(operation.path);
  const path = operation.path.replace(/:([a-z_]+)/g, (_m, name: string) =>
    encodeURIComponent(String(input[name] ?? '')),
  );
  const rest = Object.fromEntries(
    Object.entries(input).filter(([name, value]) => !inPath.includes(name) && value !== undefined),
  );
  const target = new URL(path, url);
  const init: RequestInit = {
    method: operation.method,
    headers: { authorization: `Bearer ${key}` },
  };
  if (operation.method === 'GET' || operation.method === 'DELETE') {
    for (const [name, value] of Object.entries(rest)) target.searchParams.set(name, String(value));
  } else {
    init.body = JSON.stringify(rest);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  let response: Response;
  try {
    response = await fetch(target, init);
  } catch (error) {
    throw new Error(
      `Cannot reach the admin API at ${url}: ${(error as Error).message}. Check --url.`,
    );
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    throw new ApiError(
      (body.code as ApiErrorCode) ?? 'internal_error',
      String(body.message ?? `The admin API answered ${response.status}.`),
    );
  }
  return body;
}

function printHuman(operation: Operation, result: unknown): void {
  if (operation.revealsSecrets)
    printLines([
      'Secrets below are shown once. Store them now; Gatepass keeps only their hashes.',
      '',
    ]);
  if (operation.cli.summary) printLines(operation.cli.summary(result));
  const table = operation.cli.table;
  if (table) {
    const rows = table.rows ? table.rows(result) : result;
    if (Array.isArray(rows)) {
      printTable(rows as object[], table.columns as never[]);
      return;
    }
  }
  const lines: string[] = [];
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value))
        walk(inner, prefix ? `${prefix}.${key}` : key);
    } else {
      lines.push(`${prefix.padEnd(32)} ${Array.isArray(value) ? value.join(', ') : String(value)}`);
    }
  };
  walk(result, '');
  printLines(lines);
}

function optionFor(field: string, option: CliOption): Option {
  return new Option(option.flag ?? `--${kebab(field)} <${kebab(field)}>`, option.description);
}

function register(program: Command, groups: Map<string, Command>, operation: Operation): void {
  const [groupName = '', action = ''] = operation.name.split('.');
  let group = groups.get(groupName);
  if (!group) {
    group = program.command(groupName).description(`${groupName} commands`);
    groups.set(groupName, group);
  }
  const command = group.command(action).description(operation.summary);
  for (const arg of operation.cli.args ?? [])
    command.argument(`<${kebab(arg.field)}>`, arg.description);
  const required = new Set(
    (operation.input.shape ? Object.entries(operation.input.shape) : [])
      .filter(([, schema]) => !(schema as { isOptional(): boolean }).isOptional())
      .map(([name]) => name),
  );
  for (const [field, option] of Object.entries(operation.cli.options ?? {})) {
    const built = optionFor(field, option);
    if (required.has(field)) built.makeOptionMandatory();
    command.addOption(built);
  }
  if (operation.cli.stdin)
    command.option(
      `--${kebab(operation.cli.stdin)}-stdin`,
      `read the ${operation.cli.stdin} from standard input`,
    );
  command.option('--json', 'print JSON');

  command.action(async (...values: unknown[]) => {
    const args = values.slice(0, operation.cli.args?.length ?? 0) as string[];
    const options = command.opts<Record<string, unknown>>();
    const globals = program.opts<GlobalOptions>();
    const input = await buildInput(operation, args, options);
    let result: unknown;
    if (globals.url) {
      result = await runRemote(globals.url, operation, input);
    } else {
      const parsed = operation.input.safeParse(input);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.map(String).map(kebab).join('.') || 'input'}: ${issue.message}`,
        );
        throw new ApiError('invalid_request', `Invalid input: ${problems.join('; ')}.`);
      }
      const actor: Actor = {
        kind: 'operator',
        id: globals.operator ?? `local:${process.env.USER ?? 'operator'}`,
      };
      result = await withContext(globals.config, (context) =>
        operation.run(context, parsed.data, actor),
      );
    }
    if (options.json) printJson(result);
    else printHuman(operation, result);
    if (operation.name === 'audit.verify' && (result as { ok?: boolean }).ok === false)
      process.exitCode = 4;
  });
}

/** Add every admin operation as a command. */
export function registerOperationCommands(program: Command): void {
  const groups = new Map<string, Command>();
  for (const operation of OPERATIONS) register(program, groups, operation);
}
