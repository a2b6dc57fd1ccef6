/**
 * An operator action, declared once. The admin API serves it as a route, the CLI as a command
 * that runs locally or against a remote admin API, and the OpenAPI document describes it.
 */
import type { z } from 'zod';
import type { Context } from '../../app/context.js';
import type { Actor } from '../../domain/events.js';

export interface CliOption {
  description: string;
  /** Flag to use instead of `--<field in kebab case> <value>`. */
  flag?: string;
}

export interface CliShape {
  /** Input fields given as positional arguments, in order. */
  args?: Array<{ field: string; description: string }>;
  /** Input fields given as options. */
  options?: Record<string, CliOption>;
  /** Fields given on the command line as comma-separated lists. */
  lists?: string[];
  /** A field read from standard input when `--<field>-stdin` is given, such as a password. */
  stdin?: string;
  /** Lines printed above the table without `--json`, for what the table leaves out. */
  summary?: (result: unknown) => string[];
  /** Columns of the table printed without `--json`, and where the rows are in the result. */
  table?: { columns: string[]; rows?: (result: unknown) => unknown[] };
}

export interface Operation<S extends z.ZodObject = z.ZodObject> {
  /** `group.action`, which is also the CLI command `gatepass group action`. */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Route path with `:param` placeholders, each a field of `input`. */
  path: string;
  summary: string;
  /** Path parameters, query and body fields together. */
  input: S;
  /** The result carries new secrets, shown once: it must never be cached. */
  revealsSecrets?: boolean;
  /** Status of a successful reply; 200 unless set. */
  status?: number;
  run(context: Context, input: z.output<S>, actor: Actor): Promise<unknown>;
  cli: CliShape;
}

/** Keep each operation's input type tied to its handler while listing them together. */
export function operation<S extends z.ZodObject>(definition: Operation<S>): Operation {
  return definition as unknown as Operation;
}

/** Names of the `:param` placeholders of a path. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([a-z_]+)/g)].map((match) => match[1] as string);
}
