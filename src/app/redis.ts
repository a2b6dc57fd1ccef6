/**
 * Redis connections: one for commands (rate-limit counters, publishing notices) and one for
 * subscribing, which Redis requires to be a connection of its own. Both reconnect by themselves;
 * while Redis is away, rate limits are not applied and notices are not sent, and /readyz says so.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisConnections {
  publisher: Redis;
  subscriber: Redis;
  /** Whether Redis answers a PING within a second. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

function connect(RedisClient: typeof Redis, url: string, role: string, log: Logger): Redis {
  const client = new RedisClient(url, {
    // Commands fail at once while disconnected instead of queueing without bound.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    // ioredis reports every failed reconnection; one line every ten seconds is enough.
    if (Date.now() - lastLogged < 10_000) return;
    lastLogged = Date.now();
    log.warn({ err: error, role }, 'Redis connection failed; retrying');
  });
  return client;
}

function whenReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Connect to Redis, failing the start with a clear error when it does not answer. */
export async function connectRedis(url: string, log: Logger): Promise<RedisConnections> {
  // Imported here, so that a node without Redis starts without loading the client.
  const { Redis: RedisClient } = await import('ioredis');
  const publisher = connect(RedisClient, url, 'commands', log);
  const subscriber = connect(RedisClient, url, 'notices', log);
  const shown = new URL(url);
  shown.password = '';
  try {
    await Promise.all([whenReady(publisher, 5_000), whenReady(subscriber, 5_000)]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw new Error(
      `Cannot connect to Redis at ${shown.toString()} (REDIS_URL): ${(error as Error).message}. Start Redis or unset REDIS_URL.`,
    );
  }
  return {
    publisher,
    subscriber,
    async ping() {
      try {
        return (
          (await Promise.race([
            publisher.ping(),
            new Promise((resolve) => setTimeout(() => resolve('timeout'), 1_000)),
          ])) === 'PONG'
        );
      } catch {
        return false;
      }
    },
    async close() {
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}
