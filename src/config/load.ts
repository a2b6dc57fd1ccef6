/** Load configuration from a JSON file and environment variables, and validate it once. */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { isReservedPrefix } from '../domain/identifiers.js';
import { type Config, configSchema } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

/** Environment variables and the dotted setting each one overrides. */
export const ENVIRONMENT_VARIABLES: Record<string, { path: string; type: 'string' | 'integer' }> = {
  GATEPASS_DATA_DIR: { path: 'dataDir', type: 'string' },
  DATABASE_URL: { path: 'databaseUrl', type: 'string' },
  GATEPASS_DATABASE_POOL_SIZE: { path: 'databasePoolSize', type: 'integer' },
  REDIS_URL: { path: 'redisUrl', type: 'string' },
  GATEPASS_MASTER_KEY: { path: 'masterKey', type: 'string' },
  GATEPASS_HOST: { path: 'host', type: 'string' },
  GATEPASS_ADMIN_PORT: { path: 'listeners.admin.port', type: 'integer' },
  GATEPASS_STAGING_PORT: { path: 'listeners.staging.port', type: 'integer' },
  GATEPASS_PRODUCTION_PORT: { path: 'listeners.production.port', type: 'integer' },
  GATEPASS_STAGING_URL: { path: 'environments.staging.publicUrl', type: 'string' },
  GATEPASS_PRODUCTION_URL: { path: 'environments.production.publicUrl', type: 'string' },
  GATEPASS_ACCESS_TOKEN_TTL: { path: 'tokens.accessTokenTtl', type: 'integer' },
  GATEPASS_REFRESH_TOKEN_TTL: { path: 'tokens.refreshTokenTtl', type: 'integer' },
  GATEPASS_CACHE_TTL_MS: { path: 'cacheTtlMs', type: 'integer' },
  GATEPASS_REQUEST_TIMEOUT_MS: { path: 'requestTimeoutMs', type: 'integer' },
  GATEPASS_LOG_LEVEL: { path: 'log.level', type: 'string' },
};

function setPath(target: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Json;
  }
  node[parts[parts.length - 1] as string] = value;
}

function readFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`config file ${path}: cannot be read (${(error as Error).message})`]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('the top level must be a JSON object');
    }
    return parsed as Json;
  } catch (error) {
    throw new ConfigError([`config file ${path}: invalid JSON (${(error as Error).message})`]);
  }
}

/**
 * Copy set environment variables into `raw`. Returns the variable behind each dotted path it
 * set, so that an error about that setting can name the variable to fix.
 */
function applyEnvironment(
  raw: Json,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Map<string, string> {
  const sources = new Map<string, string>();
  for (const [name, { path, type }] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (type === 'integer') {
      if (!/^\d+$/.test(value)) {
        problems.push(`${path} (set by ${name}): "${value}" is not a whole number`);
        continue;
      }
      setPath(raw, path, Number(value));
    } else {
      setPath(raw, path, value);
    }
    sources.set(path, name);
  }
  return sources;
}

/** Name a setting by its dotted path and, when an environment variable set it, by that variable. */
function settingName(path: string, sources: Map<string, string>): string {
  const variable = sources.get(path);
  return variable ? `${path} (set by ${variable})` : path;
}

function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): string {
  const path = issue.path.length > 0 ? settingName(issue.path.join('.'), sources) : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${path}: unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove it or check its spelling`;
  }
  return `${path}: ${issue.message}`;
}

function checkModules(config: Config, problems: string[]): void {
  const ids = new Set<string>();
  const prefixes = new Set<string>();
  config.modules.forEach((module, index) => {
    if (ids.has(module.id)) problems.push(`modules.${index}.id: "${module.id}" is declared twice`);
    if (prefixes.has(module.prefix)) {
      problems.push(`modules.${index}.prefix: "${module.prefix}" is used by another module`);
    }
    if (isReservedPrefix(module.prefix)) {
      problems.push(`modules.${index}.prefix: "${module.prefix}" is reserved for the token API`);
    }
    ids.add(module.id);
    prefixes.add(module.prefix);
  });
}

function checkPorts(config: Config, problems: string[], sources: Map<string, string>): void {
  const seen = new Map<number, string>();
  for (const [name, listener] of Object.entries(config.listeners)) {
    if (!listener.enabled || listener.port === 0) continue;
    const other = seen.get(listener.port);
    if (other)
      problems.push(
        `${settingName(`listeners.${name}.port`, sources)}: ${listener.port} is also the ${other} listener's port; give each listener its own port`,
      );
    seen.set(listener.port, name);
  }
}

/**
 * Build the configuration from, in rising order of precedence: defaults, the JSON file at
 * `file` (if given), environment variables, and `overrides`. Throws ConfigError naming every
 * invalid setting.
 */
export function loadConfig(
  options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Json } = {},
): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const file = options.file ?? env.GATEPASS_CONFIG;
  const raw: Json = file ? readFile(file) : {};

  const sources = applyEnvironment(raw, env, problems);
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(raw, path, value);

  const result = configSchema.safeParse(raw);
  if (!result.success)
    problems.push(...result.error.issues.map((issue) => describeIssue(issue, sources)));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  checkModules(result.data, problems);
  checkPorts(result.data, problems, sources);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}
