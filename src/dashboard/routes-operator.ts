/** Routes of operators, under `/dashboard/operator`. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../app/context.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import { html } from './html.js';
import {
  BASE,
  formatTime,
  issuedCredentials,
  page,
  SECRETS_ONCE_WARNING,
  secretBox,
} from './layout.js';
import {
  approvedPage,
  auditPage,
  boardPage,
  platformPage,
  platformPath,
  platformsPage,
  revealPage,
  trafficPage,
} from './pages/operator.js';
import {
  field,
  fieldList,
  noticeOf,
  parseLocalTime,
  parseOverlap,
  Redirect,
  requireOperator,
  sendPage,
} from './request.js';

type PlatformParams = { Params: { platformId: string } };
type UserParams = { Params: { platformId: string; userId: string } };

const TRAFFIC_HOURS = 24;
const MAX_FILTER = 100;

function queryText(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_FILTER) : undefined;
}

function moduleChoices(context: Context) {
  return context.modules.all().map((m) => ({ id: m.id, name: m.name }));
}

export function operatorRoutes(scope: FastifyInstance, context: Context): void {
  scope.get('/operator', async (request, reply) => {
    const { session } = requireOperator(request);
    const query = queryText(request, 'q') ?? '';
    const platforms = await context.dashboard.searchPlatforms(query);
    return sendPage(reply, platformsPage(session, platforms, query, noticeOf(request)));
  });

  scope.get('/operator/platforms/new', async (request, reply) => {
    const { session } = requireOperator(request);
    return sendPage(reply, boardPage(session, moduleChoices(context)));
  });

  scope.post('/operator/platforms', async (request, reply) => {
    const { session, actor } = requireOperator(request);
    await context.sessions.spendFormToken(session.sessionId, field(request.body, '_once'));
    const result = await context.platforms.board(
      field(request.body, 'name') ?? '',
      fieldList(request.body, 'modules'),
      actor,
    );
    return sendPage(
      reply,
      revealPage(
        session,
        `Boarded ${result.platform.name}`,
        result.platform.id,
        issuedCredentials(result, 'staging'),
      ),
      201,
    );
  });

  scope.get<PlatformParams>('/operator/platforms/:platformId', async (request, reply) => {
    const { session } = requireOperator(request);
    const { platformId } = request.params;
    const details = await context.platforms.show(platformId);
    const checklist = await context.goLive.view(platformId);
    const allowlists = await context.accessPolicy.allowlists(platformId);
    return sendPage(
      reply,
      platformPage(
        session,
        details,
        checklist,
        moduleChoices(context),
        allowlists,
        noticeOf(request),
      ),
    );
  });

  scope.post<PlatformParams>('/operator/platforms/:platformId/users', async (request) => {
    const { actor } = requireOperator(request);
    const { platformId } = request.params;
    await context.users.add(
      {
        platformId,
        email: field(request.body, 'email') ?? '',
        role: field(request.body, 'role') ?? '',
        password: field(request.body, 'password') ?? '',
      },
      actor,
    );
    throw new Redirect(`${platformPath(platformId)}?notice=user-added`);
  });

  for (const action of ['disable', 'enable'] as const) {
    scope.post<UserParams>(
      `/operator/platforms/:platformId/users/:userId/${action}`,
      async (request) => {
        const { actor } = requireOperator(request);
        const { platformId, userId } = request.params;
        await context.dashboard.userOfPlatform(platformId, userId);
        if (action === 'disable') await context.users.disable(userId, actor);
        else await context.users.enable(userId, actor);
        throw new Redirect(`${platformPath(platformId)}?notice=user-${action}d`);
      },
    );
  }

  scope.post<UserParams>(
    '/operator/platforms/:platformId/users/:userId/password',
    async (request) => {
      const { actor } = requireOperator(request);
      const { platformId, userId } = request.params;
      await context.dashboard.userOfPlatform(platformId, userId);
      await context.users.resetPassword(userId, field(request.body, 'password') ?? '', actor);
      throw new Redirect(`${platformPath(platformId)}?notice=password-reset`);
    },
  );

  scope.post<PlatformParams>(
    '/operator/platforms/:platformId/credentials/rotate',
    async (request, reply) => {
      const { session, actor } = requireOperator(request);
      const { platformId } = request.params;
      await context.platforms.show(platformId);
      const environment = field(request.body, 'environment');
      const kind = field(request.body, 'kind');
      if (!ENVIRONMENTS.includes(environment as Environment)) {
        throw new ApiError('invalid_request', 'Choose the environment: staging or production.');
      }
      if (kind !== 'client' && kind !== 'module' && kind !== 'provider') {
        throw new ApiError(
          'invalid_request',
          'Choose the kind of secret: client, module or provider.',
        );
      }
      const overlap = parseOverlap(field(request.body, 'overlap_seconds'));
      // Spent after the checks above, so that a rejected form can be corrected and sent again.
      await context.sessions.spendFormToken(session.sessionId, field(request.body, '_once'));
      const rotated = await context.credentials.rotate(
        {
          platformId,
          environment: environment as Environment,
          kind,
          moduleId: field(request.body, 'module') || undefined,
          overlapSeconds: overlap,
        },
        actor,
      );
      const label = rotated.module_id ? `${kind} secret of ${rotated.module_id}` : `${kind} secret`;
      return sendPage(
        reply,
        revealPage(
          session,
          'Secret rotated',
          platformId,
          html`<section class="secret-once" aria-labelledby="rotated-secret"><h2 id="rotated-secret">New ${rotated.environment} ${label}</h2><p>${SECRETS_ONCE_WARNING}</p><dl class="facts">${secretBox(label, rotated.secret, 'rotated-secret-value')}</dl><p>The previous secret works until ${formatTime(rotated.replaced_expires_at)}.</p></section>`,
        ),
        201,
      );
    },
  );

  scope.post<{ Params: { platformId: string; secretId: string } }>(
    '/operator/platforms/:platformId/credentials/:secretId/revoke',
    async (request) => {
      const { actor } = requireOperator(request);
      const { platformId, secretId } = request.params;
      await context.dashboard.secretOfPlatform(platformId, secretId);
      await context.credentials.revoke(secretId, actor);
      throw new Redirect(`${platformPath(platformId)}?notice=secret-revoked`);
    },
  );

  scope.post<{ Params: { platformId: string; environment: string } }>(
    '/operator/platforms/:platformId/allowlist/:environment',
    async (request) => {
      const { actor } = requireOperator(request);
      const { platformId, environment } = request.params;
      if (!ENVIRONMENTS.includes(environment as Environment)) {
        throw new ApiError('not_found', 'This page does not exist.');
      }
      const entries = (field(request.body, 'entries') ?? '')
        .split(/[\s,]+/)
        .filter((entry) => entry !== '');
      await context.accessPolicy.setAllowlist(
        platformId,
        environment as Environment,
        entries,
        actor,
      );
      throw new Redirect(`${platformPath(platformId)}?notice=allowlist-saved`);
    },
  );

  scope.post<PlatformParams>('/operator/platforms/:platformId/modules', async (request, reply) => {
    const { session, actor } = requireOperator(request);
    await context.sessions.spendFormToken(session.sessionId, field(request.body, '_once'));
    const { platformId } = request.params;
    const issued = await context.credentials.enableModule(
      platformId,
      field(request.body, 'module') ?? '',
      actor,
    );
    const boxes = issued.map(
      (entry) =>
        html`<h3>${entry.environment}</h3><dl class="facts">${secretBox(`Module secret of ${entry.module}`, entry.module_secret, `${entry.environment}-ms`)}${
          entry.provider_secret
            ? secretBox(
                `Provider secret of ${entry.module}`,
                entry.provider_secret,
                `${entry.environment}-ps`,
              )
            : ''
        }</dl>`,
    );
    return sendPage(
      reply,
      revealPage(
        session,
        'Module enabled',
        platformId,
        html`<section class="secret-once" aria-labelledby="module-secrets"><h2 id="module-secrets">New module secrets</h2><p>${SECRETS_ONCE_WARNING}</p>${boxes}</section>`,
      ),
      201,
    );
  });

  scope.post<{ Params: { platformId: string; moduleId: string } }>(
    '/operator/platforms/:platformId/modules/:moduleId/disable',
    async (request) => {
      const { actor } = requireOperator(request);
      const { platformId, moduleId } = request.params;
      await context.credentials.disableModule(platformId, moduleId, actor);
      throw new Redirect(`${platformPath(platformId)}?notice=module-disabled`);
    },
  );

  scope.post<{ Params: { platformId: string; itemId: string } }>(
    '/operator/platforms/:platformId/checklist/:itemId',
    async (request) => {
      const { actor } = requireOperator(request);
      const { platformId, itemId } = request.params;
      await context.goLive.check(platformId, itemId, field(request.body, 'comment') ?? '', actor);
      throw new Redirect(`${platformPath(platformId)}?notice=item-checked`);
    },
  );

  scope.post<PlatformParams>('/operator/platforms/:platformId/comments', async (request) => {
    const { subject, actor } = requireOperator(request);
    const { platformId } = request.params;
    await context.goLive.comment(platformId, field(request.body, 'body') ?? '', {
      ...actor,
      name: subject.name,
    });
    throw new Redirect(`${platformPath(platformId)}?notice=comment-added`);
  });

  scope.post<PlatformParams>('/operator/platforms/:platformId/approve', async (request, reply) => {
    const { session, actor } = requireOperator(request);
    await context.sessions.spendFormToken(session.sessionId, field(request.body, '_once'));
    const { platformId } = request.params;
    // The production secrets are sealed for the platform's owners; the operator sees none.
    const result = await context.goLive.approveSealed(platformId, actor);
    if (result.status === 'live') {
      return sendPage(reply, approvedPage(session, platformId, result), 201);
    }
    return sendPage(
      reply,
      page({
        title: 'Approval recorded',
        session,
        body: html`<p>Your approval was recorded: ${result.approvals} of ${result.approvals_required} approvals by distinct operators. Production credentials are issued with the last one.</p><p><a href="${platformPath(platformId)}">Back to the platform</a></p>`,
      }),
    );
  });

  scope.post<PlatformParams>('/operator/platforms/:platformId/suspend', async (request) => {
    const { actor } = requireOperator(request);
    await context.platforms.suspend(request.params.platformId, actor);
    throw new Redirect(`${platformPath(request.params.platformId)}?notice=suspended`);
  });

  scope.post<PlatformParams>('/operator/platforms/:platformId/resume', async (request) => {
    const { actor } = requireOperator(request);
    await context.platforms.resume(request.params.platformId, actor);
    throw new Redirect(`${platformPath(request.params.platformId)}?notice=resumed`);
  });

  scope.get('/operator/audit', async (request, reply) => {
    const { session } = requireOperator(request);
    const environmentText = queryText(request, 'environment');
    const environment = ENVIRONMENTS.includes(environmentText as Environment)
      ? (environmentText as Environment)
      : undefined;
    const filter = {
      platform: queryText(request, 'platform'),
      environment,
      action: queryText(request, 'action'),
      from: queryText(request, 'from'),
      until: queryText(request, 'until'),
    };
    const rows = await context.auditLog.list({
      platformId: filter.platform,
      environment,
      action: filter.action,
      since: parseLocalTime(filter.from),
      until: parseLocalTime(filter.until),
      limit: 200,
    });
    return sendPage(reply, auditPage(session, rows, filter));
  });

  scope.get('/operator/traffic', async (request, reply) => {
    const { session } = requireOperator(request);
    const series = await context.dashboard.usage({ hours: TRAFFIC_HOURS });
    return sendPage(reply, trafficPage(session, series));
  });

  // The boarding form's action, opened by a reload or a typed address, shows the list.
  scope.get('/operator/platforms', async () => {
    throw new Redirect(`${BASE}/operator`);
  });
}
