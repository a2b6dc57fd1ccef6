/**
 * Dashboard sign-in and sessions, for platform users and operators alike. A session id is 256
 * random bits that only the browser's cookie holds; the database keeps its SHA-256. Each session
 * ends after an idle time and an absolute time, at sign-out, and when its person's password
 * changes, the person is disabled, or the user's platform is suspended.
 *
 * Sign-in follows the `user_credentials` grant: the same lockout (a shared `SignInGuard`), the
 * same argon2id hasher, and an unknown email costs as much time as a wrong password.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { normalizeEmail } from '../domain/email.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { constantTimeEqual } from '../domain/secrets.js';
import type { SessionRow } from '../store/dashboard.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';
import { type PasswordHasher, PasswordHasherBusy } from './passwords.js';
import type { SignInGuard } from './sign-in-guard.js';
import type { Role } from './users.js';

export type SessionSubject =
  | { kind: 'user'; userId: string; email: string; platformId: string; role: Role }
  | { kind: 'operator'; operatorId: string; name: string; email: string };

export interface ActiveSession {
  subject: SessionSubject;
  /** The per-session token that every change must carry. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionSettings {
  idleSeconds: number;
  absoluteSeconds: number;
}

/**
 * Return the name of the cookie that carries the session id, on the dashboard and the admin API.
 * A `Secure` cookie gets the `__Host-` prefix, with which browsers accept it only from this host,
 * with `Path=/` and no `Domain`, so a sibling subdomain cannot plant a session of its own in front
 * of it (RFC 6265bis, section 4.1.3.2). Plain HTTP cannot carry the prefix.
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-gatepass_session' : 'gatepass_session';
}

const WRONG_CREDENTIALS = 'The email or password is incorrect.';

/** SHA-256 of a session id, hex: what the database stores in place of the id. */
export function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

/** The actor an audit row names for a session's person. */
export function actorOf(subject: SessionSubject, address: string): Actor {
  return subject.kind === 'user'
    ? { kind: 'user', id: subject.email, address }
    : { kind: 'operator', id: subject.name, address };
}

/**
 * Whether a state-changing request comes from `expected` (an origin such as
 * `http://127.0.0.1:8080`): its `Origin` header must name it, or, only when a browser sent no
 * `Origin`, its `Referer` must start with it. A request with neither is rejected.
 */
export function isSameOrigin(
  expected: string,
  origin: string | undefined,
  referer: string | undefined,
): boolean {
  const originOf = (value: string): string | undefined => {
    try {
      return new URL(value).origin;
    } catch {
      return undefined;
    }
  };
  if (origin !== undefined) return origin !== 'null' && originOf(origin) === expected;
  if (referer !== undefined) return originOf(referer) === expected;
  return false;
}

/** Whether a revocation at `revokedAt` ends a session started at `startedAt`; the same millisecond counts. */
function revokedSince(revokedAt: number | null, startedAt: number): boolean {
  return revokedAt !== null && Number(revokedAt) >= Number(startedAt);
}

export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly passwords: PasswordHasher,
    private readonly guard: SignInGuard,
    private readonly events: EventBus,
    /** Key of the CSRF tokens, derived from the master key. */
    private readonly csrfKey: Buffer,
    private readonly settings: SessionSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** The CSRF token of a session: an HMAC of its id, so nothing more is stored. */
  csrfToken(sessionId: string): string {
    return createHmac('sha256', this.csrfKey)
      .update(`session\u0000${sessionId}`)
      .digest('base64url');
  }

  /** Compare a submitted CSRF token with the session's, in constant time. */
  verifyCsrf(sessionId: string, submitted: string | undefined): boolean {
    if (typeof submitted !== 'string' || submitted === '') return false;
    return constantTimeEqual(this.csrfToken(sessionId), submitted);
  }

  /** A random value for the pre-session cookie that protects the sign-in form. */
  newPreSessionNonce(): string {
    return randomBytes(24).toString('base64url');
  }

  /** The sign-in form's CSRF token, bound to the pre-session cookie's nonce. */
  preSessionToken(nonce: string): string {
    return createHmac('sha256', this.csrfKey)
      .update(`pre-session\u0000${nonce}`)
      .digest('base64url');
  }

  verifyPreSession(nonce: string | undefined, submitted: string | undefined): boolean {
    if (!nonce || typeof submitted !== 'string' || submitted === '') return false;
    return constantTimeEqual(this.preSessionToken(nonce), submitted);
  }

  /**
   * Check an email and password, under the sign-in lockout, and start a session. Returns the new
   * session id, which only the cookie may keep. Throws `invalid_credentials` (401) for a wrong
   * email or password, a disabled account or a suspended platform alike, `rate_limited` (429)
   * while locked out, and `service_unavailable` (503) when the password hasher is saturated.
   */
  async signIn(
    kind: 'user' | 'operator',
    email: string,
    password: string,
    address: string,
  ): Promise<{ sessionId: string; subject: SessionSubject }> {
    const normalized = normalizeEmail(email);
    const reject = (reason: string, known: boolean): never => {
      this.events.emit({
        type: 'session.refused',
        at: this.now(),
        actor: { kind: 'anonymous', id: known ? normalized : '(unknown email)', address },
        subjectKind: kind,
        reason,
        // People type their password into the email field, so only known addresses are kept.
        ...(known ? { email: normalized } : {}),
      });
      throw new ApiError('invalid_credentials', WRONG_CREDENTIALS, reason);
    };

    const lock = this.guard.check(normalized, address);
    if (!lock.allowed) {
      this.events.emit({
        type: 'session.refused',
        at: this.now(),
        actor: { kind: 'anonymous', id: normalized, address },
        subjectKind: kind,
        reason: 'locked_out',
      });
      throw new ApiError(
        'rate_limited',
        `Too many failed sign-ins for this email from this address; retry in ${lock.retryAfterSeconds} s.`,
        String(lock.retryAfterSeconds),
      );
    }
    // Counted before the check, in the same synchronous step, so concurrent guesses cannot all
    // pass the lock first. A success clears it.
    this.guard.recordFailure(normalized, address);

    // The session starts before the account is read, so a disabling, suspension or password reset
    // stamped while the password is checked ends it. A reset stamps its time after hashing the
    // new password and just before storing it, so the second read below returns the new hash.
    const at = this.now();
    const account =
      kind === 'user'
        ? await this.store.users.findByEmail(normalized)
        : await this.store.dashboard.findOperatorAccount(normalized);
    let valid: boolean;
    try {
      valid = account
        ? await this.passwords.verify(account.password_hash, password)
        : await this.passwords.verifyNothing(password);
    } catch (error) {
      if (error instanceof PasswordHasherBusy)
        throw new ApiError('service_unavailable', error.message);
      throw error;
    }
    if (!account) return reject('unknown_email', false);
    if (!valid) return reject('wrong_password', true);

    // The account is read again, as it may have changed while the password was checked. A new
    // password hash means the checked password is no longer the account's.
    let subject: SessionSubject;
    if (kind === 'user') {
      const user = await this.store.users.findByEmail(normalized);
      if (!user || user.status !== 'active') return reject('user_disabled', true);
      if (user.password_hash !== account.password_hash) return reject('password_changed', true);
      const platform = await this.store.platforms.find(user.platform_id);
      if (!platform || platform.status === 'suspended') return reject('platform_suspended', true);
      subject = {
        kind: 'user',
        userId: user.id,
        email: user.email,
        platformId: user.platform_id,
        role: user.role,
      };
    } else {
      const operator = await this.store.dashboard.findOperatorAccount(normalized);
      if (!operator || operator.disabled_at !== null) return reject('operator_disabled', true);
      if (operator.password_hash !== account.password_hash) return reject('password_changed', true);
      subject = {
        kind: 'operator',
        operatorId: operator.operator_id,
        name: operator.name,
        email: operator.email,
      };
    }
    this.guard.recordSuccess(normalized, address);

    const sessionId = randomBytes(32).toString('base64url');
    await this.store.dashboard.purgeSessions(
      at,
      at - this.settings.idleSeconds * 1000,
      at - this.settings.absoluteSeconds * 1000,
    );
    await this.store.dashboard.insertSession({
      id_hash: hashSessionId(sessionId),
      subject_kind: subject.kind,
      subject_id: subject.kind === 'user' ? subject.userId : subject.operatorId,
      platform_id: subject.kind === 'user' ? subject.platformId : null,
      created_at: at,
      last_seen_at: at,
      expires_at: at + this.settings.absoluteSeconds * 1000,
    });
    this.events.emit({
      type: 'session.started',
      at,
      actor: actorOf(subject, address),
      subjectKind: subject.kind,
      subjectId: subject.kind === 'user' ? subject.userId : subject.operatorId,
      ...(subject.kind === 'user' ? { platformId: subject.platformId } : {}),
    });
    return { sessionId, subject };
  }

  /**
   * Return the live session with this id and mark it used, or undefined. A session past its idle
   * or absolute end, or whose person can no longer sign in, is deleted.
   */
  async resolve(sessionId: string | undefined): Promise<ActiveSession | undefined> {
    if (!sessionId || sessionId.length > 128) return undefined;
    const idHash = hashSessionId(sessionId);
    const row = await this.store.dashboard.findSession(idHash);
    if (!row) return undefined;
    const at = this.now();
    const idle = at - row.last_seen_at > this.settings.idleSeconds * 1000;
    const subject = idle || at >= row.expires_at ? undefined : await this.subjectOf(row);
    if (!subject) {
      await this.store.dashboard.deleteSession(idHash);
      return undefined;
    }
    await this.store.dashboard.touchSession(idHash, at);
    return {
      subject,
      csrfToken: this.csrfToken(sessionId),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  /** The person a session row belongs to, if that person may still use it. */
  private async subjectOf(row: SessionRow): Promise<SessionSubject | undefined> {
    if (row.subject_kind === 'user') {
      const user = await this.store.users.find(row.subject_id);
      if (!user || user.status !== 'active' || user.platform_id !== row.platform_id)
        return undefined;
      // Disabling the user, changing the password and suspending the platform set these times,
      // so a session they ended stays ended after re-enabling or resuming.
      if (revokedSince(user.sessions_revoked_at, row.created_at)) return undefined;
      const platform = await this.store.platforms.find(user.platform_id);
      if (!platform || platform.status === 'suspended') return undefined;
      if (revokedSince(platform.sessions_revoked_at, row.created_at)) return undefined;
      return {
        kind: 'user',
        userId: user.id,
        email: user.email,
        platformId: user.platform_id,
        role: user.role,
      };
    }
    const operator = await this.store.dashboard.findOperatorAccountById(row.subject_id);
    if (!operator || operator.disabled_at !== null) return undefined;
    if (revokedSince(operator.password_changed_at, row.created_at)) return undefined;
    return {
      kind: 'operator',
      operatorId: operator.operator_id,
      name: operator.name,
      email: operator.email,
    };
  }

  /**
   * Spend a form's one-time token. Throws `conflict` when the form was submitted before, as a
   * reload of the page that showed a secret does, so the change is not made a second time.
   */
  async spendFormToken(sessionId: string, token: string | undefined): Promise<void> {
    if (!token || token.length > 64) {
      throw new ApiError(
        'invalid_request',
        'The form is incomplete. Reload the page and try again.',
      );
    }
    const fresh = await this.store.dashboard.useFormToken(
      hashSessionId(sessionId),
      token,
      this.now(),
    );
    if (!fresh) {
      throw new ApiError(
        'conflict',
        'This form was already submitted, so nothing was changed again. Secrets are shown only once, on the page that answered the first submission.',
      );
    }
  }

  /** Delete a session on the server, so its cookie no longer works anywhere. */
  async signOut(sessionId: string, subject: SessionSubject, address: string): Promise<void> {
    const deleted = await this.store.dashboard.deleteSession(hashSessionId(sessionId));
    if (!deleted) return;
    this.events.emit({
      type: 'session.ended',
      at: this.now(),
      actor: actorOf(subject, address),
      subjectKind: subject.kind,
      subjectId: subject.kind === 'user' ? subject.userId : subject.operatorId,
      ...(subject.kind === 'user' ? { platformId: subject.platformId } : {}),
    });
  }
}
