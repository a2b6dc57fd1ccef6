/** Operations on secrets and platform users. */
import { z } from 'zod';
import { environment, integer, platformId, secretKind } from './fields.js';
import { operation } from './types.js';

export const credentialOperations = [
  operation({
    name: 'credentials.list',
    method: 'GET',
    path: '/admin/v1/platforms/:id/credentials',
    summary: "List a platform's secrets by id and hint, with when each was last used",
    input: z.object({ id: platformId }),
    run: async (context, input) => {
      const details = await context.platforms.show(input.id);
      return details.environments.flatMap((env) =>
        env.secrets.map((secret) => ({
          environment: env.environment,
          client_id: env.client_id,
          ...secret,
        })),
      );
    },
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      table: {
        columns: [
          'environment',
          'kind',
          'module_id',
          'id',
          'hint',
          'expires_at',
          'revoked_at',
          'last_used_at',
        ],
      },
    },
  }),
  operation({
    name: 'credentials.rotate',
    method: 'POST',
    path: '/admin/v1/platforms/:id/credentials/rotate',
    summary: 'Issue a new secret; the current one keeps working for the overlap, then stops',
    input: z.object({
      id: platformId,
      environment,
      kind: secretKind,
      module: z.string().optional(),
      overlap_seconds: integer.pipe(z.number().min(0)),
    }),
    revealsSecrets: true,
    status: 201,
    run: (context, input, actor) =>
      context.credentials.rotate(
        {
          platformId: input.id,
          environment: input.environment,
          kind: input.kind,
          moduleId: input.module,
          overlapSeconds: input.overlap_seconds,
        },
        actor,
      ),
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      options: {
        environment: { description: 'staging or production', flag: '--env <environment>' },
        kind: { description: 'client, module or provider' },
        module: { description: 'module id, for module and provider secrets' },
        overlap_seconds: { description: 'seconds the current secret keeps working' },
      },
    },
  }),
  operation({
    name: 'credentials.revoke',
    method: 'POST',
    path: '/admin/v1/credentials/:secret_id/revoke',
    summary: 'Revoke one secret at once',
    input: z.object({ secret_id: z.string().min(1).max(64) }),
    run: async (context, input, actor) => {
      await context.credentials.revoke(input.secret_id, actor);
      return { id: input.secret_id, revoked: true };
    },
    cli: {
      args: [{ field: 'secret_id', description: 'secret id, as listed by credentials list' }],
    },
  }),
  operation({
    name: 'users.add',
    method: 'POST',
    path: '/admin/v1/platforms/:platform/users',
    summary: 'Add a user to a platform',
    input: z.object({
      platform: platformId,
      email: z.string(),
      role: z.string(),
      password: z.string(),
    }),
    status: 201,
    run: (context, input, actor) =>
      context.users.add(
        {
          platformId: input.platform,
          email: input.email,
          role: input.role,
          password: input.password,
        },
        actor,
      ),
    cli: {
      options: {
        platform: { description: 'platform id' },
        email: { description: 'email address, used to sign in' },
        role: { description: 'owner, developer or viewer' },
      },
      stdin: 'password',
    },
  }),
  operation({
    name: 'users.list',
    method: 'GET',
    path: '/admin/v1/platforms/:platform/users',
    summary: "List a platform's users",
    input: z.object({ platform: platformId }),
    run: (context, input) => context.users.list(input.platform),
    cli: {
      options: { platform: { description: 'platform id' } },
      table: { columns: ['id', 'email', 'role', 'status', 'created_at'] },
    },
  }),
  ...(['disable', 'enable'] as const).map((action) =>
    operation({
      name: `users.${action}`,
      method: 'POST',
      path: `/admin/v1/users/:id/${action}`,
      summary:
        action === 'disable' ? 'Disable a user and end their sessions' : 'Enable a disabled user',
      input: z.object({ id: z.string().min(1).max(64) }),
      run: async (context, input, actor) => {
        await (action === 'disable'
          ? context.users.disable(input.id, actor)
          : context.users.enable(input.id, actor));
        return { id: input.id, status: action === 'disable' ? 'disabled' : 'active' };
      },
      cli: { args: [{ field: 'id', description: 'user id' }] },
    }),
  ),
  operation({
    name: 'users.reset-password',
    method: 'POST',
    path: '/admin/v1/users/:id/password',
    summary: "Set a user's password and end their sessions",
    input: z.object({ id: z.string().min(1).max(64), password: z.string() }),
    run: async (context, input, actor) => {
      await context.users.resetPassword(input.id, input.password, actor);
      return { id: input.id, password_changed: true };
    },
    cli: { args: [{ field: 'id', description: 'user id' }], stdin: 'password' },
  }),
];
