import { Worker } from 'node:worker_threads';

/*
 * A few worker threads running one module, each message answered once (by its id), given to the worker with the
 * fewest messages queued. Used by the bulk export (src/dataapi/export-pool.ts) to hash and decrypt a batch while the
 * export's thread masks the next one, and by the audit verifier (src/audit/leaf-hasher.ts) to hash records' leaves.
 *
 * The worker module is the built `.js` beside its caller in production, and a `.ts` source under tsx and vitest: those
 * are started through tsx's loader (registered inside the worker), so the worker runs the same source files as the
 * thread that started it.
 */

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  worker: Worker;
}

/** A worker's code: a module (built `.js`, or `.ts` under tsx and vitest), or a self-contained CommonJS source. */
export type WorkerCode = URL | { source: string };

function startWorker(code: WorkerCode): Worker {
  if (!(code instanceof URL)) return new Worker(code.source, { eval: true });
  const module = code;
  if (!module.pathname.endsWith('.ts')) return new Worker(module);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { eval: true });
}

export class WorkerPool {
  readonly #workers: Worker[] = [];
  readonly #queued = new Map<Worker, number>();
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  /** set once a worker failed or exited: the pool is then replaced by its owner */
  broken = false;

  constructor(code: WorkerCode, size: number) {
    for (let i = 0; i < size; i++) {
      const w = startWorker(code);
      w.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#pending.delete(m.id);
        this.#idle(w);
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(m.error ?? 'worker failed'));
      });
      const fail = (e: Error) => {
        this.broken = true;
        for (const [id, p] of this.#pending)
          if (p.worker === w) {
            this.#pending.delete(id);
            this.#idle(w);
            p.reject(e);
          }
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`worker exited (${code})`)));
      // an idle pool does not keep the process alive; a worker with answers pending does (run)
      w.unref();
      this.#workers.push(w);
      this.#queued.set(w, 0);
    }
  }

  #idle(w: Worker) {
    const queued = Math.max(0, (this.#queued.get(w) ?? 1) - 1);
    this.#queued.set(w, queued);
    if (queued === 0) w.unref();
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Sends `message` (with `id` added) to the least busy worker; settles with its answer's value. */
  run<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    let worker = this.#workers[0];
    for (const w of this.#workers)
      if ((this.#queued.get(w) ?? 0) < (this.#queued.get(worker) ?? 0)) worker = w;
    const queued = (this.#queued.get(worker) ?? 0) + 1;
    this.#queued.set(worker, queued);
    if (queued === 1) worker.ref();
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, worker });
      worker.postMessage({ ...message, id }, transfer);
    });
  }

  async close(): Promise<void> {
    this.broken = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers.length = 0;
  }
}

/** The worker's side: answers each message with `handle`'s value (and its transfer list) or its error. */
export function serveWorker(
  port: {
    on(e: 'message', f: (m: { id: number }) => void): void;
    postMessage(v: unknown, t?: ArrayBuffer[]): void;
  },
  handle: (m: Record<string, unknown>) => { value: unknown; transfer?: ArrayBuffer[] },
) {
  port.on('message', (m) => {
    try {
      const { value, transfer } = handle(m as Record<string, unknown>);
      port.postMessage({ id: m.id, ok: true, value }, transfer ?? []);
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
