import type { Redis } from 'ioredis';

/**
 * Expiring counters shared by every node: rate limits, quotas and the enumeration detector count here. Redis when
 * `REDIS_URL` is set (several nodes see one count), in-process otherwise. One call adds to several keys in one
 * round trip, so a governed data call pays for its guards once.
 */
export interface CounterStore {
  readonly kind: 'redis' | 'memory';
  /** Adds `by` (default 1; 0 reads) to each key, creating it with `ttlSeconds`; returns the new values in order. */
  add(entries: ReadonlyArray<{ key: string; by?: number; ttlSeconds: number }>): Promise<number[]>;
}

export interface MemoryCounterStore extends CounterStore {
  /** live keys held (tests check the bound) */
  size(): number;
}

/** Bounded: past `maxKeys` live keys the oldest go first, so keys an attacker varies cannot grow memory. */
export function memoryCounters(maxKeys = 200_000): MemoryCounterStore {
  const map = new Map<string, { value: number; expires: number }>();
  let ops = 0;
  function sweep(now: number) {
    for (const [k, v] of map) if (v.expires <= now) map.delete(k);
    for (const k of map.keys()) {
      if (map.size <= maxKeys) break;
      map.delete(k);
    }
  }
  return {
    kind: 'memory',
    size: () => map.size,
    async add(entries) {
      const now = Date.now();
      if (++ops % 10_000 === 0 || map.size > maxKeys) sweep(now);
      return entries.map(({ key, by = 1, ttlSeconds }) => {
        let c = map.get(key);
        if (!c || c.expires <= now) {
          c = { value: 0, expires: now + ttlSeconds * 1000 };
          map.set(key, c);
        }
        c.value += by;
        return c.value;
      });
    },
  };
}

export function redisCounters(redis: Redis, prefix = 'gs:c:'): CounterStore {
  return {
    kind: 'redis',
    async add(entries) {
      const p = redis.pipeline();
      for (const { key, by = 1, ttlSeconds } of entries) {
        p.incrby(prefix + key, by);
        p.expire(prefix + key, ttlSeconds, 'NX');
      }
      const res = (await p.exec()) ?? [];
      return entries.map((_, i) => {
        const [err, value] = res[i * 2] ?? [new Error('no reply'), 0];
        if (err) throw err;
        return Number(value);
      });
    },
  };
}
