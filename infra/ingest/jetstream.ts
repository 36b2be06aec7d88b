// The ingestion queue on NATS JetStream (DESIGN.md "Live delivery", last paragraph). A route's submit publishes to a
// file-backed work-queue stream and resolves on the server's ack, so the sender gets its 202 fast and the message
// survives a crash; the message id (kind:tenant:dedupKey) makes a retried POST within the duplicate window a no-op.
// A durable pull consumer, shared by every gateway instance (each message goes to one of them), hands messages to
// the handlers in batches grouped by kind and acks them once appended; a failed batch is nak'ed with a growing
// delay, so while the store is down messages wait in the stream and are appended when it is back.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  DeliverPolicy,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_SUBJECT_PREFIX, isValidSubjectPrefix, subjectToken } from '../bus/subject.ts';
import { ConfigError } from '../config.ts';
import { handleIsolated, handlerFor, isTransient } from './batch.ts';
import {
  IngestMessageTooLargeError,
  IngestUnavailableError,
  UnknownIngestKindError,
  type IngestHandler,
  type IngestHandlers,
  type IngestMessage,
  type IngestQueue,
} from './port.ts';

/** The durable consumer every instance pulls from. */
export const INGEST_CONSUMER = 'appender';

/** Stream names allow no `.` (nor `*`, `>`, `/`): `events` → `events_ingest`, `test_ab12.events` → `test_ab12_events_ingest`. */
export function ingestStreamName(subjectPrefix = DEFAULT_SUBJECT_PREFIX): string {
  return `${subjectPrefix.replace(/[^A-Za-z0-9_-]/g, '_')}_ingest`;
}

/** `<prefix>._ingest.<kind>`: tenants start with [a-z0-9] (stream-name.ts), so no live-event subject is ever one of these. */
export function ingestSubject(subjectPrefix: string, kind: string): string {
  return `${subjectPrefix}._ingest.${subjectToken(kind)}`;
}

export interface JetStreamIngestTuning {
  /** Most messages handed to the handlers at once (default 500). */
  batchSize: number;
  /** How long a batch waits for more messages after its first arrived (default 20). */
  batchWaitMs: number;
  /**
   * Messages delivered to all instances and not yet acked (default 1000): bounds what one instance holds, so that
   * a held message is handled well within ack_wait and a slow instance leaves work to the others.
   */
  maxAckPending: number;
  /** A delivered message not acked within this is delivered again (default 60 000). */
  ackWaitMs: number;
  /** How long submit waits for the server's ack before answering 503 (default 2000). */
  publishTimeoutMs: number;
  /** Window in which a repeated message id is dropped by the server (default 120 000). */
  duplicateWindowMs: number;
  /** Redelivery delay of a failed message: doubles per delivery from the first up to the most (1000, 30 000). */
  retryInitialMs: number;
  retryMaxMs: number;
  /** Pause between attempts to reach NATS when it was unreachable at start (default 2000). */
  reconnectMs: number;
  /** Retry-After of the 503 answered while NATS is unreachable (default 5). */
  retryAfterSeconds: number;
}

export const DEFAULT_JETSTREAM_INGEST_TUNING: JetStreamIngestTuning = {
  batchSize: 500,
  batchWaitMs: 20,
  maxAckPending: 1000,
  ackWaitMs: 60_000,
  publishTimeoutMs: 2000,
  duplicateWindowMs: 120_000,
  retryInitialMs: 1000,
  retryMaxMs: 30_000,
  reconnectMs: 2000,
  retryAfterSeconds: 5,
};

export interface IngestLogger {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface JetStreamIngestOptions {
  url: string;
  /** NATS_SUBJECT_PREFIX; instances sharing it share the stream and the consumer. */
  subjectPrefix?: string;
  handlers: IngestHandlers;
  /** Connection name shown in the server's monitoring. */
  name?: string;
  tuning?: Partial<JetStreamIngestTuning>;
  /** pino-compatible; by default warnings and errors go to stderr. */
  logger?: IngestLogger;
}

const consoleLogger: IngestLogger = {
  warn: (details, message) => console.warn(`ingest: ${message}`, details),
  error: (details, message) => console.error(`ingest: ${message}`, details),
};

/**
 * Lifetime of each pull request (the client's minimum). The server keeps a pull request of a closed instance until
 * it expires and would deliver into it, so messages handed back at shutdown are due again only after that.
 */
const PULL_EXPIRES_MS = 1000;

/** Room left in NATS' max_payload for the subject and the Nats-Msg-Id header. */
const HEADER_ALLOWANCE = 1024;

/** A dedup key goes into a header: anything but short printable ASCII is hashed (the same key, the same id). */
function messageId({ kind, tenant, dedupKey }: IngestMessage): string {
  const key = /^[\x21-\x7e]{1,200}$/.test(dedupKey)
    ? dedupKey
    : `sha256:${createHash('sha256').update(dedupKey).digest('hex')}`;
  return `${kind}:${tenant}:${key}`;
}

function isIngestMessage(value: unknown): value is IngestMessage {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, tenant, dedupKey, actor, receivedAt, payload } = value as Record<string, unknown>;
  return (
    typeof kind === 'string' &&
    typeof tenant === 'string' &&
    typeof dedupKey === 'string' &&
    typeof receivedAt === 'string' &&
    typeof actor === 'object' &&
    actor !== null &&
    typeof payload === 'object' &&
    payload !== null
  );
}

function decode(message: JsMsg): IngestMessage | undefined {
  try {
    const value: unknown = message.json();
    return isIngestMessage(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Messages the consumer delivered and nobody took yet, handed out in batches. */
class Inbox {
  readonly #waiting: { message: JsMsg; arrivedAt: number }[] = [];
  #wake: (() => void) | undefined;

  constructor(
    private readonly batchSize: number,
    private readonly batchWaitMs: number,
  ) {}

  push(message: JsMsg): void {
    this.#waiting.push({ message, arrivedAt: performance.now() });
    // The worker waits either for a first message or for a full batch.
    if (this.#waiting.length === 1 || this.#waiting.length >= this.batchSize) this.#wake?.();
  }

  /** Waits for a message, then until the batch is full or batchWaitMs after its first arrived; [] once stopped. */
  async take(signal: AbortSignal): Promise<JsMsg[]> {
    if (this.#waiting.length === 0) await this.#pause(undefined, signal);
    const first = this.#waiting[0];
    if (first === undefined || signal.aborted) return [];
    const left = first.arrivedAt + this.batchWaitMs - performance.now();
    if (this.#waiting.length < this.batchSize && left > 0) await this.#pause(left, signal);
    if (signal.aborted) return [];
    return this.#waiting.splice(0, this.batchSize).map((each) => each.message);
  }

  /** Everything nobody took, for a hand-back at shutdown. */
  clear(): JsMsg[] {
    return this.#waiting.splice(0).map((each) => each.message);
  }

  #pause(ms: number | undefined, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.#wake = done;
    });
  }
}

/** A connection with the stream and the consumer in place, and the worker appending what it delivers. */
interface Link {
  nats: NatsConnection;
  js: JetStreamClient;
  consumer: Consumer;
  messages: ConsumerMessages;
  worker: Promise<void>;
  statusWatch: Promise<void>;
  /** Largest payload the server takes, less the header allowance. */
  maxBytes: number;
}

/** Creates the resource, or brings an existing one to this configuration (several instances may race: both win). */
async function ensure(info: () => Promise<unknown>, add: () => Promise<unknown>, update: () => Promise<unknown>) {
  try {
    await info();
  } catch (error) {
    const missing =
      error instanceof JetStreamApiError &&
      (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.ConsumerNotFound);
    if (!missing) throw error;
    await add();
    return;
  }
  await update();
}

async function prepare(jsm: JetStreamManager, prefix: string, tuning: JetStreamIngestTuning): Promise<void> {
  const stream = ingestStreamName(prefix);
  const streamConfig: Partial<StreamConfig> & { name: string } = {
    name: stream,
    subjects: [`${prefix}._ingest.>`],
    storage: StorageType.File,
    // An acked message is removed: the stream holds only what is not appended yet.
    retention: RetentionPolicy.Workqueue,
    duplicate_window: nanos(tuning.duplicateWindowMs),
  };
  await ensure(
    () => jsm.streams.info(stream),
    () => jsm.streams.add(streamConfig),
    () => jsm.streams.update(stream, streamConfig),
  );
  const consumerConfig: Partial<ConsumerConfig> = {
    durable_name: INGEST_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(tuning.ackWaitMs),
    max_ack_pending: tuning.maxAckPending,
  };
  await ensure(
    () => jsm.consumers.info(stream, INGEST_CONSUMER),
    () => jsm.consumers.add(stream, consumerConfig),
    () => jsm.consumers.update(stream, INGEST_CONSUMER, consumerConfig),
  );
}

export async function createJetStreamIngestQueue(options: JetStreamIngestOptions): Promise<IngestQueue> {
  const { url, handlers } = options;
  const prefix = options.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  if (!isValidSubjectPrefix(prefix)) throw new ConfigError(`invalid NATS subject prefix: ${JSON.stringify(prefix)}`);
  const tuning = { ...DEFAULT_JETSTREAM_INGEST_TUNING, ...options.tuning };
  const logger = options.logger ?? consoleLogger;
  const stream = ingestStreamName(prefix);
  const stopping = new AbortController();
  const inbox = new Inbox(tuning.batchSize, tuning.batchWaitMs);
  let link: Link | undefined;
  let online = false;
  let closed = false;
  let closing: Promise<void> | undefined;

  const unavailable = (message: string, cause?: unknown) =>
    new IngestUnavailableError(message, tuning.retryAfterSeconds, cause === undefined ? undefined : { cause });

  function redeliveryDelay(message: JsMsg): number {
    const exponent = Math.min(message.info.deliveryCount - 1, 30);
    return Math.min(tuning.retryInitialMs * 2 ** exponent, tuning.retryMaxMs);
  }

  async function handleKind(kind: string, delivered: readonly JsMsg[], messages: readonly IngestMessage[]) {
    let handler: IngestHandler;
    try {
      handler = handlerFor(handlers, kind);
    } catch (error) {
      if (!(error instanceof UnknownIngestKindError)) throw error;
      // Perhaps an instance of a newer version knows the kind (rolling deploy): keep the messages for it.
      logger.error({ kind, messages: delivered.length }, 'no handler for this kind of message; handed back');
      for (const message of delivered) message.nak(tuning.retryMaxMs);
      return;
    }
    const outcomes = await handleIsolated(handler, messages);
    let failed = 0;
    let firstError: unknown;
    outcomes.forEach((outcome, index) => {
      const message = delivered[index];
      if (message === undefined) return;
      if (outcome.ok) return message.ack();
      if (failed++ === 0) firstError = outcome.error;
      message.nak(redeliveryDelay(message));
    });
    if (failed === 0) return;
    const details = { err: firstError, kind, failed, batch: messages.length };
    if (isTransient(firstError)) logger.warn(details, 'ingestion batch not appended; redelivered later');
    else logger.error(details, 'ingestion messages failed; redelivered later');
  }

  async function handleBatch(batch: readonly JsMsg[]): Promise<void> {
    const byKind = new Map<string, { delivered: JsMsg[]; messages: IngestMessage[] }>();
    for (const delivered of batch) {
      const message = decode(delivered);
      if (message === undefined) {
        logger.error({ subject: delivered.subject, seq: delivered.seq }, 'not an ingestion message; dropped');
        delivered.term('not an ingestion message');
        continue;
      }
      let group = byKind.get(message.kind);
      if (group === undefined) byKind.set(message.kind, (group = { delivered: [], messages: [] }));
      group.delivered.push(delivered);
      group.messages.push(message);
    }
    await Promise.all([...byKind].map(([kind, group]) => handleKind(kind, group.delivered, group.messages)));
  }

  async function work(): Promise<void> {
    for (;;) {
      const batch = await inbox.take(stopping.signal);
      if (batch.length === 0) return;
      try {
        await handleBatch(batch);
      } catch (error) {
        // Unacked messages come back after ack_wait; the worker goes on with the next batch.
        logger.error({ err: error }, 'ingestion batch failed');
      }
    }
  }

  async function watch(nats: NatsConnection): Promise<void> {
    for await (const status of nats.status()) {
      if (status.type === 'disconnect') online = false;
      else if (status.type === 'reconnect') online = true;
    }
  }

  async function open(): Promise<Link> {
    // Reconnects after a lost connection are the client's (forever); only the first connection is ours to retry.
    const nats = await connect({ servers: url, name: options.name, maxReconnectAttempts: -1, timeout: 5000 });
    try {
      const jsm = await jetstreamManager(nats);
      await prepare(jsm, prefix, tuning);
      const js = jsm.jetstream();
      const consumer = await js.consumers.get(stream, INGEST_CONSUMER);
      const messages = await consumer.consume({
        max_messages: tuning.batchSize,
        expires: PULL_EXPIRES_MS,
        callback: (message) => inbox.push(message),
      });
      online = true;
      const maxBytes = (nats.info?.max_payload ?? 1024 * 1024) - HEADER_ALLOWANCE;
      return { nats, js, consumer, messages, worker: work(), statusWatch: watch(nats), maxBytes };
    } catch (error) {
      await nats.close();
      throw error;
    }
  }

  async function attempt(): Promise<boolean> {
    try {
      link = await open();
      return true;
    } catch (error) {
      logger.warn({ err: error, url }, 'cannot reach NATS JetStream; ingestion answers 503 until it can');
      return false;
    }
  }

  const first = attempt();
  const opening = (async () => {
    let opened = await first;
    while (!opened && !stopping.signal.aborted) {
      await sleep(tuning.reconnectMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      if (!stopping.signal.aborted) opened = await attempt();
    }
  })();
  await first;

  async function shutDown(): Promise<void> {
    stopping.abort();
    await opening;
    if (link === undefined) return;
    // The batch in hand is finished and acked first; meanwhile deliveries settle, since a message the server sends
    // after the unsubscribe below only comes back after ack_wait.
    await link.worker;
    await link.messages.close();
    // What was delivered but never taken goes back to the other instances, once our last pull request expired.
    for (const message of inbox.clear()) message.nak(2 * PULL_EXPIRES_MS);
    // A drain waits for the server; while it is away the naks are lost anyway and come back after ack_wait.
    await (online ? link.nats.drain() : link.nats.close());
    await link.statusWatch;
  }

  return {
    async submit(message) {
      if (closed) throw unavailable('the ingestion queue is closed');
      handlerFor(handlers, message.kind);
      const current = link;
      if (current === undefined || !online) throw unavailable(`NATS at ${url} is unreachable`);
      const data = new TextEncoder().encode(JSON.stringify(message));
      if (data.length > current.maxBytes) throw new IngestMessageTooLargeError(data.length, current.maxBytes);
      try {
        await current.js.publish(ingestSubject(prefix, message.kind), data, {
          msgID: messageId(message),
          timeout: tuning.publishTimeoutMs,
        });
      } catch (error) {
        throw unavailable('JetStream did not confirm the message', error);
      }
    },
    async depth() {
      const current = link;
      if (current === undefined || !online) throw unavailable(`NATS at ${url} is unreachable`);
      try {
        const info = await current.consumer.info();
        return info.num_pending + info.num_ack_pending;
      } catch (error) {
        throw unavailable('JetStream did not answer for the consumer', error);
      }
    },
    close() {
      closed = true;
      return (closing ??= shutDown());
    },
  };
}
