/**
 * Lockout with growing delays for repeated failed sign-ins. Failures are counted per email and
 * client address together, so an outsider guessing from elsewhere cannot lock a user out, and
 * case or spacing variants of one email count as one. The `threshold`-th failure locks that pair
 * for `baseSeconds`, and each further one for twice as long as the last, up to 15 minutes. A success
 * clears the count. State is in memory, bounded, and forgotten after an hour without failures.
 */
import { BoundedCache } from './cache.js';

const MAX_LOCK_SECONDS = 15 * 60;
const FORGET_AFTER_MS = 3600 * 1000;

interface FailureState {
  failures: number;
  lockedUntil: number;
}

export type SignInCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class SignInGuard {
  private readonly state: BoundedCache<string, FailureState>;

  constructor(
    private readonly settings: { threshold: number; baseSeconds: number },
    private readonly now: () => number = Date.now,
  ) {
    this.state = new BoundedCache({ maxEntries: 100_000, ttlMs: FORGET_AFTER_MS, now });
  }

  private key(email: string, address: string): string {
    return `${email}\u0000${address}`;
  }

  check(email: string, address: string): SignInCheck {
    const entry = this.state.peek(this.key(email, address));
    const remaining = entry ? entry.lockedUntil - this.now() : 0;
    return remaining > 0
      ? { allowed: false, retryAfterSeconds: Math.ceil(remaining / 1000) }
      : { allowed: true };
  }

  recordFailure(email: string, address: string): void {
    const key = this.key(email, address);
    const failures = (this.state.peek(key)?.failures ?? 0) + 1;
    const over = failures - this.settings.threshold;
    const lockSeconds =
      over >= 0 ? Math.min(this.settings.baseSeconds * 2 ** over, MAX_LOCK_SECONDS) : 0;
    this.state.set(key, { failures, lockedUntil: this.now() + lockSeconds * 1000 });
  }

  recordSuccess(email: string, address: string): void {
    this.state.delete(this.key(email, address));
  }
}
