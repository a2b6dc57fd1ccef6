/** Operators' dashboard accounts: an email and an argon2id password hash per operator. */
import { isValidEmail, normalizeEmail } from '../domain/email.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { randomId } from '../domain/secrets.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';
import { type PasswordHasher, passwordProblem } from './passwords.js';

const SECRET_IN_EMAIL = /gp_(test|live|admin)_[A-Za-z0-9_-]{20,}/;

export class OperatorAccountService {
  constructor(
    private readonly store: Store,
    private readonly passwords: PasswordHasher,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Give an operator a dashboard account. `operatorName` names the operator to attach it to;
   * when undefined, the operator is the one named by the email, created on first use. Each
   * operator has at most one account and each email belongs to one account.
   */
  async add(
    input: { email: string; password: string; operatorName?: string | undefined },
    actor: Actor,
  ): Promise<{ operator: string; email: string }> {
    const email = normalizeEmail(input.email);
    if (!isValidEmail(email) || SECRET_IN_EMAIL.test(email))
      throw new ApiError('invalid_request', `"${input.email}" is not a valid email address.`);
    const problem = passwordProblem(input.password);
    if (problem) throw new ApiError('invalid_request', `The password ${problem}.`);
    const name = input.operatorName ?? email;
    const passwordHash = await this.passwords.hash(input.password);
    const at = this.now();

    const operatorId = await this.store.transaction(async (store) => {
      if (await store.dashboard.findOperatorAccount(email)) {
        throw new ApiError(
          'conflict',
          `An operator account with the email ${email} already exists.`,
        );
      }
      let operator = await store.operators.findByName(name);
      if (!operator) {
        operator = { id: `op_${randomId(16)}`, name, created_at: at, disabled_at: null };
        await store.operators.insert(operator);
      } else if (await store.dashboard.findOperatorAccountById(operator.id)) {
        throw new ApiError('conflict', `Operator ${name} already has a dashboard account.`);
      }
      await store.dashboard.insertOperatorAccount({
        operator_id: operator.id,
        email,
        password_hash: passwordHash,
        created_at: at,
        updated_at: at,
        password_changed_at: at,
      });
      return operator.id;
    });
    this.events.emit({ type: 'operator.account_created', at, actor, operatorId, email });
    return { operator: name, email };
  }

  list() {
    return this.store.dashboard.listOperatorAccounts();
  }
}
