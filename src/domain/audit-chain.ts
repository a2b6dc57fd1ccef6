/**
 * The audit log's hash chain. Each row stores HMAC-SHA-256 over the previous row's hash and its
 * own fields, so changing, removing or reordering any row breaks every hash after it. The key is
 * derived from the master key, which the database does not hold, so whoever can write to the
 * database cannot compute the hashes again to hide a change.
 */
import { createHmac } from 'node:crypto';

/** The fields of an audit row that the hash covers. */
export interface AuditEntry {
  seq: number;
  at: number;
  actor_kind: string;
  actor_id: string;
  address: string | null;
  action: string;
  outcome: string;
  platform_id: string | null;
  environment: string | null;
  data: string;
}

export function auditHash(key: Uint8Array, prevHash: string, entry: AuditEntry): string {
  // A JSON array fixes the order of fields and escapes every separator inside them.
  const fields = [
    prevHash,
    entry.seq,
    entry.at,
    entry.actor_kind,
    entry.actor_id,
    entry.address,
    entry.action,
    entry.outcome,
    entry.platform_id,
    entry.environment,
    entry.data,
  ];
  return createHmac('sha256', key).update(JSON.stringify(fields)).digest('hex');
}

export type ChainVerdict =
  | { ok: true; rows: number }
  | { ok: false; seq: number; id: number; problem: string };

/**
 * Check rows given in `seq` order. `start` is where they continue the chain: by default the
 * first row of the log, which has sequence 1 and an empty previous hash.
 */
export function verifyChain(
  key: Uint8Array,
  rows: Array<AuditEntry & { id: number; prev_hash: string; hash: string }>,
  start: { prevHash: string; nextSeq: number } = { prevHash: '', nextSeq: 1 },
): ChainVerdict {
  let prevHash = start.prevHash;
  let expectedSeq = start.nextSeq;
  for (const row of rows) {
    if (row.seq !== expectedSeq) {
      return {
        ok: false,
        seq: row.seq,
        id: row.id,
        problem: `sequence jumps from ${expectedSeq - 1} to ${row.seq}: rows are missing`,
      };
    }
    if (row.prev_hash !== prevHash) {
      return {
        ok: false,
        seq: row.seq,
        id: row.id,
        problem: 'its prev_hash does not match the hash of the row before it',
      };
    }
    if (auditHash(key, prevHash, row) !== row.hash) {
      return {
        ok: false,
        seq: row.seq,
        id: row.id,
        problem: 'its content does not match its hash: the row was altered',
      };
    }
    prevHash = row.hash;
    expectedSeq++;
  }
  return { ok: true, rows: rows.length };
}
