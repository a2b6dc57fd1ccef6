/** Operations on platforms, their modules, limits and allowlists. */
import { z } from 'zod';
import { environment, integer, platformId } from './fields.js';
import { operation } from './types.js';

const SHOW_COLUMNS = [
  'environment',
  'kind',
  'module_id',
  'id',
  'hint',
  'created_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
];

export const platformOperations = [
  operation({
    name: 'modules.list',
    method: 'GET',
    path: '/admin/v1/modules',
    summary: 'List the modules Gatepass serves',
    input: z.object({}),
    run: async (context) =>
      context.modules.all().map((m) => ({
        id: m.id,
        name: m.name,
        prefix: m.prefix,
        requires_provider_secret: m.requiresProviderSecret,
        timeout_ms: m.timeoutMs,
      })),
    cli: { table: { columns: ['id', 'name', 'prefix', 'requires_provider_secret', 'timeout_ms'] } },
  }),
  operation({
    name: 'platforms.board',
    method: 'POST',
    path: '/admin/v1/platforms',
    summary: 'Board a platform onto staging; returns its credentials once',
    input: z.object({ name: z.string().min(1).max(200), modules: z.array(z.string()).min(1) }),
    revealsSecrets: true,
    status: 201,
    run: (context, input, actor) => context.platforms.board(input.name, input.modules, actor),
    cli: {
      args: [{ field: 'name', description: 'display name of the platform' }],
      options: { modules: { description: 'comma-separated module ids, such as payouts,identity' } },
      lists: ['modules'],
    },
  }),
  operation({
    name: 'platforms.list',
    method: 'GET',
    path: '/admin/v1/platforms',
    summary: 'List platforms',
    input: z.object({}),
    run: (context) => context.platforms.list(),
    cli: { table: { columns: ['id', 'name', 'status', 'created_at'] } },
  }),
  operation({
    name: 'platforms.show',
    method: 'GET',
    path: '/admin/v1/platforms/:id',
    summary: "Show a platform's environments, modules, secrets (by hint) and users",
    input: z.object({ id: platformId }),
    run: (context, input) => context.platforms.show(input.id),
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      summary: (result) => {
        const details = result as Awaited<
          ReturnType<import('../../services/platforms.js').PlatformService['show']>
        >;
        const { platform } = details;
        return [
          `${platform.name} (${platform.id}), ${platform.status}`,
          ...details.environments.map(
            (env) =>
              `${env.environment}: client_id ${env.client_id}, modules ${env.modules.join(', ') || '(none)'}`,
          ),
          `users: ${details.users.map((u) => `${u.email} (${u.role}, ${u.status})`).join('; ') || '(none)'}`,
          '',
        ];
      },
      table: {
        columns: SHOW_COLUMNS,
        rows: (result) =>
          (
            result as Awaited<
              ReturnType<import('../../services/platforms.js').PlatformService['show']>
            >
          ).environments.flatMap((env) =>
            env.secrets.map((secret) => ({ environment: env.environment, ...secret })),
          ),
      },
    },
  }),
  ...(['suspend', 'resume'] as const).map((action) =>
    operation({
      name: `platforms.${action}`,
      method: 'POST',
      path: `/admin/v1/platforms/:id/${action}`,
      summary:
        action === 'suspend'
          ? 'Suspend a platform: its calls and tokens stop'
          : 'Resume a suspended platform',
      input: z.object({ id: platformId }),
      run: async (context, input, actor) => {
        if (action === 'suspend') {
          await context.platforms.suspend(input.id, actor);
          return { id: input.id, status: 'suspended' };
        }
        return { id: input.id, status: await context.platforms.resume(input.id, actor) };
      },
      cli: { args: [{ field: 'id', description: 'platform id' }] },
    }),
  ),
  operation({
    name: 'platforms.enable-module',
    method: 'POST',
    path: '/admin/v1/platforms/:id/modules',
    summary: "Enable a module for a platform; returns the module's new secrets once",
    input: z.object({ id: platformId, module: z.string().min(1) }),
    revealsSecrets: true,
    status: 201,
    run: (context, input, actor) => context.credentials.enableModule(input.id, input.module, actor),
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      options: { module: { description: 'module id' } },
    },
  }),
  operation({
    name: 'platforms.disable-module',
    method: 'DELETE',
    path: '/admin/v1/platforms/:id/modules/:module',
    summary: 'Disable a module for a platform and revoke its secrets',
    input: z.object({ id: platformId, module: z.string().min(1) }),
    run: async (context, input, actor) => {
      await context.credentials.disableModule(input.id, input.module, actor);
      return { id: input.id, module: input.module, enabled: false };
    },
    cli: {
      args: [
        { field: 'id', description: 'platform id' },
        { field: 'module', description: 'module id' },
      ],
    },
  }),
  operation({
    name: 'platforms.set-limits',
    method: 'PUT',
    path: '/admin/v1/platforms/:id/limits',
    summary:
      "Set a platform's access-token lifetime and gateway rate limit (omit for the defaults)",
    input: z.object({
      id: platformId,
      access_token_ttl: integer.optional(),
      rate_limit_per_minute: integer.optional(),
    }),
    run: (context, input, actor) =>
      context.accessPolicy.setLimits(
        input.id,
        {
          accessTokenTtl: input.access_token_ttl ?? null,
          rateLimitPerMinute: input.rate_limit_per_minute ?? null,
        },
        actor,
      ),
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      options: {
        access_token_ttl: { description: 'access-token lifetime, in seconds' },
        rate_limit_per_minute: { description: 'gateway calls per minute per module' },
      },
    },
  }),
  operation({
    name: 'allowlist.show',
    method: 'GET',
    path: '/admin/v1/platforms/:id/allowlist',
    summary: "Show a platform's IP allowlists",
    input: z.object({ id: platformId }),
    run: (context, input) => context.accessPolicy.allowlists(input.id),
    cli: { args: [{ field: 'id', description: 'platform id' }] },
  }),
  operation({
    name: 'allowlist.set',
    method: 'PUT',
    path: '/admin/v1/platforms/:id/allowlist/:environment',
    summary:
      "Replace a platform's IP allowlist for one environment; an empty list allows every address",
    input: z.object({ id: platformId, environment, entries: z.array(z.string()).max(1000) }),
    run: (context, input, actor) =>
      context.accessPolicy.setAllowlist(input.id, input.environment, input.entries, actor),
    cli: {
      args: [
        { field: 'id', description: 'platform id' },
        { field: 'environment', description: 'staging or production' },
      ],
      options: {
        entries: { description: 'comma-separated addresses and CIDR ranges; "" for none' },
      },
      lists: ['entries'],
    },
  }),
];
