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

/**
 * Redis store. Adds arriving in the same event-loop turn share one pipeline, and adds to the same key are summed into
 * one INCRBY: under load many calls count the same keys (the app's second, the grant's day), so a busy node sends
 * one command per distinct key instead of two per call. Each caller still gets the value its own add produced.
 */
export function redisCounters(redis: Redis, prefix = 'gs:c:'): CounterStore {
  type Entry = { key: string; by?: number; ttlSeconds: number };
  let pending: { entries: readonly Entry[]; resolve: (v: number[]) => void; reject: (e: unknown) => void }[] =
    [];
  async function flush() {
    const batch = pending;
    pending = [];
    const totals = new Map<string, { by: number; ttl: number }>();
    for (const { entries } of batch)
      for (const e of entries) {
        const t = totals.get(e.key) ?? { by: 0, ttl: 0 };
        t.by += e.by ?? 1;
        t.ttl = Math.max(t.ttl, e.ttlSeconds);
        totals.set(e.key, t);
      }
    try {
      const p = redis.pipeline();
      for (const [key, t] of totals) {
        p.incrby(prefix + key, t.by);
        p.expire(prefix + key, t.ttl, 'NX');
      }
      const res = (await p.exec()) ?? [];
      // the value before this batch, then each add in arrival order
      const running = new Map<string, number>();
      [...totals.keys()].forEach((key, i) => {
        const [err, value] = res[i * 2] ?? [new Error('no reply'), 0];
        if (err) throw err;
        running.set(key, Number(value) - totals.get(key)!.by);
      });
      for (const { entries, resolve } of batch)
        resolve(
          entries.map((e) => {
            const v = running.get(e.key)! + (e.by ?? 1);
            running.set(e.key, v);
            return v;
          }),
        );
    } catch (err) {
      for (const { reject } of batch) reject(err);
    }
  }
  return {
    kind: 'redis',
    add(entries) {
      return new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ entries, resolve, reject });
      });
    },
  };
}
