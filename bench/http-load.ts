/**
 * The load generator of `bench/api.ts`: `clients` loops, each sending one GET after the other
 * over keep-alive connections, for a warm-up and then a measured period. It runs in a child
 * process of its own (`loadInChild`), so that the client's work does not share an event loop with
 * the servers it measures; every server of a run is measured by the same client.
 */
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface LoadOptions {
  /** The server, as `http://host:port`. */
  readonly base: string;
  /** The paths to ask, taken in turn. */
  readonly paths: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly clients: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

export interface LoadResult {
  /** The time of each request answered in the measured period, in milliseconds. */
  readonly latencies: readonly number[];
  readonly measureMs: number;
  /** Answers other than 200 (or failed requests) during the measured period. */
  readonly failures: number;
  /** The first failure, to say what went wrong. */
  readonly firstFailure?: string;
}

/**
 * One keep-alive connection that sends a request when asked and answers the response's status and
 * body. HTTP/1.1 written and read by hand, as load generators do (autocannon, wrk): Node's own
 * client costs more than a small route, so it would measure itself rather than the server.
 * Answers must carry a `content-length`, which Fastify's do.
 */
function connection(url: URL): {
  send(request: Buffer): Promise<{ status: number; body: Buffer }>;
  close(): void;
} {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.setNoDelay(true);
  let pending:
    | { resolve(answer: { status: number; body: Buffer }): void; reject(error: Error): void }
    | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  const fail = (error: Error) => {
    pending?.reject(error);
    pending = undefined;
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('The server closed the connection.')));
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headEnd = buffered.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = buffered.subarray(0, headEnd).toString('latin1');
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) return fail(new Error(`An answer without content-length: ${head}`));
    const bodyEnd = headEnd + 4 + Number(length);
    if (buffered.length < bodyEnd) return;
    const status = Number(head.slice(9, 12));
    const body = buffered.subarray(headEnd + 4, bodyEnd);
    buffered = buffered.subarray(bodyEnd);
    const waiting = pending;
    pending = undefined;
    waiting?.resolve({ status, body });
  });
  return {
    send: (request) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(request);
      }),
    close: () => socket.destroy(),
  };
}

/** Runs the load here, in this process. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const base = new URL(options.base);
  const headers = Object.entries({ host: base.host, ...options.headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const requests = options.paths.map((path) => Buffer.from(`GET ${path} HTTP/1.1\r\n${headers}\r\n`));
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let turn = 0;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.measureMs;
  const loop = async () => {
    const link = connection(base);
    try {
      for (;;) {
        const sent = performance.now();
        if (sent >= end) return;
        const request = requests[turn++ % requests.length] as Buffer;
        let failure: string | undefined;
        try {
          const { status, body } = await link.send(request);
          if (status !== 200) failure = `${status}: ${body.toString('utf8').slice(0, 300)}`;
        } catch (error) {
          failure = (error as Error).message;
        }
        const done = performance.now();
        if (sent < measureFrom || done > end) {
          if (failure !== undefined) throw new Error(failure);
          continue;
        }
        latencies.push(done - sent);
        if (failure !== undefined) {
          failures++;
          firstFailure ??= failure;
          return;
        }
      }
    } finally {
      link.close();
    }
  };
  await Promise.all(Array.from({ length: options.clients }, loop));
  return { latencies, measureMs: options.measureMs, failures, firstFailure };
}

export interface LoadGenerator {
  run(options: LoadOptions): Promise<LoadResult>;
  close(): void;
}

/**
 * A load generator in a child process (this file, started with the same Node options, e.g.
 * tsx's), which runs one load after the other as it is asked.
 */
export function loadGenerator(): LoadGenerator {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: 'inherit' });
  let exited: Error | undefined;
  const waiting = new Set<(error: Error) => void>();
  child.once('exit', (code) => {
    exited = new Error(`The load generator exited with status ${code}.`);
    for (const reject of waiting) reject(exited);
  });
  return {
    run: (options) =>
      new Promise((resolve, reject) => {
        if (exited) return reject(exited);
        waiting.add(reject);
        child.once('message', (result) => {
          waiting.delete(reject);
          resolve(result as LoadResult);
        });
        child.send(options);
      }),
    close: () => child.kill(),
  };
}

/** Summary of the loads of one side: requests per second over all measured time, p50 and p99. */
export function summarize(results: readonly LoadResult[]): {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
} {
  const latencies = results.flatMap((result) => result.latencies).sort((a, b) => a - b);
  const seconds = results.reduce((sum, result) => sum + result.measureMs, 0) / 1000;
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSecond: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

if (process.argv[2] === '--child' && process.send) {
  process.on('message', async (options) => {
    process.send?.(await runLoad(options as LoadOptions));
  });
}
