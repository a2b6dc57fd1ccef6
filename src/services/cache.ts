/**
 * A bounded cache with a time-to-live per entry and one load in flight per key. It holds at
 * most `maxEntries` entries, dropping the least recently inserted first, and returns an entry
 * older than `ttlMs` only when reloading it fails and it is younger than `ttlMs + maxStaleMs`
 * (stale-if-error, so a database outage does not stop every lookup). Misses are cached too,
 * so unknown keys cannot hammer the database. A deleted entry is never served stale.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();
  private readonly loading = new Map<K, Promise<V>>();
  private generation = 0;

  constructor(
    private readonly options: {
      maxEntries: number;
      ttlMs: number;
      maxStaleMs?: number;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Return the cached value of `key`, or load it with `load` once for all concurrent callers. */
  async get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const maxStaleMs = this.options.maxStaleMs ?? 0;
    if (hit && hit.expiresAt + maxStaleMs <= this.now()) this.entries.delete(key);

    const pending = this.loading.get(key);
    if (pending) return pending;

    const generation = this.generation;
    const promise = load(key).then(
      (value) => {
        this.loading.delete(key);
        // A load that began before an invalidation must not put the stale value back.
        if (generation === this.generation) this.set(key, value);
        return value;
      },
      (error: unknown) => {
        this.loading.delete(key);
        const stale = this.entries.get(key);
        if (stale && stale === hit && stale.expiresAt + maxStaleMs > this.now()) return stale.value;
        throw error;
      },
    );
    this.loading.set(key, promise);
    return promise;
  }

  set(key: K, value: V, ttlMs = this.options.ttlMs): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    if (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  peek(key: K): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expiresAt > this.now() ? hit.value : undefined;
  }

  delete(key: K): void {
    this.entries.delete(key);
    this.generation++;
  }

  clear(): void {
    this.entries.clear();
    this.generation++;
  }
}
