/**
 * The modules Gatepass serves. Modules declared in configuration are written to the store at
 * start and can only be changed there; operators create, change and retire others through the
 * admin API. Every node reloads the list from the store every few seconds, and at once after a
 * change it made itself.
 */
import type { Logger } from 'pino';
import { type ModuleSettings, moduleSettings } from '../config/schema.js';
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { isReservedPrefix } from '../domain/identifiers.js';
import type { Store } from '../store/index.js';
import type { ModuleRow } from '../store/modules.js';
import type { EventBus } from './events.js';

export interface Module {
  id: string;
  name: string;
  prefix: string;
  /** Upstream base URL per environment, with `builtin:demo` resolved to the demo server. */
  upstreams: Record<Environment, string>;
  /** Upstreams as stored, with `builtin:demo` kept as it is. */
  configuredUpstreams: Record<Environment, string>;
  requiresProviderSecret: boolean;
  timeoutMs: number;
  /** Declared in configuration, so the admin API may not change it. */
  declaredInConfig: boolean;
}

/** How often every node reloads the module list from the store, in milliseconds. */
export const MODULE_RELOAD_INTERVAL_MS = 5_000;

function toRow(settings: ModuleSettings, now: number): ModuleRow {
  return {
    id: settings.id,
    name: settings.name,
    prefix: settings.prefix,
    staging_upstream: settings.upstreams.staging,
    production_upstream: settings.upstreams.production,
    requires_provider_secret: settings.requiresProviderSecret ? 1 : 0,
    timeout_ms: settings.timeoutMs,
    retired_at: null,
    created_at: now,
    updated_at: now,
  };
}

export class ModuleRegistry {
  private byId = new Map<string, Module>();
  /** Modules by prefix, longest first, so the most specific prefix wins. */
  private byPrefix: Module[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly configIds: Set<string>,
    private readonly demoUrl: string | undefined,
  ) {}

  private resolve(url: string, environment: Environment): string {
    return url === 'builtin:demo' && this.demoUrl ? `${this.demoUrl}/${environment}` : url;
  }

  /** Replace the list with the store's active modules. */
  async load(store: Store): Promise<void> {
    const rows = await store.modules.listActive();
    const modules = rows.map(
      (row): Module => ({
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        upstreams: {
          staging: this.resolve(row.staging_upstream, 'staging'),
          production: this.resolve(row.production_upstream, 'production'),
        },
        configuredUpstreams: { staging: row.staging_upstream, production: row.production_upstream },
        requiresProviderSecret: row.requires_provider_secret === 1,
        timeoutMs: row.timeout_ms,
        declaredInConfig: this.configIds.has(row.id),
      }),
    );
    this.byId = new Map(modules.map((m) => [m.id, m]));
    this.byPrefix = [...modules].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Reload from the store every few seconds until `stop`, logging failures. */
  startReloading(store: Store, log: Logger): void {
    this.timer = setInterval(() => {
      this.load(store).catch((error: unknown) =>
        log.warn({ err: error }, 'reloading modules failed; keeping the current list and retrying'),
      );
    }, MODULE_RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get(id: string): Module | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  all(): Module[] {
    return [...this.byId.values()];
  }

  /** The module whose prefix starts `url`, followed by "/", "?" or nothing. */
  match(url: string): Module | undefined {
    return this.byPrefix.find((module) => {
      if (!url.startsWith(module.prefix)) return false;
      const next = url.charAt(module.prefix.length);
      return next === '' || next === '/' || next === '?';
    });
  }
}

/** Write the modules declared in configuration to the store, so platforms can reference them. */
/** Attempts at saving one configured module while other nodes start and save it too. */
const SAVE_ATTEMPTS = 5;

/** Whether `error` is a unique-constraint violation of PostgreSQL (23505) or SQLite. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export async function saveConfiguredModules(
  store: Store,
  settings: ModuleSettings[],
  now: number,
): Promise<void> {
  for (const module of settings) {
    for (let attempt = 1; ; attempt++) {
      try {
        await store.modules.upsert(toRow(module, now));
        break;
      } catch (error) {
        // Two nodes starting together insert the same module at once. PostgreSQL resolves the
        // conflict on the id, but may report the one on the unique prefix instead. By the next
        // attempt the other node's row exists, so the upsert updates it.
        if (!isUniqueViolation(error) || attempt >= SAVE_ATTEMPTS) throw error;
      }
    }
  }
}

export type ModuleInput = ModuleSettings;

export class ModuleService {
  constructor(
    private readonly store: Store,
    private readonly registry: ModuleRegistry,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  private check(input: unknown): ModuleSettings {
    const parsed = moduleSettings.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || 'module'}: ${issue.message}`,
      );
      throw new ApiError('invalid_request', `Invalid module: ${problems.join('; ')}.`);
    }
    if (isReservedPrefix(parsed.data.prefix)) {
      throw new ApiError(
        'invalid_request',
        `The prefix ${parsed.data.prefix} is reserved for the token API.`,
      );
    }
    return parsed.data;
  }

  private async checkPrefixFree(prefix: string, exceptId?: string): Promise<void> {
    const taken = (await this.store.modules.listAll()).find(
      (m) => m.prefix === prefix && m.id !== exceptId,
    );
    if (taken)
      throw new ApiError('conflict', `The prefix ${prefix} is used by module ${taken.id}.`);
  }

  private editable(id: string): void {
    if (this.registry.get(id)?.declaredInConfig) {
      throw new ApiError(
        'conflict',
        `Module ${id} is declared in configuration; change it there and restart.`,
      );
    }
  }

  async create(input: unknown, actor: Actor): Promise<Module> {
    const settings = this.check(input);
    if (await this.store.modules.find(settings.id))
      throw new ApiError('conflict', `A module with the id ${settings.id} already exists.`);
    await this.checkPrefixFree(settings.prefix);
    const at = this.now();
    await this.store.modules.insert(toRow(settings, at));
    await this.registry.load(this.store);
    this.events.emit({ type: 'module.created', at, actor, moduleId: settings.id });
    return this.registry.get(settings.id) as Module;
  }

  async update(id: string, changes: Partial<ModuleSettings>, actor: Actor): Promise<Module> {
    this.editable(id);
    const current = await this.store.modules.find(id);
    if (!current || current.retired_at !== null)
      throw new ApiError('not_found', `No active module has the id ${id}.`);
    const merged = this.check({
      id,
      name: changes.name ?? current.name,
      prefix: changes.prefix ?? current.prefix,
      upstreams: {
        staging: current.staging_upstream,
        production: current.production_upstream,
        ...changes.upstreams,
      },
      requiresProviderSecret:
        changes.requiresProviderSecret ?? current.requires_provider_secret === 1,
      timeoutMs: changes.timeoutMs ?? current.timeout_ms,
    });
    await this.checkPrefixFree(merged.prefix, id);
    const at = this.now();
    await this.store.modules.upsert({ ...toRow(merged, at), created_at: current.created_at });
    await this.registry.load(this.store);
    this.events.emit({ type: 'module.updated', at, actor, moduleId: id });
    return this.registry.get(id) as Module;
  }

  /** Retire a module: the gateway stops serving it and it can no longer be enabled. */
  async retire(id: string, actor: Actor): Promise<void> {
    this.editable(id);
    const at = this.now();
    if (!(await this.store.modules.retire(id, at)))
      throw new ApiError('not_found', `No active module has the id ${id}.`);
    await this.registry.load(this.store);
    this.events.emit({ type: 'module.retired', at, actor, moduleId: id });
  }
}
