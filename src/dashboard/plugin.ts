/**
 * The dashboard: server-rendered pages under `/dashboard` on the admin listener, for platform
 * users and operators. Routes parse a form, call a service and render a page; the services hold
 * every rule, including which platform a user may see.
 *
 * Sessions live in a cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` over TLS).
 * Every state-changing request needs the session's CSRF token and an `Origin` (or `Referer`) of
 * this listener; the sign-in forms need a token bound to a pre-session cookie and the same
 * origin check.
 */
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../app/context.js';
import { ApiError } from '../domain/errors.js';
import { sessionCookieName } from '../services/sessions.js';
import { SCRIPT, STYLESHEET } from './assets.js';
import { BASE } from './layout.js';
import { errorPage, signInPage } from './pages/sign-in.js';
import {
  checkChange,
  field,
  loadSession,
  noticeOf,
  Redirect,
  rejectNul,
  sameOrigin,
  secureCookies,
  sendPage,
  sessionOf,
} from './request.js';
import { operatorRoutes } from './routes-operator.js';
import { platformRoutes } from './routes-platform.js';

const PRE_SESSION_COOKIE = 'gatepass_pre_session';
const BODY_LIMIT = 64 * 1024;

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Sign-in failed',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  429: 'Too many attempts',
  503: 'Busy',
};

function pageSession(request: FastifyRequest) {
  const session = sessionOf(request);
  return session ? { subject: session.subject, csrfToken: session.csrfToken } : undefined;
}

function renderError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof Redirect) return reply.redirect(error.location, 303);
  if (error instanceof ApiError) {
    if (error.status === 429 && error.detail) reply.header('retry-after', error.detail);
    const title = TITLES[error.status] ?? 'Request failed';
    return sendPage(reply, errorPage(title, error.message, pageSession(request)), error.status);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) {
    return sendPage(
      reply,
      errorPage(
        'Invalid request',
        'The form could not be read; reload the page and try again.',
        pageSession(request),
      ),
      400,
    );
  }
  request.log.error({ err: error }, 'dashboard request failed');
  return sendPage(
    reply,
    errorPage(
      'Something went wrong',
      'The request failed on the server; retry later.',
      pageSession(request),
    ),
    500,
  );
}

function setSessionCookie(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  sessionId: string,
): void {
  reply.setCookie(sessionCookieName(secureCookies(context, request)), sessionId, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: secureCookies(context, request),
    maxAge: context.config.dashboard.sessionAbsoluteSeconds,
  });
}

function clearSessionCookie(context: Context, request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(sessionCookieName(secureCookies(context, request)), {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: secureCookies(context, request),
  });
}

/** Render a sign-in form, setting a fresh pre-session cookie for its CSRF token. */
function showSignIn(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  kind: 'user' | 'operator',
  extra: {
    status?: number;
    email?: string | undefined;
    error?: string;
    notice?: string | undefined;
  } = {},
): FastifyReply {
  const nonce = context.sessions.newPreSessionNonce();
  reply.setCookie(PRE_SESSION_COOKIE, nonce, {
    httpOnly: true,
    sameSite: 'strict',
    path: BASE,
    secure: secureCookies(context, request),
    maxAge: 3600,
  });
  return sendPage(
    reply,
    signInPage({
      kind,
      token: context.sessions.preSessionToken(nonce),
      email: extra.email,
      error: extra.error,
      notice: extra.notice,
    }),
    extra.status ?? 200,
  );
}

async function signIn(
  context: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  kind: 'user' | 'operator',
): Promise<FastifyReply> {
  const email = field(request.body, 'email') ?? '';
  const password = field(request.body, 'password') ?? '';
  const validForm =
    sameOrigin(context, request) &&
    context.sessions.verifyPreSession(
      request.cookies[PRE_SESSION_COOKIE],
      field(request.body, '_csrf'),
    );
  if (!validForm) {
    return showSignIn(context, request, reply, kind, {
      status: 403,
      email,
      error: 'The sign-in form expired or did not come from this site. Try again.',
    });
  }
  try {
    const { sessionId } = await context.sessions.signIn(kind, email, password, request.ip);
    // A session cookie sent along belongs to the previous user of this browser, so end it.
    const previous = sessionOf(request);
    if (previous) await context.sessions.signOut(previous.sessionId, previous.subject, request.ip);
    setSessionCookie(context, request, reply, sessionId);
    reply.clearCookie(PRE_SESSION_COOKIE, {
      httpOnly: true,
      sameSite: 'strict',
      path: BASE,
      secure: secureCookies(context, request),
    });
    return reply.redirect(kind === 'user' ? `${BASE}/platform` : `${BASE}/operator`, 303);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 429 && error.detail) reply.header('retry-after', error.detail);
    return showSignIn(context, request, reply, kind, {
      status: error.status,
      email,
      error: error.message,
    });
  }
}

async function dashboardRoutes(scope: FastifyInstance, context: Context): Promise<void> {
  await scope.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // HSTS is for the TLS endpoint in front of the admin listener to send, not for plain HTTP.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'same-origin' },
  });
  await scope.register(formbody, { bodyLimit: BODY_LIMIT });

  scope.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith(`${BASE}/assets/`)) return;
    // Pages may show secrets once, and always personal data.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    await loadSession(context, request);
  });
  scope.addHook('preHandler', async (request) => {
    rejectNul(request);
    if (request.method === 'GET' || request.method === 'HEAD') return;
    // The sign-in forms run their own pre-session check.
    const route = request.routeOptions.url;
    if (route === `${BASE}/sign-in` || route === `${BASE}/operator/sign-in`) return;
    // Signing out without a live session only clears the cookie, so it needs no token.
    if (route === `${BASE}/sign-out` && !sessionOf(request)) return;
    checkChange(context, request);
  });
  scope.setErrorHandler((error, request, reply) => renderError(request, reply, error));
  scope.setNotFoundHandler((request, reply) =>
    sendPage(reply, errorPage('Not found', 'This page does not exist.', pageSession(request)), 404),
  );

  scope.get('/assets/dashboard.css', async (_request, reply) =>
    reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(STYLESHEET),
  );
  scope.get('/assets/dashboard.js', async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(SCRIPT),
  );

  scope.get('/', async (request, reply) => {
    const session = sessionOf(request);
    if (!session) return reply.redirect(`${BASE}/sign-in`, 303);
    return reply.redirect(
      session.subject.kind === 'user' ? `${BASE}/platform` : `${BASE}/operator`,
      303,
    );
  });
  scope.get('/sign-in', async (request, reply) =>
    showSignIn(context, request, reply, 'user', { notice: noticeOf(request) }),
  );
  scope.get('/operator/sign-in', async (request, reply) =>
    showSignIn(context, request, reply, 'operator', { notice: noticeOf(request) }),
  );
  scope.post('/sign-in', (request, reply) => signIn(context, request, reply, 'user'));
  scope.post('/operator/sign-in', (request, reply) => signIn(context, request, reply, 'operator'));
  scope.post('/sign-out', async (request, reply) => {
    const session = sessionOf(request);
    if (session) await context.sessions.signOut(session.sessionId, session.subject, request.ip);
    clearSessionCookie(context, request, reply);
    const target =
      session?.subject.kind === 'operator' ? `${BASE}/operator/sign-in` : `${BASE}/sign-in`;
    return reply.redirect(`${target}?notice=signed-out`, 303);
  });

  platformRoutes(scope, context);
  operatorRoutes(scope, context);
}

export async function dashboard(
  app: FastifyInstance,
  options: { context: Context },
): Promise<void> {
  await app.register((scope) => dashboardRoutes(scope, options.context), { prefix: BASE });
}
