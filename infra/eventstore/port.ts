// The event store port (DESIGN.md "Event store port"). Every backend implements exactly these semantics and is
// checked by the one contract suite in tests/contract/eventstore.ts.

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Opaque, totally ordered by plain string comparison; '' is "before the first event". */
export type Position = string;
export const START: Position = '';

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export type ActorKind = 'user' | 'service' | 'system';
export interface Actor {
  id: string;
  kind: ActorKind;
  roles: string[];
}

/** Metadata the writer supplies; the store adds the hash chain (`prevHash`, `hash`). */
export interface NewEventMetadata {
  tenantId: string;
  actor: Actor;
  correlationId: string;
  causationId: string;
  schemaVersion: number;
  traceparent?: string;
  reason?: string;
}

export interface EventMetadata extends NewEventMetadata {
  prevHash: string;
  hash: string;
}

export interface NewEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  /** Client-generated UUID: re-appending a stored id is a no-op, which makes retries safe. */
  id: string;
  type: Type;
  data: Data;
  metadata: NewEventMetadata;
}

export interface StoredEvent<Type extends string = string, Data extends JsonObject = JsonObject> {
  id: string;
  type: Type;
  /** The store-level stream id, tenant-qualified (see stream-name.ts). */
  streamId: string;
  revision: bigint;
  position: Position;
  recordedAt: Date;
  data: Data;
  metadata: EventMetadata;
}

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the last event now in the stream (the next append's expected revision). */
  nextRevision: bigint;
  /** Position of the last appended event. */
  position: Position;
}

export interface ReadStreamOptions {
  fromRevision?: bigint;
  toRevision?: bigint;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
}

export interface EventFilter {
  /** Matches the start of the store-level stream id; a tenant's whole log is `tenantPrefix(tenant)`. */
  streamPrefix?: string;
  types?: readonly string[];
}

export interface ReadAllOptions {
  after?: Position;
  maxCount?: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  after?: Position;
  filter?: EventFilter;
  /** Ends the subscription (the iterator returns) when aborted. */
  signal?: AbortSignal;
}

export interface EventStore {
  /**
   * Appends the whole batch or nothing. A batch whose event ids are all stored already in this stream is a retry and
   * returns the original result without writing; a batch that is only partly stored is refused with
   * InvalidAppendError (nothing written). Bad input is refused with InvalidAppendError before anything is written.
   */
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<StoredEvent>;
  /** Catch-up from `after`, then live; gap-free and in strictly increasing position. */
  subscribeAll(options: SubscribeOptions): AsyncIterable<StoredEvent>;
  /** Position of the newest event visible to readers (START when empty). */
  headPosition(): Promise<Position>;
  close(): Promise<void>;
}
