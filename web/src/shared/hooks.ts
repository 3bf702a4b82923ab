import { useCallback, useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';

export interface Async<T> {
  data: T | undefined;
  loading: boolean;
  error: unknown;
  reload: () => void;
}

/** Runs `fn` whenever `deps` change; a stale answer never overwrites a newer one. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;

  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    fnRef.current().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (mine !== seq.current) return;
        setError(e);
        setLoading(false);
      },
    );
  }, [...deps, tick]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, loading, error, reload };
}

/**
 * A table's page and page size, and antd's pagination settings for it: the total, the size changer, and back to
 * page 1 when the size changes. `reset()` goes back to page 1 (a new filter).
 */
export function usePaging(initialSize = 20) {
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(initialSize);
  return {
    page,
    pageSize,
    reset: () => setPage(1),
    pagination: (total: number | undefined, showTotal: (n: number) => string) => ({
      current: page,
      pageSize,
      total: total ?? 0,
      showSizeChanger: true,
      showTotal,
      onChange: (p: number, ps: number) => {
        setPage(ps !== pageSize ? 1 : p);
        setPageSize(ps);
      },
    }),
  };
}

type FilterValue = string | number | boolean | null | undefined;

/**
 * List filters kept in the address (issue 12: the cockpit's drill-down links open a list already filtered, and the
 * link can be shared): `num`/`flag`/`str` read a filter, `set` changes some (undefined or null removes one; false is
 * kept as "0" so a default-on switch can be turned off).
 */
export function useUrlFilters() {
  const [params, setParams] = useSearchParams();
  const set = useCallback(
    (patch: Record<string, FilterValue>) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(patch)) {
            if (v === undefined || v === null || v === '') next.delete(k);
            else next.set(k, v === true ? '1' : v === false ? '0' : String(v));
          }
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  const num = (k: string) => Number(params.get(k)) || undefined;
  const str = (k: string) => params.get(k) ?? undefined;
  const flag = (k: string, fallback = false) => {
    const v = params.get(k);
    return v === null ? fallback : v === '1' || v === 'true';
  };
  return { params, set, num, str, flag };
}
