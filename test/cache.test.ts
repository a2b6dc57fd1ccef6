import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedCache } from '../src/services/cache.js';

describe('BoundedCache', () => {
  test('holds at most maxEntries', () => {
    const cache = new BoundedCache<number, number>({ maxEntries: 3, ttlMs: 60_000 });
    for (let i = 0; i < 10; i++) cache.set(i, i);
    assert.equal(cache.size, 3);
    assert.equal(cache.peek(0), undefined);
    assert.equal(cache.peek(9), 9);
  });

  test('expires entries after ttl', () => {
    let now = 1000;
    const cache = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 100, now: () => now });
    cache.set('a', 'x');
    now += 99;
    assert.equal(cache.peek('a'), 'x');
    now += 2;
    assert.equal(cache.peek('a'), undefined);
  });

  test('loads once for concurrent callers', async () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 10, ttlMs: 60_000 });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return 7;
    };
    const values = await Promise.all([
      cache.get('k', load),
      cache.get('k', load),
      cache.get('k', load),
    ]);
    assert.deepEqual(values, [7, 7, 7]);
    assert.equal(loads, 1);
  });

  test('drops a load that raced an invalidation', async () => {
    const cache = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 60_000 });
    let release: () => void = () => {};
    const pending = cache.get(
      'k',
      () => new Promise<string>((resolve) => (release = () => resolve('stale'))),
    );
    cache.delete('k');
    release();
    assert.equal(await pending, 'stale');
    assert.equal(cache.peek('k'), undefined);
  });

  test('does not cache a failed load', async () => {
    const cache = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 60_000 });
    await assert.rejects(
      cache.get('k', async () => Promise.reject(new Error('down'))),
      /down/,
    );
    assert.equal(await cache.get('k', async () => 'up'), 'up');
  });
});
