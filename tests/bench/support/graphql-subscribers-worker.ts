// The worker of graphql-subscribers.ts: `count` graphql-ws clients, one socket and one subscription each, recording
// when each cursor reaches each subscriber. Receipt time is taken first thing in the message callback.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { subscriberClock, type FromWorker, type SubscribersData, type ToWorker } from './graphql-subscribers.ts';

const options = workerData as SubscribersData;
const port = parentPort;
if (port === null) throw new Error('graphql-subscribers-worker.ts runs as a worker thread');

const clients: Client[] = [];
const receipts = new Map<string, number[]>();
let started = 0;
let duplicates = 0;
let errors = 0;
let readyLoop: EventLoopUtilization | undefined;

const POLL_MS = 10;

function post(message: FromWorker): void {
  port?.postMessage(message);
}

/** The `cursor` of the subscription's root field (`events`, `incidentChanged`, …). */
function cursorOf(data: Record<string, unknown> | null | undefined): string | undefined {
  const root = data == null ? undefined : Object.values(data)[0];
  const cursor = typeof root === 'object' && root !== null ? (root as { cursor?: unknown }).cursor : undefined;
  return typeof cursor === 'string' ? cursor : undefined;
}

function connect(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: options.url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${options.token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: reject,
      on: { connected: () => resolve(client) },
    });
    clients.push(client);
  });
}

function subscribe(client: Client): void {
  const seen = new Set<string>();
  client.subscribe<Record<string, unknown>>(
    { query: options.query, variables: options.variables },
    {
      next(result) {
        const at = subscriberClock();
        const cursor = cursorOf(result.data);
        if (result.errors !== undefined || cursor === undefined) {
          errors++;
          return;
        }
        if (seen.size === 0) started++;
        if (seen.has(cursor)) {
          duplicates++;
          return;
        }
        seen.add(cursor);
        const times = receipts.get(cursor);
        if (times === undefined) receipts.set(cursor, [at]);
        else times.push(at);
      },
      error: () => {
        errors++;
      },
      complete: () => undefined,
    },
  );
}

/** Polls: receipts are timed in their callbacks, so waking late here costs no accuracy. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = subscriberClock() + timeoutMs;
  while (!condition()) {
    if (subscriberClock() > deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

async function start(): Promise<void> {
  const begun = subscriberClock();
  for (let first = 0; first < options.count; first += options.connectConcurrency) {
    const batch = Math.min(options.connectConcurrency, options.count - first);
    const connected = await Promise.all(Array.from({ length: batch }, connect));
    connected.forEach(subscribe);
  }
  if (!(await waitUntil(() => started === options.count || errors > 0, options.readyTimeoutMs)) || errors > 0) {
    throw new Error(`${started} of ${options.count} subscribers saw their first event (${errors} errors)`);
  }
  readyLoop = performance.eventLoopUtilization();
  post({ type: 'ready', connectMs: Math.round(subscriberClock() - begun) });
}

async function collect(cursors: readonly string[], timeoutMs: number): Promise<void> {
  const all = () => cursors.every((cursor) => (receipts.get(cursor)?.length ?? 0) >= options.count);
  await waitUntil(all, timeoutMs);
  const answer = cursors.map((cursor): [string, number[]] => [cursor, receipts.get(cursor) ?? []]);
  const loopUtilization = Math.round(performance.eventLoopUtilization(readyLoop).utilization * 100) / 100;
  post({ type: 'receipts', receipts: answer, duplicates, errors, loopUtilization });
}

async function close(): Promise<void> {
  await Promise.all(clients.map((client) => client.dispose()));
  port?.close();
}

/** graphql-ws rejects with an Error, a socket error event or a close event. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const { message, code, reason } = (error ?? {}) as { message?: unknown; code?: unknown; reason?: unknown };
  return typeof message === 'string' ? message : `socket closed: ${String(code)} ${String(reason)}`;
}

port.on('message', (message: ToWorker) => {
  const done = message.type === 'collect' ? collect(message.cursors, message.timeoutMs) : close();
  done.catch((error: unknown) => post({ type: 'failed', message: describe(error) }));
});

start().catch((error: unknown) => post({ type: 'failed', message: describe(error) }));
