/** Operations on operators' dashboard accounts. */
import { z } from 'zod';
import { operation } from './types.js';

export const operatorAccountOperations = [
  operation({
    name: 'operators.add',
    method: 'POST',
    path: '/admin/v1/operators/accounts',
    summary:
      "Create a dashboard account (email and password); through the API only for the caller's own operator",
    input: z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1024) }),
    status: 201,
    run: (context, input, actor) =>
      context.operatorAccounts.add(
        {
          email: input.email,
          password: input.password,
          // Through the API the account joins the caller's operator, so that one operator cannot
          // make up others, who would count as distinct approvals of go-live. The CLI on the
          // database names the operator by the email.
          operatorName: actor.address !== undefined ? actor.id : undefined,
        },
        actor,
      ),
    cli: {
      options: { email: { description: 'email address to sign in with' } },
      stdin: 'password',
    },
  }),
  operation({
    name: 'operators.list-accounts',
    method: 'GET',
    path: '/admin/v1/operators/accounts',
    summary: "List operators' dashboard accounts",
    input: z.object({}),
    run: (context) => context.operatorAccounts.list(),
    cli: { table: { columns: ['operator', 'email', 'created_at', 'disabled_at'] } },
  }),
];
