// Load generator for bench/data-call.ts. Runs in its own worker thread so it never shares the server's
// event loop. Plain JavaScript on purpose: the worker needs no TypeScript loader.
//
// Message in:  { id, base, pathPrefix, headers, keys, concurrency, warmupMs, durationMs, check, method }
//   method 'POST': each "key" is a JSON body posted to pathPrefix (check 'verify': a boolean `match`)
//   check: 'masked' (data API record with a masked idNumber), 'record' (data API: a `record` object), 'dataset'
//   (open dataset page JSON: numeric `id`), 'ckanOne' (CKAN datastore_search: success and exactly one record),
//   'html' (a text/html page), 'none'
// Message out: { id, measured: {count, non200, seconds, latencies(Float64Array, ms)}, total, totalNon200,
//                statusCounts, maskChecked, maskFailures, sample }
import fs from 'node:fs';
import http from 'node:http';
import { parentPort } from 'node:worker_threads';

/** CPU time (utime+stime, clock ticks) of this worker's own OS thread, or null off Linux. */
function threadTicks() {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

function run(job) {
  const ticks0 = threadTicks();
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: job.concurrency,
    maxFreeSockets: job.concurrency,
  });
  const url = new URL(job.base);
  const keys = job.keys;
  // Latencies of the measured window, in ms. Pre-sized generously; grows if needed.
  let lat = new Float64Array(1 << 18);
  let n = 0;
  let measuredNon200 = 0;
  let total = 0;
  let totalNon200 = 0;
  const statusCounts = {};
  let maskChecked = 0;
  let maskFailures = 0;
  let sample = null;

  const t0 = performance.now();
  const measureFrom = t0 + job.warmupMs;
  const stopAt = measureFrom + job.durationMs;

  function checkBody(body) {
    // masked: granted fields only, idNumber masked (contains '*'); the other modes check the response's shape
    maskChecked++;
    try {
      if (job.check === 'html') {
        if (!body.includes('<html') && !body.includes('<!doctype') && !body.includes('<!DOCTYPE'))
          maskFailures++;
      } else {
        const j = JSON.parse(body);
        let ok;
        if (job.check === 'masked') {
          const id = j?.record?.idNumber;
          ok = typeof id === 'string' && id.includes('*');
        } else if (job.check === 'record') ok = !!j?.record && typeof j.record === 'object';
        else if (job.check === 'dataset') ok = typeof j?.id === 'number';
        else if (job.check === 'verify') ok = typeof j?.match === 'boolean';
        else if (job.check === 'ckanOne') ok = j?.success === true && j?.result?.records?.length === 1;
        else ok = true;
        if (!ok) maskFailures++;
      }
      if (!sample) sample = body.slice(0, 600);
    } catch {
      maskFailures++;
    }
  }

  function one() {
    return new Promise((resolve) => {
      const key = keys[(Math.random() * keys.length) | 0];
      const started = performance.now();
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: job.method ?? 'GET',
          // POST: the "key" is the request's JSON body, sent to pathPrefix as is
          path: job.method === 'POST' ? job.pathPrefix : job.pathPrefix + encodeURIComponent(key),
          headers:
            job.method === 'POST'
              ? {
                  ...job.headers,
                  'content-type': 'application/json',
                  'content-length': Buffer.byteLength(key),
                }
              : job.headers,
          agent,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const ended = performance.now();
            const status = res.statusCode ?? 0;
            total++;
            statusCounts[status] = (statusCounts[status] ?? 0) + 1;
            if (status !== 200) totalNon200++;
            if (ended >= measureFrom && ended <= stopAt) {
              if (n === lat.length) {
                const bigger = new Float64Array(lat.length * 2);
                bigger.set(lat);
                lat = bigger;
              }
              lat[n++] = ended - started;
              if (status !== 200) measuredNon200++;
            }
            if (job.check !== 'none' && status === 200 && (total % 97 === 1 || !sample)) {
              checkBody(Buffer.concat(chunks).toString('utf8'));
            } else if (!sample && status === 200) {
              sample = Buffer.concat(chunks).toString('utf8');
            }
            resolve();
          });
          res.on('error', () => {
            total++;
            totalNon200++;
            statusCounts.error = (statusCounts.error ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        total++;
        totalNon200++;
        statusCounts.error = (statusCounts.error ?? 0) + 1;
        resolve();
      });
      req.end(job.method === 'POST' ? key : undefined);
    });
  }

  async function client() {
    // A request that starts before stopAt runs to completion, so every request sent gets its response
    // (the caller compares the total with the audit rows written).
    while (performance.now() < stopAt) await one();
  }

  const clients = [];
  for (let i = 0; i < job.concurrency; i++) clients.push(client());
  return Promise.all(clients).then(() => {
    agent.destroy();
    const ticks1 = threadTicks();
    const measured = lat.slice(0, n);
    return {
      id: job.id,
      measured: { count: n, non200: measuredNon200, seconds: job.durationMs / 1000, latencies: measured },
      total,
      totalNon200,
      statusCounts,
      maskChecked,
      maskFailures,
      sample,
      cpuTicks: ticks0 === null || ticks1 === null ? null : ticks1 - ticks0,
    };
  });
}

parentPort.on('message', (job) => {
  run(job).then(
    (result) => parentPort.postMessage(result, [result.measured.latencies.buffer]),
    (err) => parentPort.postMessage({ id: job.id, error: String(err?.stack ?? err) }),
  );
});
