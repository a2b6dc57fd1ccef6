/** Reading the audit log and checking its hash chain. */
import { type ChainVerdict, verifyChain } from '../domain/audit-chain.js';
import type { AuditFilter } from '../store/audit.js';
import type { Store } from '../store/index.js';

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
   * catches rows removed from the end.
   */
  async verify(): Promise<ChainVerdict> {
    let start = { prevHash: '', nextSeq: 1 };
    let checked = 0;
    let last: { id: number; seq: number; hash: string } | undefined;
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
    const head = await this.store.audit.head();
    if (head.seq !== (last?.seq ?? 0) || head.hash !== (last?.hash ?? '')) {
      return {
        ok: false,
        seq: head.seq,
        id: last?.id ?? 0,
        problem: `the chain ends at row ${last?.seq ?? 0} but its head records row ${head.seq}: rows were removed from the end`,
      };
    }
    return { ok: true, rows: checked };
  }
}
