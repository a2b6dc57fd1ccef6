/** Routes of platform users, under `/dashboard/platform`. */
import type { FastifyInstance } from 'fastify';
import type { Context } from '../app/context.js';
import { ENVIRONMENTS, type Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import { BASE } from './layout.js';
import {
  clientPage,
  examplesPage,
  goLivePage,
  overviewPage,
  requestPage,
  requestsPage,
  revealedPage,
  usagePage,
} from './pages/platform.js';
import {
  field,
  noticeOf,
  parseLocalTime,
  parseOverlap,
  Redirect,
  requireUser,
  sendPage,
} from './request.js';

const USAGE_HOURS = 24;

function queryOf(request: { query: unknown }): Record<string, string | undefined> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(query).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : undefined,
    ]),
  );
}

/** Parse a status filter: an exact status from 100 to 599, or a class from 1 to 5. */
function parseStatus(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const status = /^\d{1,3}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!((status >= 1 && status <= 5) || (status >= 100 && status <= 599))) {
    throw new ApiError(
      'invalid_request',
      'The status must be a status such as 404, or 4 for every 4xx.',
    );
  }
  return status;
}

export function platformRoutes(scope: FastifyInstance, context: Context): void {
  scope.get('/platform', async (request, reply) => {
    const { session, viewer } = requireUser(request);
    const [details, checklist, reveals] = await Promise.all([
      context.dashboard.overview(viewer),
      context.dashboard.goLiveView(viewer),
      context.dashboard.pendingReveals(viewer),
    ]);
    return sendPage(reply, overviewPage(session, details, checklist, reveals, noticeOf(request)));
  });

  scope.get<{ Params: { clientId: string } }>(
    '/platform/clients/:clientId',
    async (request, reply) => {
      const { session, viewer } = requireUser(request);
      const { platform, environment } = await context.dashboard.client(
        viewer,
        request.params.clientId,
      );
      const reveals = await context.dashboard.pendingReveals(viewer);
      return sendPage(reply, clientPage(session, platform.name, environment, undefined, reveals));
    },
  );

  scope.post<{ Params: { clientId: string } }>(
    '/platform/clients/:clientId/reveal',
    async (request, reply) => {
      const { session, viewer, actor } = requireUser(request);
      const clientId = request.params.clientId;
      // Ownership and role come first, so another platform's id is 404 and spends nothing.
      await context.dashboard.authorizeReveal(viewer, clientId);
      await context.sessions.spendFormToken(session.sessionId, field(request.body, '_once'));
      const credentials = await context.dashboard.revealCredentials(viewer, clientId, actor);
      return sendPage(reply, revealedPage(session, credentials));
    },
  );

  scope.post<{ Params: { clientId: string } }>(
    '/platform/clients/:clientId/rotate',
    async (request, reply) => {
      const { session, viewer, actor } = requireUser(request);
      const clientId = request.params.clientId;
      // Ownership and role come first, so another platform's id is 404 before any input check.
      await context.dashboard.authorizeRotation(viewer, clientId);
      const overlap = parseOverlap(field(request.body, 'overlap_seconds'));
      await context.sessions.spendFormToken(session.sessionId, field(request.body, '_once'));
      const rotated = await context.dashboard.rotateClientSecret(viewer, clientId, overlap, actor);
      const { platform, environment } = await context.dashboard.client(viewer, clientId);
      return sendPage(reply, clientPage(session, platform.name, environment, rotated), 201);
    },
  );

  scope.get('/platform/go-live', async (request, reply) => {
    const { session, viewer } = requireUser(request);
    const view = await context.dashboard.goLiveView(viewer);
    return sendPage(reply, goLivePage(session, view, noticeOf(request)));
  });

  scope.post('/platform/go-live/comments', async (request) => {
    const { viewer, actor } = requireUser(request);
    await context.dashboard.comment(viewer, field(request.body, 'body') ?? '', actor);
    throw new Redirect(`${BASE}/platform/go-live?notice=comment-added`);
  });

  scope.get('/platform/requests', async (request, reply) => {
    const { session, viewer } = requireUser(request);
    const query = queryOf(request);
    const environment = ENVIRONMENTS.includes(query.environment as Environment)
      ? (query.environment as Environment)
      : undefined;
    const rows = await context.dashboard.requests(viewer, {
      moduleId: query.module || undefined,
      environment,
      status: parseStatus(query.status),
      failedOnly: query.failed === '1',
      since: parseLocalTime(query.from),
      until: parseLocalTime(query.until),
    });
    return sendPage(
      reply,
      requestsPage(session, rows, context.modules.ids(), {
        module: query.module,
        environment,
        status: query.status,
        failed: query.failed === '1',
        from: query.from,
        until: query.until,
      }),
    );
  });

  scope.get<{ Params: { id: string } }>('/platform/requests/:id', async (request, reply) => {
    const { session, viewer } = requireUser(request);
    const id = /^\d{1,15}$/.test(request.params.id) ? Number(request.params.id) : Number.NaN;
    const row = await context.dashboard.request(viewer, id);
    return sendPage(reply, requestPage(session, row));
  });

  scope.get('/platform/examples', async (request, reply) => {
    const { session, viewer } = requireUser(request);
    const environments = await context.dashboard.examples(viewer);
    return sendPage(
      reply,
      examplesPage(
        session,
        environments.map((env) => ({ ...env, url: context.urls.issuer[env.environment] })),
      ),
    );
  });

  scope.get('/platform/usage', async (request, reply) => {
    const { session, viewer } = requireUser(request);
    const series = await context.dashboard.usage({
      platformId: viewer.platformId,
      hours: USAGE_HOURS,
    });
    return sendPage(reply, usagePage(session, series));
  });
}
