/**
 * Rules of a refresh-token chain. Each refresh consumes the token at the chain's current
 * generation and issues the next one. A token of an earlier generation presented again is
 * reuse: the whole chain is revoked, because one of its tokens has most likely leaked. The one
 * exception is a request that lost a race for the generation just consumed (see
 * REFRESH_RACE_WINDOW_MS).
 */

/** What the store holds for a chain once one of its tokens has been used or revoked. */
export interface RefreshChainState {
  chainId: string;
  /** The only generation that may still be consumed. */
  nextGeneration: number;
  revokedAt: number | null;
  /**
   * Last change of the row, in epoch milliseconds. For a live chain it is when
   * `nextGeneration - 1` was consumed.
   */
  updatedAt?: number;
}

/**
 * How long after a generation is consumed another request presenting it counts as having lost
 * a race, not as reuse, in milliseconds. Requests a client sends at once can reach the server
 * one after another (one Node process often finishes the first before it reads the second), so
 * only time distinguishes them from a replay. Within the window the loser gets `invalid_grant` and
 * the chain lives on in the winner's token; after it, presenting the token revokes the chain.
 * Times come from each node's clock, so clock skew between nodes shifts the window.
 */
export const REFRESH_RACE_WINDOW_MS = 2_000;

export type RefreshVerdict =
  | { kind: 'consume' }
  | { kind: 'lost-race' }
  | { kind: 'reuse' }
  | { kind: 'revoked' }
  | { kind: 'unknown-generation' };

/**
 * Decide what presenting `generation` of a chain means, given what the store holds. Without
 * `now` (epoch milliseconds) there is no race window, so every earlier generation is reuse.
 */
export function judgeRefresh(
  generation: number,
  state: RefreshChainState | undefined,
  now?: number,
): RefreshVerdict {
  const next = state?.nextGeneration ?? 0;
  if (state?.revokedAt != null) return { kind: 'revoked' };
  if (generation === next) return { kind: 'consume' };
  if (
    generation === next - 1 &&
    now !== undefined &&
    state?.updatedAt !== undefined &&
    now - state.updatedAt < REFRESH_RACE_WINDOW_MS
  ) {
    return { kind: 'lost-race' };
  }
  if (generation < next) return { kind: 'reuse' };
  // A generation ahead of the store can only come from a forged or replayed-after-restore token.
  return { kind: 'unknown-generation' };
}
