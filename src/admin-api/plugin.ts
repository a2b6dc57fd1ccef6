/** The admin listener: health and readiness for now. */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Store } from '../store/index.js';

export async function adminApi(app: FastifyInstance, options: { store: Store }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await sql`select 1`.execute(options.store.db);
      return { status: 'ready', database: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: the database did not answer');
      return reply.status(503).send({ status: 'unavailable', database: 'unreachable' });
    }
  });
}
