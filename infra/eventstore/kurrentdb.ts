// The `kurrentdb` backend: the EventStore port on EventStoreDB 22.10+ / KurrentDB through @kurrent/kurrentdb-client
// (EVENTSTORE_URL=esdb://… or kurrentdb://…). Semantics are exactly those of port.ts, checked by the shared contract
// suite (tests/contract/eventstore-kurrentdb.test.ts runs it when a server is configured).
import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START as KURRENT_START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  isCommandError,
  jsonEvent,
  streamNameFilter,
  type AllStreamRecordedEvent,
  type AppendStreamState,
  type Filter,
  type JSONEventType,
  type Position as KurrentPosition,
  type RecordedEvent,
} from '@kurrent/kurrentdb-client';
import { EventStoreError, InvalidAppendError, InvalidReadError, StoreUnavailableError, WrongExpectedRevisionError } from './errors.ts';
import { chainEvents, GENESIS_HASH } from './hash-chain.ts';
import {
  START,
  type AppendOptions,
  type AppendResult,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  type JsonObject,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type SubscribeOptions,
} from './port.ts';
import { prepareAppend, type PreparedAppend } from './validation.ts';

export interface KurrentDBEventStoreOptions {
  /** Events per read call: every read is paged, so no single call asks the server for an unbounded scan. */
  pageSize?: number;
  /** Attempts of an 'any' or 'stream_exists' append that keeps losing the race for the stream's head. */
  maxAppendAttempts?: number;
}

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_APPEND_ATTEMPTS = 100;

// A position is the (commit, prepare) pair of unsigned 64-bit log offsets, as 16 lower-case hex digits each: string
// order is then log order, and START ('') sorts before every event.
const POSITION = /^([0-9a-f]{16})-([0-9a-f]{16})$/;

export function encodePosition(position: KurrentPosition): Position {
  return `${position.commit.toString(16).padStart(16, '0')}-${position.prepare.toString(16).padStart(16, '0')}`;
}

/** The server position after which to read; undefined for START. */
export function decodePosition(position: Position): KurrentPosition | undefined {
  if (position === START) return undefined;
  const match = POSITION.exec(position);
  if (match === null) throw new InvalidReadError(`not a kurrentdb position: ${JSON.stringify(position)}`);
  return { commit: BigInt(`0x${match[1]}`), prepare: BigInt(`0x${match[2]}`) };
}

function checkCount(maxCount: number | undefined): number {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(maxCount) || maxCount < 0) throw new InvalidReadError(`maxCount must be an integer >= 0, got ${maxCount}`);
  return maxCount;
}

// gRPC status codes meaning "not reachable now"; the client does not wrap every one of them in a CommandError.
const UNAVAILABLE_GRPC_CODES: ReadonlySet<number> = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);
const UNAVAILABLE_TYPES: ReadonlySet<string> = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);

/** Maps a client failure to a typed store error; trouble reaching the server becomes StoreUnavailableError. */
function storeError(error: unknown, operation: string): Error {
  if (error instanceof EventStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const type = error instanceof Error && isCommandError(error) ? error.type : undefined;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if ((type !== undefined && UNAVAILABLE_TYPES.has(type)) || (typeof code === 'number' && UNAVAILABLE_GRPC_CODES.has(code))) {
    return new StoreUnavailableError(`kurrentdb unavailable during ${operation}: ${message}`, { cause: error });
  }
  return new EventStoreError(`kurrentdb ${operation} failed: ${message}`, { cause: error });
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function toStoredEvent(event: RecordedEvent | AllStreamRecordedEvent): StoredEvent {
  const { data, metadata, position } = event;
  if (!event.isJson || !isJsonObject(data) || !isJsonObject(metadata)) {
    throw new EventStoreError(`event ${event.id} of ${event.streamId} is not a JSON event written by this store`);
  }
  // Stream reads carry positions from server 22.6 on; DESIGN.md asks for 22.10+.
  if (position === undefined) throw new EventStoreError('the kurrentdb server returns no event positions (22.10+ needed)');
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: event.revision,
    position: encodePosition(position),
    recordedAt: event.created,
    data,
    // Written by append() below with the whole envelope; the hash chain (verifyStream) is what vouches for it.
    metadata: metadata as unknown as EventMetadata,
  };
}

/** Client-side half of a filter: the server applies one part (serverFilter), this checks all of it. */
function matches(filter: EventFilter | undefined, streamId: string, type: string): boolean {
  if (streamId.startsWith('$') || type.startsWith('$')) return false;
  if (filter?.streamPrefix !== undefined && !streamId.startsWith(filter.streamPrefix)) return false;
  return filter?.types === undefined || filter.types.includes(type);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// KurrentDB filters $all on the stream name or on the event type, never both: the stream prefix (a tenant's log,
// usually the narrower) goes to the server and the types are checked here; without a prefix the types become an
// exact-match regex; with neither, system events are left out server-side.
function serverFilter(filter: EventFilter | undefined): Filter {
  if (filter?.streamPrefix !== undefined && filter.streamPrefix !== '') return streamNameFilter({ prefixes: [filter.streamPrefix] });
  if (filter?.types !== undefined) {
    // No types means no events, as in SQL's `type = ANY('{}')`; an empty alternation would match them all.
    const regex = filter.types.length === 0 ? '(?!)' : `^(?:${filter.types.map(escapeRegex).join('|')})$`;
    return eventTypeFilter({ regex });
  }
  return excludeSystemEvents();
}

function pause(attempt: number): Promise<void> {
  // Jittered, so writers that lost the same race do not collide again in lockstep.
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
}

/** Where a batch goes: the revision the server must find, the event it chains onto, and stored events around it. */
interface Placement {
  expected: bigint | 'no_stream';
  previous: StoredEvent | undefined;
  /** The stored events where a retry of this batch would be, if it had been written already. */
  window: StoredEvent[];
}

export function createKurrentDBEventStore(connectionString: string, options: KurrentDBEventStoreOptions = {}): EventStore {
  const client = KurrentDBClient.connectionString(connectionString);
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const maxAppendAttempts = options.maxAppendAttempts ?? DEFAULT_APPEND_ATTEMPTS;
  // close() ends live subscriptions too, as the SQL stores do.
  const closing = new AbortController();

  /** One page of a stream; a stream that does not exist is an empty page. */
  async function streamPage(
    streamId: string,
    fromRevision: bigint | typeof END | typeof KURRENT_START,
    direction: typeof FORWARDS | typeof BACKWARDS,
    maxCount: number,
  ): Promise<StoredEvent[]> {
    const page: StoredEvent[] = [];
    try {
      for await (const resolved of client.readStream(streamId, { fromRevision, direction, maxCount })) {
        if (resolved.event !== undefined) page.push(toStoredEvent(resolved.event));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw storeError(error, `read of ${streamId}`);
    }
    return page;
  }

  async function placement(append: PreparedAppend): Promise<Placement> {
    const { streamId, expectedRevision: expected, events } = append;
    if (expected === 'no_stream') {
      return { expected, previous: undefined, window: await streamPage(streamId, KURRENT_START, FORWARDS, events.length) };
    }
    if (expected === 'any' || expected === 'stream_exists') {
      const tail = (await streamPage(streamId, END, BACKWARDS, events.length)).reverse();
      const previous = tail[tail.length - 1];
      if (previous === undefined && expected === 'stream_exists') throw new WrongExpectedRevisionError(streamId, expected, -1n);
      // Pinning the revision just read keeps the chain race-free: a concurrent writer turns into a conflict (retried).
      return { expected: previous?.revision ?? 'no_stream', previous, window: tail };
    }
    const window = await streamPage(streamId, expected, FORWARDS, events.length + 1);
    const previous = window[0]?.revision === expected ? window[0] : undefined;
    if (previous !== undefined) return { expected, previous, window };
    // Never send an append whose prevHash is unknown: had the stream reached `expected` meanwhile, the server would
    // take it and the chain would break. Find the actual revision instead, and go again if it is now `expected`.
    const [last] = await streamPage(streamId, END, BACKWARDS, 1);
    if (last?.revision !== expected) throw new WrongExpectedRevisionError(streamId, expected, last?.revision ?? -1n);
    return placement(append);
  }

  /**
   * A retry of a stored batch returns the original result. KurrentDB keeps no index of event ids, so a retry is
   * recognised where its expected revision (for 'any': the stream's tail) puts it; the server's own idempotency
   * check covers the same ground when the retry races the original.
   */
  function replayed(append: PreparedAppend, window: readonly StoredEvent[]): AppendResult | undefined {
    const ids = new Set(append.ids);
    if (!window.some((event) => ids.has(event.id))) return undefined;
    const start = window.findIndex((event) => event.id === append.ids[0]);
    const run = start < 0 ? [] : window.slice(start, start + append.ids.length);
    const last = run[run.length - 1];
    if (last === undefined || run.length !== append.ids.length || run.some((event, index) => event.id !== append.ids[index])) {
      throw new InvalidAppendError(`the batch for ${append.streamId} is only partly a retry of stored events`);
    }
    return { nextRevision: last.revision, position: last.position };
  }

  async function write(append: PreparedAppend, placed: Placement, originals: readonly NewEvent[]): Promise<AppendResult> {
    const { metadata } = chainEvents(append.events, placed.previous?.metadata.hash ?? GENESIS_HASH);
    const proposed = append.events.map((event, index) =>
      // The caller's stable id is what lets the server recognise a retried append.
      jsonEvent<JSONEventType<string, JsonObject, JsonObject>>({
        id: event.id,
        type: event.type,
        data: (originals[index] as NewEvent).data,
        metadata: JSON.parse(metadata[index] as string) as JsonObject,
      }),
    );
    const streamState: AppendStreamState = placed.expected === 'no_stream' ? NO_STREAM : placed.expected;
    const result = await client.appendToStream(append.streamId, proposed, { streamState });
    const nextRevision = result.nextExpectedRevision;
    // A single event's append position is its own; for a batch the server reports the span of the whole write, so
    // the last event is read back to return exactly its position.
    if (proposed.length === 1 && result.position !== undefined) return { nextRevision, position: encodePosition(result.position) };
    const [last] = await streamPage(append.streamId, nextRevision, FORWARDS, 1);
    if (last?.revision !== nextRevision) throw new EventStoreError(`appended event ${nextRevision} of ${append.streamId} is not readable`);
    return { nextRevision, position: last.position };
  }

  async function append(streamId: string, events: readonly NewEvent[], appendOptions: AppendOptions): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, appendOptions.expectedRevision);
    const expected = prepared.expectedRevision;
    try {
      for (let attempt = 1; ; attempt++) {
        const placed = await placement(prepared);
        const original = replayed(prepared, placed.window);
        if (original !== undefined) return original;
        try {
          return await write(prepared, placed, events);
        } catch (error) {
          // 'any' and 'stream_exists' lost the race for the head they pinned: place the batch again.
          const pinned = expected === 'any' || expected === 'stream_exists';
          if (!(error instanceof WrongExpectedVersionError) || !pinned || attempt >= maxAppendAttempts) throw error;
          await pause(attempt);
        }
      }
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(streamId, expected, error.actualState === NO_STREAM ? -1n : error.actualState);
      }
      if (error instanceof MaxAppendSizeExceededError) {
        throw new InvalidAppendError(`the batch for ${streamId} exceeds the server's maximum append size of ${error.maxAppendSize} bytes`);
      }
      throw storeError(error, `append to ${streamId}`);
    }
  }

  async function* readStream(streamId: string, readOptions: ReadStreamOptions = {}): AsyncGenerator<StoredEvent> {
    let remaining = checkCount(readOptions.maxCount);
    const backwards = readOptions.direction === 'backwards';
    const { toRevision } = readOptions;
    let from: bigint | typeof END | typeof KURRENT_START = readOptions.fromRevision ?? (backwards ? END : KURRENT_START);
    while (remaining > 0) {
      const size = Math.min(pageSize, remaining);
      const page = await streamPage(streamId, from, backwards ? BACKWARDS : FORWARDS, size);
      for (const event of page) {
        if (toRevision !== undefined && (backwards ? event.revision < toRevision : event.revision > toRevision)) return;
        yield event;
        remaining--;
      }
      const last = page[page.length - 1];
      if (last === undefined || page.length < size || (backwards && last.revision === 0n)) return;
      from = backwards ? last.revision - 1n : last.revision + 1n;
    }
  }

  async function* readAll(readOptions: ReadAllOptions = {}): AsyncGenerator<StoredEvent> {
    let remaining = checkCount(readOptions.maxCount);
    const filter = serverFilter(readOptions.filter);
    let from = decodePosition(readOptions.after ?? START);
    while (remaining > 0) {
      let received = 0;
      let last: KurrentPosition | undefined;
      // Reads start at their position inclusively and `after` is exclusive: the event at `from`, already seen, comes
      // back first, so the page asks for one more.
      const size = from === undefined ? pageSize : pageSize + 1;
      const page = client.readAll({ fromPosition: from ?? KURRENT_START, maxCount: size, filter });
      try {
        for await (const { event } of page) {
          received++;
          if (event === undefined) continue;
          const seen = from !== undefined && event.position.commit === from.commit && event.position.prepare === from.prepare;
          last = event.position;
          if (seen || !matches(readOptions.filter, event.streamId, event.type)) continue;
          yield toStoredEvent(event);
          if (--remaining === 0) return;
        }
      } catch (error) {
        throw storeError(error, 'read of $all');
      }
      if (last === undefined || received < size) return;
      from = last;
    }
  }

  async function* subscribeAll(subscribeOptions: SubscribeOptions): AsyncGenerator<StoredEvent> {
    const signal = subscribeOptions.signal ? AbortSignal.any([subscribeOptions.signal, closing.signal]) : closing.signal;
    if (signal.aborted) return;
    // Subscriptions start after their position (unlike reads): catch-up, then live, in log order and gap-free.
    const subscription = client.subscribeToAll({
      fromPosition: decodePosition(subscribeOptions.after ?? START) ?? KURRENT_START,
      filter: serverFilter(subscribeOptions.filter),
    });
    const stop = (): void => void subscription.unsubscribe().catch(() => undefined);
    signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const { event } of subscription) {
        if (signal.aborted) return;
        if (event === undefined || !matches(subscribeOptions.filter, event.streamId, event.type)) continue;
        yield toStoredEvent(event);
      }
    } catch (error) {
      if (signal.aborted) return;
      throw storeError(error, 'subscription to $all');
    } finally {
      signal.removeEventListener('abort', stop);
      await subscription.unsubscribe().catch(() => undefined);
    }
  }

  async function headPosition(): Promise<Position> {
    try {
      const newest = client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, filter: excludeSystemEvents() });
      for await (const { event } of newest) {
        if (event !== undefined) return encodePosition(event.position);
      }
      return START;
    } catch (error) {
      throw storeError(error, 'read of the head of $all');
    }
  }

  async function close(): Promise<void> {
    if (closing.signal.aborted) return;
    closing.abort();
    await client.dispose();
  }

  return { append, readStream, readAll, subscribeAll, headPosition, close };
}
