/** The modules Gatepass serves, resolved from configuration and kept in the store. */
import type { ModuleSettings } from '../config/schema.js';
import type { Environment } from '../domain/environment.js';
import type { Store } from '../store/index.js';

export interface Module {
  id: string;
  name: string;
  prefix: string;
  /** Upstream base URL per environment, with `builtin:demo` resolved to the demo server. */
  upstreams: Record<Environment, string>;
  /** Upstreams as configured, which is what the store keeps. */
  configuredUpstreams: Record<Environment, string>;
  requiresProviderSecret: boolean;
  timeoutMs: number;
}

export class ModuleRegistry {
  private readonly byId = new Map<string, Module>();

  constructor(modules: Module[]) {
    for (const module of modules) this.byId.set(module.id, module);
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

  /** Write the configured modules to the store, so platforms can reference them. */
  async save(store: Store, now: number): Promise<void> {
    for (const module of this.byId.values()) {
      await store.modules.upsert({
        id: module.id,
        name: module.name,
        prefix: module.prefix,
        staging_upstream: module.configuredUpstreams.staging,
        production_upstream: module.configuredUpstreams.production,
        requires_provider_secret: module.requiresProviderSecret ? 1 : 0,
        timeout_ms: module.timeoutMs,
        retired_at: null,
        created_at: now,
        updated_at: now,
      });
    }
  }
}

/** Build the registry from configuration, resolving `builtin:demo` to `demoUrl` when the demo server runs. */
export function modulesFromConfig(
  settings: ModuleSettings[],
  demoUrl: string | undefined,
): ModuleRegistry {
  const resolve = (url: string, environment: Environment): string => {
    if (url !== 'builtin:demo' || !demoUrl) return url;
    return `${demoUrl}/${environment}`;
  };
  return new ModuleRegistry(
    settings.map((m) => ({
      id: m.id,
      name: m.name,
      prefix: m.prefix,
      upstreams: {
        staging: resolve(m.upstreams.staging, 'staging'),
        production: resolve(m.upstreams.production, 'production'),
      },
      configuredUpstreams: { ...m.upstreams },
      requiresProviderSecret: m.requiresProviderSecret,
      timeoutMs: m.timeoutMs,
    })),
  );
}
