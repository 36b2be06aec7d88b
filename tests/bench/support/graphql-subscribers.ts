// Many graphql-ws subscribers in a worker thread of the benchmark process: their message handling then does not
// delay the main thread's timing of mutation responses, and both threads read the one process-wide monotonic clock
// (`subscriberClock`), so delivery latency = receipt in the worker − response in the main thread.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

export interface SubscribersData {
  /** ws://host:port/graphql */
  url: string;
  token: string;
  count: number;
  /** A subscription whose root field's payload has a `cursor`; every subscriber runs the same one. */
  query: string;
  variables: Record<string, unknown>;
  /** Sockets opened at once while connecting. */
  connectConcurrency: number;
  /** Time for all to connect and receive their first event (the caller makes sure one is there to replay). */
  readyTimeoutMs: number;
}

export type ToWorker = { type: 'collect'; cursors: string[]; timeoutMs: number } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; connectMs: number }
  | {
      type: 'receipts';
      receipts: [cursor: string, times: number[]][];
      duplicates: number;
      errors: number;
      loopUtilization: number;
    }
  | { type: 'failed'; message: string };

/** Milliseconds on process.hrtime: one monotonic clock for every thread of the process. */
export function subscriberClock(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface Receipts {
  /** Receipt times (subscriberClock) of each cursor asked for, one per subscriber that received it. */
  times: Map<string, number[]>;
  /** The same cursor delivered twice to one subscriber. */
  duplicates: number;
  /** Subscriptions that ended with an error (their later deliveries are missed). */
  errors: number;
  /** Share of the time since the subscribers were ready that their thread was busy, 0–1. */
  loopUtilization: number;
}

export interface Subscribers {
  /** Milliseconds it took to connect every subscriber and see its first event. */
  connectMs: number;
  /** Waits until every subscriber has received each of `cursors`, or `timeoutMs` has passed. */
  receipts(cursors: readonly string[], timeoutMs: number): Promise<Receipts>;
  close(): Promise<void>;
}

function next(worker: Worker): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    const onMessage = (message: FromWorker) => {
      worker.off('error', onError);
      if (message.type === 'failed') reject(new Error(`subscribers: ${message.message}`));
      else resolve(message);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

export async function startSubscribers(data: SubscribersData): Promise<Subscribers> {
  // `--import tsx` does not reliably reach a worker on Node 20 (ERR_UNKNOWN_FILE_EXTENSION): a plain-JS bootstrap
  // registers tsx in the worker before importing the TypeScript entry.
  const entry = new URL('./graphql-subscribers-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: data });
  const send = (message: ToWorker) => worker.postMessage(message);
  try {
    const ready = await next(worker);
    if (ready.type !== 'ready') throw new Error(`subscribers: expected ready, got ${ready.type}`);
    return {
      connectMs: ready.connectMs,
      async receipts(cursors, timeoutMs) {
        send({ type: 'collect', cursors: [...cursors], timeoutMs });
        const answer = await next(worker);
        if (answer.type !== 'receipts') throw new Error(`subscribers: expected receipts, got ${answer.type}`);
        const { duplicates, errors, loopUtilization } = answer;
        return { times: new Map(answer.receipts), duplicates, errors, loopUtilization };
      },
      async close() {
        const exited = once(worker, 'exit');
        send({ type: 'close' });
        await exited;
      },
    };
  } catch (error) {
    await worker.terminate();
    throw error;
  }
}
