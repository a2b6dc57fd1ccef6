/** Reading the audit log and checking its hash chain. */
import { type ChainVerdict, verifyChain } from '../domain/audit-chain.js';
import type { AuditFilter } from '../store/audit.js';
import type { Store } from '../store/index.js';

/** Maximum number of passes `verify` makes, each over rows appended during the one before. */
const HEAD_ROUNDS = 3;

export class AuditLogService {
  constructor(
    private readonly store: Store,
    private readonly chainKey: Uint8Array,
  ) {}

  async list(filter: AuditFilter) {
    const rows = await this.store.audit.list(filter);
    return rows.map(({ data, prev_hash: _prev, hash: _hash, ...row }) => ({
      ...row,
      data: JSON.parse(data) as unknown,
    }));
  }

  /**
   * Check the whole chain a page at a time, then compare its end with the chain head, which
   * catches rows removed from the end. Rows appended while the check runs move the head past
   * the rows checked, so the check goes on from there, a few rounds at most, before it decides.
   */
  async verify(): Promise<ChainVerdict> {
    let start = { prevHash: '', nextSeq: 1 };
    let checked = 0;
    let last: { id: number; seq: number; hash: string } | undefined;
    let head = { seq: 0, hash: '' };
    for (let round = 0; round < HEAD_ROUNDS; round++) {
      for (;;) {
        const page = await this.store.audit.page(start.nextSeq - 1, 1000);
        if (page.length === 0) break;
        const verdict = verifyChain(this.chainKey, page, start);
        if (!verdict.ok) return verdict;
        checked += page.length;
        last = page[page.length - 1];
        if (!last) break;
        start = { prevHash: last.hash, nextSeq: last.seq + 1 };
      }
      // Read after the rows: an append writes its rows and the head in one transaction.
      head = await this.store.audit.head();
      if (head.seq <= (last?.seq ?? 0)) break;
    }
    const lastSeq = last?.seq ?? 0;
    if (head.seq !== lastSeq || head.hash !== (last?.hash ?? '')) {
      const cause =
        head.seq < lastSeq
          ? 'rows were added past the head, or the head was changed'
          : 'rows were removed from the end';
      return {
        ok: false,
        seq: head.seq,
        id: last?.id ?? 0,
        problem: `the chain ends at row ${lastSeq} but its head records row ${head.seq}: ${cause}`,
      };
    }
    return { ok: true, rows: checked };
  }
}
