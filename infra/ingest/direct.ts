// The embedded ingestion queue (no NATS_URL): submit runs the kind's handler at once and resolves when the events
// are appended, so the route's 202 still means "stored". Submits that arrive while a kind's handler is busy are
// coalesced into the next batch, which keeps appends batched under load without delaying a lone message.
import { handleIsolated, handlerFor, isTransient } from './batch.ts';
import {
  IngestUnavailableError,
  type IngestHandlers,
  type IngestMessage,
  type IngestQueue,
} from './port.ts';

export interface DirectIngestOptions {
  handlers: IngestHandlers;
  /** Most messages handed to a handler at once (default 500). */
  maxBatchSize?: number;
  /** Retry-After of the 503 answered while the store is unavailable (default 5). */
  retryAfterSeconds?: number;
}

interface Waiting {
  message: IngestMessage;
  resolve(): void;
  reject(error: unknown): void;
}

export function createDirectIngestQueue(options: DirectIngestOptions): IngestQueue {
  const { handlers, maxBatchSize = 500, retryAfterSeconds = 5 } = options;
  const waiting = new Map<string, Waiting[]>();
  const running = new Map<string, Promise<void>>();
  let closed = false;

  function failure(error: unknown): unknown {
    return isTransient(error) && !(error instanceof IngestUnavailableError)
      ? new IngestUnavailableError('the event store is unavailable', retryAfterSeconds, { cause: error })
      : error;
  }

  async function drain(kind: string, queue: Waiting[]): Promise<void> {
    const handler = handlerFor(handlers, kind);
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatchSize);
        const outcomes = await handleIsolated(
          handler,
          batch.map((each) => each.message),
        );
        batch.forEach((each, index) => {
          const outcome = outcomes[index];
          if (outcome?.ok === true) each.resolve();
          else each.reject(failure(outcome?.error));
        });
      }
    } finally {
      // In the same turn as the last look at the queue, so a submit arriving now starts a new drain.
      running.delete(kind);
    }
  }

  return {
    submit(message) {
      if (closed) return Promise.reject(new IngestUnavailableError('the ingestion queue is closed', retryAfterSeconds));
      const { kind } = message;
      try {
        handlerFor(handlers, kind);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<void>((resolve, reject) => {
        let queue = waiting.get(kind);
        if (queue === undefined) waiting.set(kind, (queue = []));
        queue.push({ message, resolve, reject });
        if (!running.has(kind)) running.set(kind, drain(kind, queue));
      });
    },
    depth: () => Promise.resolve(0),
    async close() {
      closed = true;
      await Promise.all(running.values());
    },
  };
}
