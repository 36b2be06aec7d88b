// The hash chain, pure: how a batch is chained, that the formula is the documented one, and that verifyStream
// catches every kind of edit to a stream.
import { createHash, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import { chainEvents, GENESIS_HASH, hashEvent, verifyStream } from '../../infra/eventstore/hash-chain.ts';
import type { EventMetadata, NewEvent, StoredEvent } from '../../infra/eventstore/port.ts';
import { prepareAppend } from '../../infra/eventstore/validation.ts';

const TENANT = 'acme';
const STREAM = 'acme/incident-1';

function newEvent(index: number, extra: Record<string, unknown> = {}): NewEvent {
  return {
    id: randomUUID(),
    type: index % 2 === 0 ? 'IncidentNoteAdded' : 'IncidentAcknowledged',
    data: { index, text: `note ${index} ✓`, nested: { z: 1, a: [true, null, 1.5] } },
    metadata: {
      tenantId: TENANT,
      actor: { id: 'user-7', kind: 'user', roles: ['responder'] },
      correlationId: 'corr-1',
      causationId: `cause-${index}`,
      schemaVersion: 1,
      ...extra,
    },
  };
}

/** What a store would hand back after appending `count` events in one batch. */
function storedStream(count: number): StoredEvent[] {
  const appended = Array.from({ length: count }, (_, index) => newEvent(index));
  const batch = prepareAppend(STREAM, appended, 'no_stream');
  const { metadata } = chainEvents(batch.events, GENESIS_HASH);
  return appended.map((event, index) => ({
    id: event.id,
    type: event.type,
    streamId: STREAM,
    revision: BigInt(index),
    position: `${'0'.repeat(15)}1-${index.toString(16).padStart(16, '0')}`,
    recordedAt: new Date(0),
    data: JSON.parse(JSON.stringify(event.data)) as StoredEvent['data'],
    metadata: JSON.parse(metadata[index] as string) as EventMetadata,
  }));
}

const intact = { ok: true, events: 5, brokenAtRevision: null };

describe('hash chain', () => {
  test('is sha256(prevHash + canonical JSON of { type, data, metadata without hash })', () => {
    const [first, second] = storedStream(2);
    assert.ok(first && second);
    const { hash, ...withoutHash } = first.metadata;
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalize({ type: first.type, data: first.data, metadata: withoutHash }))
      .digest('hex');
    assert.equal(withoutHash.prevHash, GENESIS_HASH);
    assert.equal(hash, expected);
    assert.equal(second.metadata.prevHash, hash);
  });

  test('hashEvent agrees with the chained batch, ignoring any hash and undefined optional members', () => {
    const [first] = storedStream(1);
    assert.ok(first);
    assert.equal(hashEvent(GENESIS_HASH, first), first.metadata.hash);
    const withUndefined = { ...first.metadata, reason: undefined, hash: 'ignored' };
    assert.equal(hashEvent(GENESIS_HASH, { type: first.type, data: first.data, metadata: withUndefined }), first.metadata.hash);
  });

  test('the same batch chained onto another head gets other hashes', () => {
    const batch = prepareAppend(STREAM, [newEvent(0), newEvent(1)], 'any');
    const fromGenesis = chainEvents(batch.events, GENESIS_HASH);
    const fromElsewhere = chainEvents(batch.events, 'a'.repeat(64));
    assert.notEqual(fromGenesis.lastHash, fromElsewhere.lastHash);
    assert.equal((JSON.parse(fromElsewhere.metadata[0] as string) as EventMetadata).prevHash, 'a'.repeat(64));
  });

  test('events sharing one metadata object are chained exactly as events with equal copies', () => {
    const shared = newEvent(0).metadata;
    const events = [newEvent(0), newEvent(1), newEvent(2)];
    const sharing = events.map((event) => ({ ...event, metadata: shared }));
    const copying = events.map((event) => ({ ...event, metadata: structuredClone(shared) }));
    const chain = (batch: NewEvent[]) => chainEvents(prepareAppend(STREAM, batch, 'any').events, GENESIS_HASH).metadata;
    assert.deepEqual(chain(sharing), chain(copying));
  });

  test('caller metadata beyond the envelope (traceparent, reason, extra keys) is chained too', () => {
    const event = newEvent(0, { traceparent: '00-abc-def-01', reason: 'rollback', source: { system: 'ci' } });
    const { metadata } = chainEvents(prepareAppend(STREAM, [event], 'any').events, GENESIS_HASH);
    const stored = JSON.parse(metadata[0] as string) as EventMetadata & { source: unknown };
    assert.deepEqual(stored.source, { system: 'ci' });
    assert.equal(stored.reason, 'rollback');
    assert.equal(hashEvent(GENESIS_HASH, { type: event.type, data: event.data, metadata: stored }), stored.hash);
  });
});

describe('verifyStream', () => {
  test('accepts an intact stream, from an array or an async iterable', async () => {
    const stream = storedStream(5);
    assert.deepEqual(await verifyStream(stream), intact);
    assert.deepEqual(
      await verifyStream(
        (async function* () {
          yield* stream;
        })(),
      ),
      intact,
    );
  });

  test('accepts an empty stream', async () => {
    assert.deepEqual(await verifyStream([]), { ok: true, events: 0, brokenAtRevision: null });
  });

  const broken = async (edit: (stream: StoredEvent[]) => StoredEvent[], events: number, at: number) => {
    assert.deepEqual(await verifyStream(edit(storedStream(5))), { ok: false, events, brokenAtRevision: at });
  };
  const at = (stream: StoredEvent[], index: number) => stream[index] as StoredEvent;

  test('detects changed data', () => broken((s) => (at(s, 2).data.index = 7, s), 5, 2));
  test('detects an added data member', () => broken((s) => ((at(s, 3).data.extra = true), s), 5, 3));
  test('detects a changed type', () => broken((s) => ((at(s, 0).type = 'IncidentResolved'), s), 5, 0));
  test('detects changed metadata', () => broken((s) => ((at(s, 4).metadata.actor.roles = ['admin']), s), 5, 4));
  test('detects a removed event', () => broken((s) => s.filter((_, index) => index !== 1), 4, 1));
  test('detects a removed first event', () => broken((s) => s.slice(1), 4, 0));
  test('detects two events swapped, even with their revisions swapped back', () =>
    broken((s) => {
      const [second, third] = [at(s, 1), at(s, 2)];
      [second.revision, third.revision] = [third.revision, second.revision];
      return [at(s, 0), third, second, at(s, 3), at(s, 4)];
    }, 5, 1));
  test('detects a duplicated event', () => broken((s) => [at(s, 0), at(s, 1), at(s, 1), at(s, 2)], 4, 2));
  test('detects a hash replaced by a recomputed one', () =>
    broken((s) => {
      const event = at(s, 2);
      event.data.index = 9;
      event.metadata.hash = hashEvent(event.metadata.prevHash, event);
      return s;
    }, 5, 3));
  test('detects a missing hash', () => broken((s) => (delete (at(s, 1).metadata as Partial<EventMetadata>).hash, s), 5, 1));
  test('detects data that is no longer JSON we would write', () =>
    broken((s) => ((at(s, 2).data.bad = Number.NaN as unknown as string), s), 5, 2));
});
