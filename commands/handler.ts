// One command handler for every aggregate (STYLE.md): read the stream, fold it with `evolve`, `decide`, append
// with the expected revision. Aggregates differ only in their decider.
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import type { Decider } from '../domain/shared/decider.ts';
import { InvalidAppendError, StoreUnavailableError, WrongExpectedRevisionError } from '../infra/eventstore/errors.ts';
import {
  START,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type JsonObject,
  type NewEvent,
  type NewEventMetadata,
  type Position,
  type StoredEvent,
} from '../infra/eventstore/port.ts';
import { unqualify } from '../infra/eventstore/stream-name.ts';

/** Event data shapes are versioned together; bump it (and upcast on read) when a stored shape changes. */
export const EVENT_SCHEMA_VERSION = 1;
const DEFAULT_RETRIES = 10;
const BACKOFF_BASE_MS = 5;
const BACKOFF_MAX_MS = 200;

/** What a decider may emit: stored as it is, so its data must be JSON. */
export interface PersistableEvent {
  readonly type: string;
  readonly data: JsonObject;
}

/** Metadata of every event a command appends; the handler adds the schema version, the store the hash chain. */
export type CommandEventMetadata = Omit<NewEventMetadata, 'schemaVersion'>;

export interface HandleOptions {
  /**
   * The version (number of events) the caller based its command on; if the stream has moved on, the command fails
   * with a ConcurrencyError instead of being re-decided. Without it, conflicts are retried.
   */
  expectedVersion?: number;
  metadata: CommandEventMetadata;
  /** Further attempts after a conflict (without expectedVersion) or an unavailable store; default 10. */
  retries?: number;
  /**
   * The id of the decision's event at `index`, when the command stems from a message that may be delivered again
   * (ingestion): ids derived from the message make the redelivery's append a no-op in the store. Default UUID v7.
   */
  eventId?: (index: number) => string;
  /**
   * Decide as if the stream were empty and append with `no_stream`, without reading it first: one round trip fewer
   * for a stream that is indeed new (ingestion's first firings). If it is not, the append is refused and the command
   * is decided on the stream as read, as if the guess had not been made. Only for callers that mostly guess right.
   */
  assumeNew?: boolean;
  /** Read the appended events back into the result (their positions, recorded instants, hashes); default true. */
  readBack?: boolean;
}

export interface HandleResult<State> {
  /** The events this command appended, as stored (revision, position, hash); [] when it changed nothing or unread. */
  events: StoredEvent[];
  state: State;
  /** Number of events in the stream after the command. */
  version: number;
  /** Cursor of the stream's last event (START for an empty stream), for `consistentWith` reads. */
  position: Position;
}

/** The stream is not at the version the command expected; nothing was appended. */
export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
  constructor(
    /** Client-visible stream id (`incident-<id>`). */
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`${streamId} is at version ${currentVersion}, not ${expectedVersion}; reload it and decide again`);
  }
}

export async function handleCommand<State, Command, Event extends PersistableEvent>(
  store: EventStore,
  decider: Decider<State, Command, Event>,
  storeStreamId: string,
  command: Command,
  options: HandleOptions,
): Promise<HandleResult<State>> {
  const { expectedVersion, retries = DEFAULT_RETRIES, readBack = true } = options;
  const streamId = unqualify(options.metadata.tenantId, storeStreamId);
  // The tenant of the events and of the stream must agree, or a caller could write into another tenant's stream.
  if (streamId === undefined) {
    throw new InvalidAppendError(`stream ${storeStreamId} does not belong to tenant ${options.metadata.tenantId}`);
  }
  const metadata: NewEventMetadata = { ...options.metadata, schemaVersion: EVENT_SCHEMA_VERSION };

  // A wrong guess that the stream is new costs one refused append; after it, the stream is read as usual.
  let guessNew = options.assumeNew === true && (expectedVersion ?? 0) === 0;
  for (let attempt = 0; ; attempt++) {
    const current = guessNew
      ? { state: decider.initialState(), version: 0, position: START }
      : await whileUnavailable(retries, () => load(store, decider, storeStreamId));
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new ConcurrencyError(streamId, expectedVersion, current.version);
    }
    let decided: Event[];
    try {
      decided = decider.decide(command, current.state);
    } catch (error) {
      if (!guessNew) throw error;
      guessNew = false;
      continue;
    }
    if (decided.length === 0) {
      // Nothing to do on an empty stream says nothing about the stream as it is.
      if (!guessNew) return { events: [], ...current };
      guessNew = false;
      continue;
    }

    // New ids for every decision: after a conflict the re-decided events are new facts. Within one decision the
    // ids stay fixed, so re-sending an append whose outcome was lost is a no-op in the store, not a duplicate.
    const eventId = options.eventId ?? (() => uuidv7());
    const events: NewEvent[] = decided.map((event, index) => ({
      id: eventId(index),
      type: event.type,
      data: event.data,
      metadata,
    }));
    let appended: AppendResult;
    try {
      const expectedRevision = expectedRevisionOf(current.version);
      appended = await whileUnavailable(retries, () => store.append(storeStreamId, events, { expectedRevision }));
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (guessNew) {
        guessNew = false;
        continue;
      }
      const currentVersion = Number(error.actual) + 1;
      if (expectedVersion !== undefined || attempt >= retries) {
        throw new ConcurrencyError(streamId, expectedVersion ?? current.version, currentVersion);
      }
      await backoff(attempt);
      continue;
    }
    const lastRevision = BigInt(current.version + events.length - 1);
    // The store answered with an earlier append of these very ids (a message delivered again after its stream moved
    // on): the command took effect back then and appends nothing now.
    if (appended.nextRevision !== lastRevision) return { events: [], ...current };
    // Read back for what only the store knows: each event's position, recordedAt and hash.
    const range = { fromRevision: BigInt(current.version), toRevision: lastRevision };
    const read = () => collect(store.readStream(storeStreamId, range));
    const stored = readBack ? await whileUnavailable(retries, read) : [];
    return {
      events: stored,
      state: decided.reduce(decider.evolve, current.state),
      version: current.version + decided.length,
      position: appended.position,
    };
  }
}

async function load<State, Command, Event extends PersistableEvent>(
  store: EventStore,
  decider: Decider<State, Command, Event>,
  storeStreamId: string,
): Promise<{ state: State; version: number; position: Position }> {
  let state = decider.initialState();
  let version = 0;
  let position = START;
  for await (const stored of store.readStream(storeStreamId)) {
    // A stream holds only what its own decider emitted, so its events are that decider's events.
    state = decider.evolve(state, { type: stored.type, data: stored.data } as Event);
    version += 1;
    position = stored.position;
  }
  return { state, version, position };
}

/** version n (events in the stream) ↔ revision n-1 of its last event; version 0 ↔ no stream yet. */
function expectedRevisionOf(version: number): ExpectedRevision {
  return version === 0 ? 'no_stream' : BigInt(version - 1);
}

/** Retries `operation` while the store reports it unavailable; the operation itself must be safe to repeat. */
async function whileUnavailable<T>(retries: number, operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || attempt >= retries) throw error;
      await backoff(attempt);
    }
  }
}

/** Exponential backoff with full jitter, so writers that collided do not collide again in lockstep. */
function backoff(attempt: number): Promise<void> {
  return sleep(Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt));
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
