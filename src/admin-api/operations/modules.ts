/** Operations that create, change and retire modules. */
import { z } from 'zod';
import type { Module } from '../../services/modules.js';
import { integer } from './fields.js';
import { operation } from './types.js';

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((text) => text === 'true')]);

function describe(module: Module) {
  return {
    id: module.id,
    name: module.name,
    prefix: module.prefix,
    staging_upstream: module.configuredUpstreams.staging,
    production_upstream: module.configuredUpstreams.production,
    requires_provider_secret: module.requiresProviderSecret,
    timeout_ms: module.timeoutMs,
    declared_in_config: module.declaredInConfig,
  };
}

const CLI_OPTIONS = {
  name: { description: 'display name' },
  prefix: { description: 'route prefix on each environment listener, such as /payouts' },
  staging_upstream: { description: 'base URL of the staging upstream' },
  production_upstream: { description: 'base URL of the production upstream' },
  requires_provider_secret: { description: 'true if calls need a provider secret too' },
  timeout_ms: { description: 'time the upstream has to answer, in milliseconds' },
};

export const moduleOperations = [
  operation({
    name: 'modules.create',
    method: 'POST',
    path: '/admin/v1/modules',
    summary: 'Create a module served under its prefix on both environment listeners',
    input: z.object({
      id: z.string(),
      name: z.string(),
      prefix: z.string(),
      staging_upstream: z.string(),
      production_upstream: z.string(),
      requires_provider_secret: flag.default(false),
      timeout_ms: integer.default(30_000),
    }),
    status: 201,
    run: async (context, input, actor) =>
      describe(
        await context.moduleAdmin.create(
          {
            id: input.id,
            name: input.name,
            prefix: input.prefix,
            upstreams: { staging: input.staging_upstream, production: input.production_upstream },
            requiresProviderSecret: input.requires_provider_secret,
            timeoutMs: input.timeout_ms,
          },
          actor,
        ),
      ),
    cli: {
      args: [{ field: 'id', description: 'module id, a lower-case slug such as payouts' }],
      options: CLI_OPTIONS,
    },
  }),
  operation({
    name: 'modules.update',
    method: 'PUT',
    path: '/admin/v1/modules/:id',
    summary: 'Change a module created through the admin API',
    input: z.object({
      id: z.string(),
      name: z.string().optional(),
      prefix: z.string().optional(),
      staging_upstream: z.string().optional(),
      production_upstream: z.string().optional(),
      requires_provider_secret: flag.optional(),
      timeout_ms: integer.optional(),
    }),
    run: async (context, input, actor) => {
      const upstreams = {
        ...(input.staging_upstream ? { staging: input.staging_upstream } : {}),
        ...(input.production_upstream ? { production: input.production_upstream } : {}),
      };
      const changes = {
        ...(input.name ? { name: input.name } : {}),
        ...(input.prefix ? { prefix: input.prefix } : {}),
        ...(input.requires_provider_secret !== undefined
          ? { requiresProviderSecret: input.requires_provider_secret }
          : {}),
        ...(input.timeout_ms !== undefined ? { timeoutMs: input.timeout_ms } : {}),
        upstreams: upstreams as { staging: string; production: string },
      };
      return describe(await context.moduleAdmin.update(input.id, changes, actor));
    },
    cli: { args: [{ field: 'id', description: 'module id' }], options: CLI_OPTIONS },
  }),
  operation({
    name: 'modules.retire',
    method: 'POST',
    path: '/admin/v1/modules/:id/retire',
    summary: 'Retire a module: the gateway stops serving it',
    input: z.object({ id: z.string() }),
    run: async (context, input, actor) => {
      await context.moduleAdmin.retire(input.id, actor);
      return { id: input.id, retired: true };
    },
    cli: { args: [{ field: 'id', description: 'module id' }] },
  }),
];
