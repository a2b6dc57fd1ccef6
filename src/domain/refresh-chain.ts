/**
 * Rules of a refresh-token chain. Each refresh consumes the token at the chain's current
 * generation and issues the next one. A token of an earlier generation presented again is
 * reuse: the whole chain is revoked, because one of its tokens has most likely leaked.
 */

/** What the store holds for a chain once one of its tokens has been used or revoked. */
export interface RefreshChainState {
  chainId: string;
  /** The only generation that may still be consumed. */
  nextGeneration: number;
  revokedAt: number | null;
}

export type RefreshVerdict =
  | { kind: 'consume' }
  | { kind: 'reuse' }
  | { kind: 'revoked' }
  | { kind: 'unknown-generation' };

/** Decide what presenting `generation` of a chain means, given what the store holds. */
export function judgeRefresh(
  generation: number,
  state: RefreshChainState | undefined,
): RefreshVerdict {
  const next = state?.nextGeneration ?? 0;
  if (state?.revokedAt != null) return { kind: 'revoked' };
  if (generation === next) return { kind: 'consume' };
  if (generation < next) return { kind: 'reuse' };
  // A generation ahead of the store can only come from a forged or replayed-after-restore token.
  return { kind: 'unknown-generation' };
}
