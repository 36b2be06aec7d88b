// The ingestion queue (DESIGN.md "Live delivery", last paragraph): ingestion routes validate a payload, submit it
// here and answer 202; handlers append it to the store in batches. With NATS it is a JetStream stream (durable,
// deduplicated by message id); embedded, submit hands the message straight to its handler.
import type { Actor, JsonObject } from '../eventstore/port.ts';

export interface IngestMessage {
  /** Which handler takes it, e.g. 'alertmanager', 'events-v2', 'changes'. */
  kind: string;
  tenant: string;
  /** Deduplicates a retried submission (JetStream message id); handlers derive event ids from it. */
  dedupKey: string;
  /** The caller, from its verified token. */
  actor: Actor;
  /** ISO-8601 instant the route received it. */
  receivedAt: string;
  traceparent?: string;
  payload: JsonObject;
}

/**
 * Appends a batch of messages of one kind. Must be idempotent: a message may be delivered again after a crash, so
 * event ids are derived from `dedupKey` and the store's idempotent append makes the redelivery a no-op.
 */
export type IngestHandler = (messages: readonly IngestMessage[]) => Promise<void>;

/** The handler of each kind; the composition root merges the registries that command modules export. */
export type IngestHandlers = Readonly<Record<string, IngestHandler>>;

export interface IngestQueue {
  /** Resolves once the message is durably accepted (or, embedded, handled); rejects with IngestUnavailableError. */
  submit(message: IngestMessage): Promise<void>;
  /** Messages accepted but not yet handled (for /metrics). */
  depth(): Promise<number>;
  close(): Promise<void>;
}

/** The queue or the store cannot take the message now; the route answers 503 with Retry-After. */
export class IngestUnavailableError extends Error {
  override name = 'IngestUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message is larger than the queue can carry (NATS max_payload); retrying cannot help, the route answers 413. */
export class IngestMessageTooLargeError extends Error {
  override name = 'IngestMessageTooLargeError';
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`the message is ${bytes} bytes once encoded; the ingestion queue takes at most ${maxBytes}`);
  }
}

/** No handler is registered for a message's kind: a programming error, never the sender's. */
export class UnknownIngestKindError extends Error {
  override name = 'UnknownIngestKindError';
}
