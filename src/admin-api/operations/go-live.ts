/** Operations on the go-live checklist and approval. */
import { z } from 'zod';
import { platformId } from './fields.js';
import { operation } from './types.js';

export const goLiveOperations = [
  operation({
    name: 'checklist.show',
    method: 'GET',
    path: '/admin/v1/platforms/:id/checklist',
    summary: "Show a platform's go-live checklist, approvals and comment thread",
    input: z.object({ id: platformId }),
    run: (context, input) => context.goLive.view(input.id),
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      table: {
        columns: ['id', 'title', 'checked', 'automatic', 'checked_by', 'comment'],
        rows: (result) => (result as { items: unknown[] }).items,
      },
    },
  }),
  operation({
    name: 'checklist.check',
    method: 'POST',
    path: '/admin/v1/platforms/:id/checklist/:item',
    summary: 'Check a checklist item, with a comment',
    input: z.object({ id: platformId, item: z.string().min(1).max(40), comment: z.string() }),
    run: (context, input, actor) =>
      context.goLive.check(input.id, input.item, input.comment, actor),
    cli: {
      args: [
        { field: 'id', description: 'platform id' },
        { field: 'item', description: 'checklist item id' },
      ],
      options: { comment: { description: 'what was checked, and how' } },
      table: {
        columns: ['id', 'title', 'checked', 'checked_by', 'comment'],
        rows: (result) => (result as { items: unknown[] }).items,
      },
    },
  }),
  operation({
    name: 'checklist.uncheck',
    method: 'DELETE',
    path: '/admin/v1/platforms/:id/checklist/:item',
    summary: 'Uncheck a checklist item',
    input: z.object({ id: platformId, item: z.string().min(1).max(40) }),
    run: (context, input, actor) => context.goLive.uncheck(input.id, input.item, actor),
    cli: {
      args: [
        { field: 'id', description: 'platform id' },
        { field: 'item', description: 'checklist item id' },
      ],
    },
  }),
  operation({
    name: 'checklist.comment',
    method: 'POST',
    path: '/admin/v1/platforms/:id/comments',
    summary: "Add to the checklist's comment thread",
    input: z.object({ id: platformId, body: z.string() }),
    status: 201,
    run: (context, input, actor) =>
      context.goLive.comment(input.id, input.body, { ...actor, name: actor.id }),
    cli: {
      args: [{ field: 'id', description: 'platform id' }],
      options: { body: { description: 'the comment' } },
    },
  }),
  operation({
    name: 'golive.approve',
    method: 'POST',
    path: '/admin/v1/platforms/:id/approve',
    summary: 'Approve go-live; the last approval needed returns the production credentials once',
    input: z.object({ id: platformId }),
    revealsSecrets: true,
    run: (context, input, actor) => context.goLive.approve(input.id, actor),
    cli: { args: [{ field: 'id', description: 'platform id' }] },
  }),
];
