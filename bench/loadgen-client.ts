import { Worker } from 'node:worker_threads';

/*
 * The benches' HTTP load generator (bench/loadgen.mjs) driven from the bench's own thread: it runs in a worker thread
 * with its own event loop, so the measuring side does not compete with the server's request handling for one loop.
 * One job at a time per generator; each answer comes back by job id.
 */

export interface LoadJob {
  base: string;
  pathPrefix: string;
  headers: Record<string, string>;
  keys: string[];
  /** what loadgen.mjs checks in each 200 response (see its `check` handling) */
  check: 'masked' | 'record' | 'dataset' | 'ckanOne' | 'html' | 'verify' | 'none';
  /** 'POST': each entry of `keys` is a JSON body posted to `pathPrefix` (default GET `pathPrefix` + key) */
  method?: 'GET' | 'POST';
  /** keep-alive clients; the caller's default when absent */
  concurrency?: number;
}

export interface LoadResult {
  measured: { count: number; non200: number; seconds: number; latencies: Float64Array };
  total: number;
  totalNon200: number;
  statusCounts: Record<string, number>;
  maskChecked: number;
  maskFailures: number;
  sample: string | null;
  /** CPU ticks the load generator's own thread used during the run (where the worker measures it) */
  cpuTicks?: number | null;
  error?: string;
}

export class LoadGenerator {
  private worker = new Worker(new URL('./loadgen.mjs', import.meta.url));
  private seq = 0;
  private pending = new Map<number, (r: LoadResult) => void>();

  constructor(private timing: { warmupSeconds: number; seconds: number; concurrency?: number }) {
    this.worker.on('message', (m: LoadResult & { id: number }) => {
      const done = this.pending.get(m.id);
      this.pending.delete(m.id);
      done?.(m);
    });
    this.worker.on('error', (e) => {
      for (const done of this.pending.values()) done({ error: String(e) } as LoadResult);
      this.pending.clear();
    });
  }

  run(job: LoadJob): Promise<LoadResult> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => (r.error ? reject(new Error(`load generator: ${r.error}`)) : resolve(r)));
      this.worker.postMessage({
        id,
        concurrency: this.timing.concurrency,
        ...job,
        warmupMs: this.timing.warmupSeconds * 1000,
        durationMs: this.timing.seconds * 1000,
      });
    });
  }

  close() {
    return this.worker.terminate();
  }
}
