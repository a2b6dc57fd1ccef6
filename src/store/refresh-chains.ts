/**
 * Refresh-chain state. A chain has a row only once one of its tokens was used or revoked; the
 * row holds the chain id, never a token.
 */
import type { Kysely } from 'kysely';
import type { RefreshChainState } from '../domain/refresh-chain.js';
import type { Database } from './schema.js';

export interface ChainOwner {
  chainId: string;
  environment: string;
  platformId: string;
  userId: string | null;
  expiresAt: number;
}

export class RefreshChainStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(chainId: string): Promise<RefreshChainState | undefined> {
    const row = await this.db
      .selectFrom('refresh_chains')
      .select(['chain_id', 'next_generation', 'revoked_at', 'updated_at'])
      .where('chain_id', '=', chainId)
      .executeTakeFirst();
    return (
      row && {
        chainId: row.chain_id,
        nextGeneration: row.next_generation,
        revokedAt: row.revoked_at,
        updatedAt: row.updated_at,
      }
    );
  }

  /**
   * Consume `generation` of a chain atomically. Returns true for exactly one of any number of
   * concurrent callers presenting the same generation, on SQLite and PostgreSQL alike: the first
   * use inserts the row (a conflicting insert does nothing), later uses advance it with a
   * compare-and-set on `next_generation`.
   */
  async consume(owner: ChainOwner, generation: number, at: number): Promise<boolean> {
    if (generation === 0) {
      const inserted = await this.db
        .insertInto('refresh_chains')
        .values({
          chain_id: owner.chainId,
          environment: owner.environment,
          platform_id: owner.platformId,
          user_id: owner.userId,
          next_generation: 1,
          revoked_at: null,
          revoked_reason: null,
          expires_at: owner.expiresAt,
          updated_at: at,
        })
        .onConflict((oc) => oc.column('chain_id').doNothing())
        .executeTakeFirst();
      return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
    }
    const updated = await this.db
      .updateTable('refresh_chains')
      .set({ next_generation: generation + 1, expires_at: owner.expiresAt, updated_at: at })
      .where('chain_id', '=', owner.chainId)
      .where('next_generation', '=', generation)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n;
  }

  /** Revoke a chain, creating its row if no token of it was used yet. */
  async revoke(owner: ChainOwner, reason: string, at: number): Promise<void> {
    await this.db
      .insertInto('refresh_chains')
      .values({
        chain_id: owner.chainId,
        environment: owner.environment,
        platform_id: owner.platformId,
        user_id: owner.userId,
        next_generation: 0,
        revoked_at: at,
        revoked_reason: reason,
        expires_at: owner.expiresAt,
        updated_at: at,
      })
      .onConflict((oc) =>
        oc
          .column('chain_id')
          .doUpdateSet({ revoked_at: at, revoked_reason: reason, updated_at: at })
          .where('refresh_chains.revoked_at', 'is', null),
      )
      .execute();
  }
}
