// What both queues do with a batch of one kind: find its handler, run it, and tell each message how it went. A
// batch fails as a whole when the store is unavailable (every message waits for it alike); any other failure may be
// one bad message, so the batch is run again message by message and only that message fails.
import { StoreUnavailableError } from '../eventstore/errors.ts';
import {
  IngestUnavailableError,
  UnknownIngestKindError,
  type IngestHandler,
  type IngestHandlers,
  type IngestMessage,
} from './port.ts';

export type Outcome = { ok: true } | { ok: false; error: unknown };

const OK: Outcome = { ok: true };

export function handlerFor(handlers: IngestHandlers, kind: string): IngestHandler {
  // Own properties only: a kind such as 'constructor' must not find Object.prototype's.
  const handler = Object.hasOwn(handlers, kind) ? handlers[kind] : undefined;
  if (handler === undefined) throw new UnknownIngestKindError(`no ingestion handler for kind ${JSON.stringify(kind)}`);
  return handler;
}

/** Failures that say "later", not "never": the same messages are expected to succeed once the store is back. */
export function isTransient(error: unknown): boolean {
  return error instanceof StoreUnavailableError || error instanceof IngestUnavailableError;
}

/** One outcome per message, in order. */
export async function handleIsolated(handler: IngestHandler, messages: readonly IngestMessage[]): Promise<Outcome[]> {
  try {
    await handler(messages);
    return messages.map(() => OK);
  } catch (error) {
    if (messages.length === 1 || isTransient(error)) return messages.map(() => ({ ok: false, error }));
  }
  const outcomes: Outcome[] = [];
  for (const message of messages) {
    try {
      await handler([message]);
      outcomes.push(OK);
    } catch (error) {
      outcomes.push({ ok: false, error });
    }
  }
  return outcomes;
}
