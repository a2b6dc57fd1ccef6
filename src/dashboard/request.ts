/**
 * Per-request helpers of the dashboard: the session a request carries, the checks that guard
 * changes, reading form fields, and sending pages.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../app/context.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { MAX_OVERLAP_SECONDS } from '../services/credentials.js';
import type { PlatformViewer } from '../services/dashboard.js';
import {
  type ActiveSession,
  actorOf,
  isSameOrigin,
  type SessionSubject,
  sessionCookieName,
} from '../services/sessions.js';
import type { SafeHtml } from './html.js';
import { BASE } from './layout.js';

export interface RequestSession extends ActiveSession {
  /** The id from the cookie; needed to sign out. */
  sessionId: string;
}

const sessions = new WeakMap<FastifyRequest, RequestSession>();

/** Thrown to respond with a 303 redirect. */
export class Redirect extends Error {
  constructor(readonly location: string) {
    super(`redirect to ${location}`);
    this.name = 'Redirect';
  }
}

export async function loadSession(context: Context, request: FastifyRequest): Promise<void> {
  const sessionId = request.cookies[sessionCookieName(secureCookies(context, request))];
  const session = await context.sessions.resolve(sessionId);
  if (session && sessionId) sessions.set(request, { ...session, sessionId });
}

export function sessionOf(request: FastifyRequest): RequestSession | undefined {
  return sessions.get(request);
}

/** The origin this listener serves the dashboard from, for the `Origin` check. */
export function ownOrigin(context: Context, request: FastifyRequest): string {
  const configured = context.config.dashboard.publicUrl;
  return configured ? new URL(configured).origin : `${request.protocol}://${request.host}`;
}

export function sameOrigin(context: Context, request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  const referer = request.headers.referer;
  return isSameOrigin(
    ownOrigin(context, request),
    typeof origin === 'string' ? origin : undefined,
    typeof referer === 'string' ? referer : undefined,
  );
}

/** Whether session cookies get `Secure`: over TLS, or when configured for a TLS proxy. */
export function secureCookies(context: Context, request: FastifyRequest): boolean {
  return context.config.dashboard.secureCookies || request.protocol === 'https';
}

/** One string field of a form body; repeated fields and other types count as missing. */
export function field(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** A field that may be repeated, such as checkboxes of one name. */
export function fieldList(body: unknown, name: string): string[] {
  if (body === null || typeof body !== 'object') return [];
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Return the name of the first field that contains U+0000, in a parsed body, query or route
 * parameters, looking into arrays and objects. The walk keeps its own stack, so a deeply nested
 * JSON body cannot overflow the call stack.
 */
export function fieldWithNul(fields: unknown, label: string): string | undefined {
  const pending: Array<[string, unknown]> = [[label, fields]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [name, value] = next;
    if (typeof value === 'string' && value.includes('\u0000')) return name;
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        pending.push([Array.isArray(value) ? name : key, inner]);
      }
    }
  }
  return undefined;
}

/**
 * Reject input that contains U+0000 with `invalid_request`. PostgreSQL cannot store or compare
 * text with it and would fail the query, and no form field, filter or id needs it.
 */
export function rejectNul(request: FastifyRequest): void {
  const name =
    fieldWithNul(request.params, 'path') ??
    fieldWithNul(request.query, 'query') ??
    fieldWithNul(request.body, 'body');
  if (name !== undefined) {
    throw new ApiError(
      'invalid_request',
      `The field "${name.slice(0, 40)}" contains the NUL character (U+0000). Remove it and try again.`,
    );
  }
}

/**
 * Reject a state-changing request that lacks the session's CSRF token (form field `_csrf` or
 * header `X-CSRF-Token`) or comes from another origin. Runs after the body is parsed.
 */
export function checkChange(context: Context, request: FastifyRequest): void {
  const session = sessionOf(request);
  if (!session) {
    throw new ApiError(
      'forbidden',
      'Your session has ended. Sign in again, then repeat the change.',
    );
  }
  if (!sameOrigin(context, request)) {
    throw new ApiError(
      'forbidden',
      'The request did not come from the dashboard, so it was rejected.',
    );
  }
  const header = request.headers['x-csrf-token'];
  const submitted =
    field(request.body, '_csrf') ?? (typeof header === 'string' ? header : undefined);
  if (!context.sessions.verifyCsrf(session.sessionId, submitted)) {
    throw new ApiError(
      'forbidden',
      'The form is missing its security token or it is outdated. Reload the page and try again.',
    );
  }
}

function signInPath(request: FastifyRequest): string {
  return request.url.startsWith(`${BASE}/operator`)
    ? `${BASE}/operator/sign-in`
    : `${BASE}/sign-in`;
}

/**
 * The session of a platform user. Without a session a page redirects to sign-in; an operator's
 * session gets 404, as pages of platform users do not exist for it.
 */
export function requireUser(request: FastifyRequest): {
  session: RequestSession;
  viewer: PlatformViewer;
  actor: Actor;
} {
  const session = sessionOf(request);
  if (!session) throw new Redirect(signInPath(request));
  const subject = session.subject;
  if (subject.kind !== 'user') throw new ApiError('not_found', 'This page does not exist.');
  return {
    session,
    viewer: {
      userId: subject.userId,
      email: subject.email,
      platformId: subject.platformId,
      role: subject.role,
    },
    actor: actorOf(subject, request.ip),
  };
}

/** The session of an operator; a platform user's session gets 404. */
export function requireOperator(request: FastifyRequest): {
  session: RequestSession;
  subject: Extract<SessionSubject, { kind: 'operator' }>;
  actor: Actor;
} {
  const session = sessionOf(request);
  if (!session) throw new Redirect(signInPath(request));
  const subject = session.subject;
  if (subject.kind !== 'operator') throw new ApiError('not_found', 'This page does not exist.');
  return { session, subject, actor: actorOf(subject, request.ip) };
}

export function sendPage(reply: FastifyReply, content: SafeHtml, status = 200): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(content.value);
}

/** Messages shown after a redirect, by key, so that no text travels in the URL. */
export const NOTICES: Record<string, string> = {
  'comment-added': 'Your comment was added.',
  'item-checked': 'The checklist item was checked.',
  'user-added': 'The user was added. Tell them their password through a separate channel.',
  'module-disabled': 'The module was disabled and its secrets revoked.',
  'user-disabled': 'The user was disabled. Their sessions and tokens stop working.',
  'user-enabled': 'The user was enabled. Sessions ended by disabling stay ended.',
  'password-reset':
    "The password was reset, which ended the user's sessions. Tell them the new one through a separate channel.",
  'secret-revoked': 'The secret was revoked and stops working at once.',
  'allowlist-saved': 'The allowlist was saved.',
  suspended: 'The platform was suspended. Its calls and tokens stop at once.',
  resumed: 'The platform was resumed.',
  'signed-out': 'You signed out.',
  'session-ended': 'Your session ended. Sign in again.',
};

export function noticeOf(request: FastifyRequest): string | undefined {
  const key = (request.query as Record<string, unknown> | undefined)?.notice;
  return typeof key === 'string' ? NOTICES[key] : undefined;
}

/** Parse a `datetime-local` value as UTC, to epoch milliseconds. */
export function parseLocalTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) {
    throw new ApiError(
      'invalid_request',
      `"${value.slice(0, 40)}" is not a time such as 2026-12-04T10:00.`,
    );
  }
  const at = Date.parse(`${value}Z`);
  // V8 accepts days past the end of the month, such as February 31, and rolls them over.
  if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 16) !== value.slice(0, 16)) {
    throw new ApiError('invalid_request', `"${value}" is not a valid date and time.`);
  }
  return at;
}

/**
 * Parse an overlap in whole seconds from a form field, with the rotation's own limit, so that a
 * bad value is rejected before the form's one-time token is spent.
 */
export function parseOverlap(value: string | undefined): number {
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) {
    throw new ApiError(
      'invalid_request',
      'The overlap must be a whole number of seconds, such as 86400.',
    );
  }
  const seconds = Number(value.trim());
  if (seconds > MAX_OVERLAP_SECONDS) {
    throw new ApiError(
      'invalid_request',
      `The overlap must be a whole number of seconds from 0 to ${MAX_OVERLAP_SECONDS}.`,
    );
  }
  return seconds;
}
