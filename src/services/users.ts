/** Platform users: people of a platform who sign in to the dashboard or use `user_credentials`. */
import { isValidEmail, normalizeEmail } from '../domain/email.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { newUserId } from '../domain/identifiers.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';
import { type PasswordHasher, passwordProblem } from './passwords.js';

export const ROLES = ['owner', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export class UserService {
  constructor(
    private readonly store: Store,
    private readonly passwords: PasswordHasher,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  async add(
    input: { platformId: string; email: string; role: string; password: string },
    actor: Actor,
  ): Promise<{ id: string; email: string; role: Role; platform_id: string }> {
    const email = normalizeEmail(input.email);
    if (!isValidEmail(email))
      throw new ApiError('invalid_request', `"${input.email}" is not a valid email address.`);
    if (!ROLES.includes(input.role as Role)) {
      throw new ApiError(
        'invalid_request',
        `Role "${input.role}" is not one of: ${ROLES.join(', ')}.`,
      );
    }
    const problem = passwordProblem(input.password);
    if (problem) throw new ApiError('invalid_request', `The password ${problem}.`);
    if (!(await this.store.platforms.find(input.platformId))) {
      throw new ApiError(
        'not_found',
        `No platform has the id "${input.platformId}". List platforms with: gatepass platforms list`,
      );
    }
    if (await this.store.users.findByEmail(email)) {
      throw new ApiError(
        'conflict',
        `A user with the email ${email} already exists; emails are compared without case.`,
      );
    }

    const id = newUserId();
    const at = this.now();
    const passwordHash = await this.passwords.hash(input.password);
    try {
      await this.store.users.insert({
        id,
        platform_id: input.platformId,
        email,
        password_hash: passwordHash,
        role: input.role as Role,
        status: 'active',
        created_at: at,
        updated_at: at,
        password_changed_at: at,
        sessions_revoked_at: null,
      });
    } catch (error) {
      // A concurrent add of the same email loses on the unique index.
      if (await this.store.users.findByEmail(email)) {
        throw new ApiError(
          'conflict',
          `A user with the email ${email} already exists; emails are compared without case.`,
        );
      }
      throw error;
    }
    this.events.emit({
      type: 'user.added',
      at,
      actor,
      platformId: input.platformId,
      userId: id,
      email,
      role: input.role,
    });
    return { id, email, role: input.role as Role, platform_id: input.platformId };
  }

  private async user(userId: string) {
    const user = await this.store.users.find(userId);
    if (!user) throw new ApiError('not_found', `No user has the id "${userId}".`);
    return user;
  }

  async list(platformId: string) {
    if (!(await this.store.platforms.find(platformId))) {
      throw new ApiError('not_found', `No platform has the id "${platformId}".`);
    }
    const users = await this.store.users.listFor(platformId);
    return users.map((u) => ({
      id: u.id,
      email: u.email,
      role: u.role,
      status: u.status,
      created_at: u.created_at,
    }));
  }

  /** Disable a user: sign-in stops, and the user's tokens and refresh tokens stop working. */
  async disable(userId: string, actor: Actor): Promise<void> {
    const user = await this.user(userId);
    const at = this.now();
    await this.store.users.setStatus(userId, 'disabled', at);
    this.events.emit({ type: 'user.disabled', at, actor, platformId: user.platform_id, userId });
  }

  /** Enable a disabled user. Sessions ended by disabling stay ended. */
  async enable(userId: string, actor: Actor): Promise<void> {
    const user = await this.user(userId);
    const at = this.now();
    await this.store.users.setStatus(userId, 'active', at);
    this.events.emit({ type: 'user.enabled', at, actor, platformId: user.platform_id, userId });
  }

  /** Set a new password, ending every session of the user. */
  async resetPassword(userId: string, password: string, actor: Actor): Promise<void> {
    const problem = passwordProblem(password);
    if (problem) throw new ApiError('invalid_request', `The password ${problem}.`);
    const user = await this.user(userId);
    const hash = await this.passwords.hash(password);
    // Taken after hashing, so that a sign-in with the old password that finished while the new
    // one was hashed still predates the reset and its session or tokens are revoked.
    const at = this.now();
    await this.store.users.setPassword(userId, hash, at);
    this.events.emit({
      type: 'user.password_changed',
      at,
      actor,
      platformId: user.platform_id,
      userId,
    });
  }
}
