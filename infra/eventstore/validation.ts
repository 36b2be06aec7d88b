// Everything an append is checked for before anything is written. The result is the batch in the form every backend
// stores and hashes: lower-case ids, canonical JSON data, and metadata split around the slot where the store puts
// `prevHash`, so chaining a batch onto a different head (after a lost race) costs no re-serialisation.
import { canonicalJson, canonicalMembersAround, isPlainObject, jsonString, NotJsonError } from './canonical-json.ts';
import { InvalidAppendError } from './errors.ts';
import type { ExpectedRevision, NewEvent } from './port.ts';
import { assertTenant, InvalidTenantError } from './stream-name.ts';

const MAX_STREAM_ID_LENGTH = 512;
const MAX_TYPE_LENGTH = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPE = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;
const ACTOR_KINDS: ReadonlySet<string> = new Set(['user', 'service', 'system']);
/** Written by the store, never taken from the caller (a caller may pass on metadata copied from a stored event). */
const STORE_OWNED_METADATA: ReadonlySet<string> = new Set(['prevHash', 'hash']);
/** Optional by their TypeScript type, so `undefined` there means "absent" rather than "not JSON". */
export const OPTIONAL_METADATA: ReadonlySet<string> = new Set(['traceparent', 'reason']);

export interface PreparedEvent {
  /** Lower case, as PostgreSQL's uuid type and KurrentDB hand it back. */
  id: string;
  type: string;
  /** Canonical JSON text of the event's data. */
  data: string;
  /** Canonical `"key":value` members of the metadata that sort before `prevHash`, comma-separated. */
  metadataBefore: string;
  /** The same for the members that sort after `prevHash`. */
  metadataAfter: string;
}

export interface PreparedAppend {
  streamId: string;
  expectedRevision: ExpectedRevision;
  events: PreparedEvent[];
  ids: string[];
}

function refuse(message: string): never {
  throw new InvalidAppendError(message);
}

function nonEmptyString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) refuse(`${path} must be a non-empty string`);
  return value;
}

function validateStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string' || streamId.length === 0) refuse('stream id must be a non-empty string');
  if (streamId.length > MAX_STREAM_ID_LENGTH) {
    refuse(`stream id is ${streamId.length} characters; at most ${MAX_STREAM_ID_LENGTH} are allowed`);
  }
  try {
    jsonString(streamId, 'stream id');
  } catch (error) {
    if (error instanceof NotJsonError) refuse(error.message);
    throw error;
  }
  const slash = streamId.indexOf('/');
  if (slash <= 0 || slash === streamId.length - 1) {
    refuse(`stream id ${JSON.stringify(streamId)} must be tenant-qualified as <tenant>/<stream> (see stream-name.ts)`);
  }
  try {
    assertTenant(streamId.slice(0, slash));
  } catch (error) {
    if (error instanceof InvalidTenantError) refuse(`stream id ${JSON.stringify(streamId)}: ${error.message}`);
    throw error;
  }
  return streamId;
}

function validateExpectedRevision(expected: unknown): ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected;
  if (typeof expected === 'bigint' && expected >= 0n) return expected;
  return refuse(
    `expectedRevision must be 'any', 'no_stream', 'stream_exists' or a bigint >= 0n, got ${
      typeof expected === 'bigint' ? `${expected}n` : JSON.stringify(expected) ?? String(expected)
    }`,
  );
}

function prepareMetadata(metadata: unknown, path: string, tenantId: string): { before: string; after: string } {
  if (!isPlainObject(metadata)) refuse(`${path} must be a plain object`);
  if (metadata.tenantId !== tenantId) {
    refuse(`${path}.tenantId ${JSON.stringify(metadata.tenantId)} does not match the stream's tenant ${JSON.stringify(tenantId)}`);
  }
  const actor = metadata.actor;
  if (!isPlainObject(actor)) refuse(`${path}.actor must be an object { id, kind, roles }`);
  nonEmptyString(actor.id, `${path}.actor.id`);
  if (typeof actor.kind !== 'string' || !ACTOR_KINDS.has(actor.kind)) refuse(`${path}.actor.kind must be user, service or system`);
  if (!Array.isArray(actor.roles) || !actor.roles.every((role) => typeof role === 'string')) {
    refuse(`${path}.actor.roles must be an array of strings`);
  }
  nonEmptyString(metadata.correlationId, `${path}.correlationId`);
  nonEmptyString(metadata.causationId, `${path}.causationId`);
  const version = metadata.schemaVersion;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    refuse(`${path}.schemaVersion must be an integer >= 1`);
  }
  for (const key of OPTIONAL_METADATA) {
    if (metadata[key] !== undefined && typeof metadata[key] !== 'string') refuse(`${path}.${key} must be a string when present`);
  }
  // The members sorting before and after `prevHash`, for the chain to splice `prevHash` in between.
  return canonicalMembersAround(metadata, 'prevHash', keepMetadata, path);
}

function keepMetadata(key: string, value: unknown): boolean {
  return !STORE_OWNED_METADATA.has(key) && !(value === undefined && OPTIONAL_METADATA.has(key));
}

type PreparedMetadata = ReturnType<typeof prepareMetadata>;

function prepareEvent(
  event: unknown,
  path: string,
  tenantId: string,
  // A command's events usually share one metadata object: it is checked and serialised once per batch.
  previous: { metadata?: unknown; prepared?: PreparedMetadata },
): PreparedEvent {
  if (!isPlainObject(event)) refuse(`${path} must be an object { id, type, data, metadata }`);
  if (typeof event.id !== 'string' || !UUID.test(event.id)) refuse(`${path}.id must be a UUID, got ${JSON.stringify(event.id)}`);
  const type = event.type;
  if (typeof type !== 'string' || type.length > MAX_TYPE_LENGTH || !TYPE.test(type)) {
    refuse(`${path}.type must be an identifier (letters, digits, _ . : -) of at most ${MAX_TYPE_LENGTH} characters`);
  }
  if (!isPlainObject(event.data)) refuse(`${path}.data must be a plain JSON object`);
  const metadata =
    previous.prepared !== undefined && event.metadata === previous.metadata
      ? previous.prepared
      : prepareMetadata(event.metadata, `${path}.metadata`, tenantId);
  previous.metadata = event.metadata;
  previous.prepared = metadata;
  return {
    id: event.id.toLowerCase(),
    type,
    data: canonicalJson(event.data, `${path}.data`),
    metadataBefore: metadata.before,
    metadataAfter: metadata.after,
  };
}

/** Checks an append and brings it into stored form; throws InvalidAppendError naming the first problem. */
export function prepareAppend(streamId: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): PreparedAppend {
  const id = validateStreamId(streamId);
  const expected = validateExpectedRevision(expectedRevision);
  if (!Array.isArray(events) || events.length === 0) refuse('an append needs at least one event');
  const tenantId = id.slice(0, id.indexOf('/'));
  try {
    const previous = {};
    const prepared = events.map((event: unknown, index) => prepareEvent(event, `events[${index}]`, tenantId, previous));
    const ids = prepared.map((event) => event.id);
    if (new Set(ids).size !== ids.length) refuse('the batch contains the same event id twice');
    return { streamId: id, expectedRevision: expected, events: prepared, ids };
  } catch (error) {
    if (error instanceof NotJsonError) refuse(error.message);
    throw error;
  }
}
