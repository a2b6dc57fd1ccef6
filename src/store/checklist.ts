/** Go-live checklist state: checked items, the comment thread and approvals. */
import type { Insertable, Kysely } from 'kysely';
import type { ChecklistCommentTable, ChecklistItemTable, Database } from './schema.js';

export class ChecklistStore {
  constructor(private readonly db: Kysely<Database>) {}

  items(platformId: string) {
    return this.db
      .selectFrom('checklist_items')
      .selectAll()
      .where('platform_id', '=', platformId)
      .execute();
  }

  async check(item: ChecklistItemTable): Promise<void> {
    const { platform_id: _p, item_id: _i, ...changes } = item;
    await this.db
      .insertInto('checklist_items')
      .values(item)
      .onConflict((oc) => oc.columns(['platform_id', 'item_id']).doUpdateSet(changes))
      .execute();
  }

  async uncheck(platformId: string, itemId: string): Promise<void> {
    await this.db
      .deleteFrom('checklist_items')
      .where('platform_id', '=', platformId)
      .where('item_id', '=', itemId)
      .execute();
  }

  comments(platformId: string) {
    return this.db
      .selectFrom('checklist_comments')
      .selectAll()
      .where('platform_id', '=', platformId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  async addComment(comment: Insertable<ChecklistCommentTable>): Promise<void> {
    await this.db.insertInto('checklist_comments').values(comment).execute();
  }

  approvals(platformId: string) {
    return this.db
      .selectFrom('approvals')
      .selectAll()
      .where('platform_id', '=', platformId)
      .orderBy('approved_at')
      .execute();
  }

  /** Record an approval; returns false when this operator had already approved. */
  async addApproval(platformId: string, operatorId: string, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('approvals')
      .values({ platform_id: platformId, operator_id: operatorId, approved_at: at })
      .onConflict((oc) => oc.columns(['platform_id', 'operator_id']).doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }
}
