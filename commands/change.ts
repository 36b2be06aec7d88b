// Entry points for changes, both through the one generic handler: `recordChange` for the GraphQL mutation, and the
// ingestion handler of `POST /ingest/changes` messages, which records each delivered change idempotently: the
// change id and its event's id are derived from the message's dedup key, so a redelivered or re-POSTed change is
// the same change (decided again, it changes nothing; appended again, it is a no-op in the store).
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { changeDecider, requireChangeId, type Change, type ChangeCommand, type JsonRecord, type RecordChange } from '../domain/change/index.ts';
import type { EventStore, Position, StoredEvent } from '../infra/eventstore/port.ts';
import { qualify, streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { IngestHandler, IngestMessage } from '../infra/ingest/port.ts';
import { handleCommand } from './handler.ts';
import type { CommandContext } from './context.ts';
import { inPool } from './pool.ts';
import { commandMetadata } from './context.ts';

export const CHANGE_CATEGORY = 'change';
/** The ingest message kind of `POST /ingest/changes`. */
export const CHANGE_INGEST_KIND = 'changes';
/** Changes recorded at once; each holds a pooled connection for a few round trips. */
const CHANGES_IN_FLIGHT = 16;
/** Namespace of the UUIDs (v5) derived from ingest dedup keys. */
const INGEST_NAMESPACE = '4f0f3c58-9d55-4a77-8a2b-3b1c1b6e2d10';

export function changeStreamId(tenantId: string, changeId: string): string {
  return qualify(tenantId, streamIdOf(CHANGE_CATEGORY, requireChangeId('id', changeId)));
}

export interface ChangeCommandResult {
  changeId: string;
  change: Change;
  /** Client-visible stream id, `change-<id>`. */
  streamId: string;
  events: StoredEvent[];
  /** Cursor of the change's event, for `consistentWith`. */
  cursor: Position;
}

/** A change as a caller reports it; `id` is generated when absent, `at` is the command's clock when absent. */
export type ChangeInput = Omit<RecordChange['data'], 'changeId'> & { id?: string | null };

/** Records a change; recording the same change under the same `id` again changes nothing. */
export async function recordChange(store: EventStore, context: CommandContext, input: ChangeInput): Promise<ChangeCommandResult> {
  const { id, ...fields } = input;
  const changeId = id ?? uuidv7();
  const commandId = uuidv7();
  const command: ChangeCommand = {
    type: 'RecordChange',
    data: { ...fields, changeId },
    metadata: { now: (context.now ?? new Date()).toISOString(), actorId: context.actor.id },
  };
  const result = await handleCommand(store, changeDecider, changeStreamId(context.tenantId, changeId), command, {
    metadata: commandMetadata(context, commandId),
  });
  // decide records the change or refuses, so a change is there.
  const change = result.state.change as Change;
  return { changeId, change, streamId: streamIdOf(CHANGE_CATEGORY, changeId), events: result.events, cursor: result.position };
}

/**
 * The payload of a `changes` ingest message: the change as the route read it from the PagerDuty body (every field
 * present, absent ones null). A type alias, so that it is the JSON a message carries.
 */
export type ChangeIngestPayload = {
  service: string | null;
  kind: string | null;
  summary: string;
  version: string | null;
  author: string | null;
  source: string | null;
  /** ISO-8601 instant, or null for "when it was received". */
  at: string | null;
  links: { href: string; text: string | null }[];
  customDetails: JsonRecord;
};

/** The RecordChange a message stands for: the change id is derived from the tenant and the dedup key. */
export function ingestedChange(message: IngestMessage): RecordChange {
  // Only the changes route builds these payloads (gateway/ingest/changes.ts), and decide checks every field again.
  const payload = message.payload as unknown as ChangeIngestPayload;
  const changeId = uuidv5(`${message.tenant}/${message.dedupKey}`, INGEST_NAMESPACE);
  return {
    type: 'RecordChange',
    data: { ...payload, changeId },
    metadata: { now: message.receivedAt, actorId: message.actor.id },
  };
}

async function recordIngested(store: EventStore, message: IngestMessage): Promise<void> {
  const command = ingestedChange(message);
  const { changeId } = command.data;
  const context: CommandContext = {
    tenantId: message.tenant,
    actor: message.actor,
    ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
  };
  await handleCommand(store, changeDecider, changeStreamId(message.tenant, changeId), command, {
    metadata: commandMetadata(context, changeId),
    eventId: (index) => uuidv5(`${changeId}/${index}`, INGEST_NAMESPACE),
  });
}

/**
 * The ingestion handlers of this module, by message kind, for the ingest queue to register. Every message of a
 * batch is its own change stream, so they are recorded side by side; the batch fails with the first failure once
 * all have run (the queue then retries or isolates it, and what was stored is a no-op when delivered again).
 */
export function changeIngestHandlers(store: EventStore): Record<typeof CHANGE_INGEST_KIND, IngestHandler> {
  return {
    async [CHANGE_INGEST_KIND](messages) {
      const failures = await inPool(messages, CHANGES_IN_FLIGHT, (message) =>
        recordIngested(store, message).then(
          () => [],
          (error: unknown) => [error],
        ),
      );
      const [first] = failures.flat();
      if (first !== undefined) throw first;
    },
  };
}
