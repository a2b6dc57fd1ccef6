/** Operations on the audit log, the request log, signing keys and operator keys. */
import { z } from 'zod';
import { ApiError } from '../../domain/errors.js';
import { environment, integer, limit, platformId, time } from './fields.js';
import { operation } from './types.js';

export const logOperations = [
  operation({
    name: 'audit.list',
    method: 'GET',
    path: '/admin/v1/audit',
    summary: 'Read the audit log, newest first',
    input: z.object({
      platform: platformId.optional(),
      environment: environment.optional(),
      action: z.string().max(64).optional(),
      since: time.optional(),
      until: time.optional(),
      limit,
    }),
    run: (context, input) =>
      context.auditLog.list({
        platformId: input.platform,
        environment: input.environment,
        action: input.action,
        since: input.since,
        until: input.until,
        limit: input.limit,
      }),
    cli: {
      options: {
        platform: { description: 'only this platform' },
        environment: { description: 'only staging or production', flag: '--env <environment>' },
        action: { description: 'only this action, such as credential.rotated' },
        since: { description: 'from this time (ISO 8601 or epoch ms)' },
        until: { description: 'before this time (ISO 8601 or epoch ms)' },
        limit: { description: 'rows to show, at most 1000' },
      },
      table: {
        columns: [
          'seq',
          'at',
          'actor_kind',
          'actor_id',
          'action',
          'outcome',
          'platform_id',
          'environment',
        ],
      },
    },
  }),
  operation({
    name: 'audit.verify',
    method: 'GET',
    path: '/admin/v1/audit/verify',
    summary: "Check the audit log's hash chain; names the first altered or missing row",
    input: z.object({}),
    run: (context) => context.auditLog.verify(),
    cli: {},
  }),
  operation({
    name: 'requests.list',
    method: 'GET',
    path: '/admin/v1/requests',
    summary: 'Read the request log of gateway calls, newest first',
    input: z.object({
      platform: platformId.optional(),
      module: z.string().max(40).optional(),
      environment: environment.optional(),
      status: integer.pipe(z.number().min(1).max(599)).optional(),
      since: time.optional(),
      until: time.optional(),
      limit,
    }),
    run: (context, input) =>
      context.store.requestLog.list({
        platformId: input.platform,
        moduleId: input.module,
        environment: input.environment,
        status: input.status,
        since: input.since,
        until: input.until,
        limit: input.limit,
      }),
    cli: {
      options: {
        platform: { description: 'only this platform' },
        module: { description: 'only this module' },
        environment: { description: 'only staging or production', flag: '--env <environment>' },
        status: { description: 'only this status, or 4 for every 4xx, 5 for every 5xx' },
        since: { description: 'from this time (ISO 8601 or epoch ms)' },
        until: { description: 'before this time (ISO 8601 or epoch ms)' },
        limit: { description: 'rows to show, at most 1000' },
      },
      table: {
        columns: [
          'at',
          'environment',
          'platform_id',
          'module_id',
          'method',
          'path',
          'status',
          'latency_ms',
          'auth_method',
          'error_code',
          'request_id',
        ],
      },
    },
  }),
  operation({
    name: 'keys.list',
    method: 'GET',
    path: '/admin/v1/keys/:environment',
    summary: "List an environment's published signing keys",
    input: z.object({ environment }),
    run: (context, input) => context.signingKeys.list(input.environment),
    cli: {
      options: {
        environment: { description: 'staging or production', flag: '--env <environment>' },
      },
      table: {
        columns: ['kid', 'algorithm', 'created_at', 'activates_at', 'retired_at', 'expires_at'],
      },
    },
  }),
  operation({
    name: 'keys.rotate',
    method: 'POST',
    path: '/admin/v1/keys/:environment/rotate',
    summary: 'Publish a new signing key now and sign with it after the publish delay',
    input: z.object({
      environment,
      publish_delay_seconds: integer.pipe(z.number().min(0).max(86_400)).default(120),
    }),
    run: (context, input, actor) =>
      context.signingKeys.rotate(input.environment, input.publish_delay_seconds, actor),
    cli: {
      options: {
        environment: { description: 'staging or production', flag: '--env <environment>' },
        publish_delay_seconds: {
          description:
            'seconds between publishing the key and signing with it (default 120, which covers the 30-second key reload of other processes and 60-second JWKS caches)',
        },
      },
    },
  }),
  operation({
    name: 'operators.create-key',
    method: 'POST',
    path: '/admin/v1/operators/keys',
    summary:
      "Create an API key; through the API only for the caller's own name. Returns the key once",
    input: z.object({ name: z.string().min(1).max(100) }),
    revealsSecrets: true,
    status: 201,
    run: (context, input, actor) => {
      // Operators are told apart by name, for example for the distinct approvals go-live needs,
      // so a key of the API may not mint other names. The CLI on the database creates them.
      if (actor.address !== undefined && input.name !== actor.id) {
        throw new ApiError(
          'forbidden',
          `An operator key can create keys for its own name (${actor.id}) only. Create keys for other operators with the gatepass CLI on the database.`,
        );
      }
      return context.operators.createKey(input.name, actor);
    },
    cli: { args: [{ field: 'name', description: 'operator name, such as an email address' }] },
  }),
  operation({
    name: 'operators.list-keys',
    method: 'GET',
    path: '/admin/v1/operators/keys',
    summary: 'List operator keys by id and hint',
    input: z.object({}),
    run: (context) => context.operators.listKeys(),
    cli: {
      table: { columns: ['id', 'operator', 'hint', 'created_at', 'last_used_at', 'revoked_at'] },
    },
  }),
  operation({
    name: 'operators.revoke-key',
    method: 'POST',
    path: '/admin/v1/operators/keys/:key_id/revoke',
    summary: 'Revoke an operator key',
    input: z.object({ key_id: z.string().min(1).max(64) }),
    run: async (context, input, actor) => {
      await context.operators.revokeKey(input.key_id, actor);
      return { id: input.key_id, revoked: true };
    },
    cli: { args: [{ field: 'key_id', description: 'operator key id' }] },
  }),
];
