/**
 * Password hashing with argon2id (OWASP's minimum: 19 MiB, 2 passes, 1 lane). Hashing is
 * deliberately slow, so at most `maxConcurrent` run at once and at most `maxQueued` wait; past
 * that, sign-ins are turned away at once and the other routes keep their share of the CPU.
 */
import { hash, verify } from '@node-rs/argon2';

const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id, a const enum that verbatimModuleSyntax cannot import */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export class PasswordHasherBusy extends Error {
  constructor() {
    super('Too many sign-ins are being checked at once; retry in a second');
    this.name = 'PasswordHasherBusy';
  }
}

/** A check whose requester went away while it waited for the hasher; it was never run. */
export class PasswordCheckAbandoned extends Error {
  constructor() {
    super('The client closed the connection before its password was checked');
    this.name = 'PasswordCheckAbandoned';
  }
}

export class PasswordHasher {
  /** Checks skipped since start because their requester had gone away while they waited. */
  abandoned = 0;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly limits: { maxConcurrent: number; maxQueued: number } = {
      maxConcurrent: 2,
      maxQueued: 64,
    },
  ) {}

  /**
   * Run `work` in a slot. A check whose `signal` aborted while it waited is skipped, so that
   * sign-ins abandoned by their clients do not hold the slots of those still waiting.
   */
  private async withSlot<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.limits.maxConcurrent) {
      if (this.waiting.length >= this.limits.maxQueued) throw new PasswordHasherBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      if (signal?.aborted) {
        this.abandoned++;
        throw new PasswordCheckAbandoned();
      }
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` only drops when none waits.
      if (next) next();
      else this.running--;
    }
  }

  hash(password: string): Promise<string> {
    return this.withSlot(() => hash(password, OPTIONS));
  }

  verify(passwordHash: string, password: string, signal?: AbortSignal): Promise<boolean> {
    return this.withSlot(() => verify(passwordHash, password), signal);
  }

  /**
   * Spend the same time as a real check when there is no user to check against, so that the
   * response time does not tell whether an email address has an account.
   */
  async verifyNothing(password: string, signal?: AbortSignal): Promise<false> {
    this.dummyHash ??= hash('gatepass timing equalizer', OPTIONS);
    await this.withSlot(
      async () => verify(await (this.dummyHash as Promise<string>), password),
      signal,
    );
    return false;
  }
}

/** Minimum password policy: 12 to 1024 characters. Length beats composition rules (NIST SP 800-63B). */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 12) return 'must be at least 12 characters long';
  if (password.length > 1024) return 'must be at most 1024 characters long';
  return undefined;
}
