/** Operator API keys: created once per call, shown once, stored as keyed hashes. */
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import {
  generateOperatorKey,
  hashSecret,
  isOperatorKey,
  randomId,
  secretHint,
} from '../domain/secrets.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';

export interface OperatorIdentity {
  operatorId: string;
  name: string;
  keyId: string;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const SECRET_IN_NAME = /gp_(test|live|admin)_[A-Za-z0-9_-]{20,}/;

export class OperatorService {
  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly hashKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Create a key for operator `name`, creating the operator on first use. */
  async createKey(
    name: string,
    actor: Actor,
  ): Promise<{ operator: string; key_id: string; key: string }> {
    if (!NAME_PATTERN.test(name)) {
      throw new ApiError(
        'invalid_request',
        `Operator name "${name}" must be 1 to 100 letters, digits, ".", "_", "@" or "-".`,
      );
    }
    // The name is stored, listed and written into every audit row of the operator.
    if (SECRET_IN_NAME.test(name)) {
      throw new ApiError(
        'invalid_request',
        'The operator name looks like a Gatepass secret or key; choose a name such as an email address.',
      );
    }
    const at = this.now();
    const key = generateOperatorKey();
    const keyId = `opk_${randomId(16)}`;
    const operatorId = await this.store.transaction(async (store) => {
      let operator = await store.operators.findByName(name);
      if (!operator) {
        operator = { id: `op_${randomId(16)}`, name, created_at: at, disabled_at: null };
        await store.operators.insert(operator);
      }
      await store.operators.insertKey({
        id: keyId,
        operator_id: operator.id,
        key_hash: hashSecret(this.hashKey, key),
        hint: secretHint(key),
        created_at: at,
        revoked_at: null,
        last_used_at: null,
      });
      return operator.id;
    });
    this.events.emit({ type: 'operator.key_created', at, actor, operatorId, keyId, name });
    return { operator: name, key_id: keyId, key };
  }

  /** Return the operator a key belongs to, or undefined for any key that is not live. */
  async authenticate(key: string): Promise<OperatorIdentity | undefined> {
    if (!isOperatorKey(key)) return undefined;
    // The lookup is by keyed hash, so the database compares digests, never the key.
    const found = await this.store.operators.findKey(hashSecret(this.hashKey, key));
    if (!found) return undefined;
    await this.store.operators.touchKey(found.key_id, this.now());
    return { operatorId: found.operator_id, name: found.name, keyId: found.key_id };
  }

  listKeys() {
    return this.store.operators.listKeys();
  }

  async revokeKey(keyId: string, actor: Actor): Promise<void> {
    const at = this.now();
    const key = await this.store.operators.revokeKey(keyId, at);
    if (!key) throw new ApiError('not_found', `No live operator key has the id "${keyId}".`);
    this.events.emit({
      type: 'operator.key_revoked',
      at,
      actor,
      operatorId: key.operator_id,
      keyId,
      name: key.name,
    });
  }
}
