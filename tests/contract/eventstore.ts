// The event store contract: one suite, run against every backend (postgres, embedded, kurrentdb). It talks to the
// store only through the EventStore port, so any backend that passes it can stand in for any other.
//
// Stores may be shared with other runs (a KurrentDB server), so every test writes under its own random tenant and
// reads $all only after a position taken before it wrote, filtered to its tenant.
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidAppendError, WrongExpectedRevisionError } from '../../infra/eventstore/errors.ts';
import { GENESIS_HASH, verifyStream } from '../../infra/eventstore/hash-chain.ts';
import {
  START,
  type EventStore,
  type ExpectedRevision,
  type JsonObject,
  type NewEvent,
  type NewEventMetadata,
  type Position,
  type StoredEvent,
  type SubscribeOptions,
} from '../../infra/eventstore/port.ts';
import { qualify, tenantPrefix } from '../../infra/eventstore/stream-name.ts';

export interface EventStoreUnderTest {
  store: EventStore;
  cleanup(): Promise<void>;
}

export interface EventStoreContractOptions {
  /** node:test `skip`: false to run, or the reason the backend is not available. */
  skip?: false | string;
  /** How long live reads may take to see an append (generous: CI machines are small and busy). */
  deadlineMs?: number;
  /** Events in the long-stream test. */
  longStreamEvents?: number;
}

export const newTenant = () => `t${randomBytes(5).toString('hex')}`;
export const newStream = (tenant: string, category = 'incident') => qualify(tenant, `${category}-${randomUUID()}`);

export function metadataFor(tenant: string, extra: Partial<NewEventMetadata> = {}): NewEventMetadata {
  return {
    tenantId: tenant,
    actor: { id: 'user-1', kind: 'user', roles: ['responder'] },
    correlationId: randomUUID(),
    causationId: randomUUID(),
    schemaVersion: 1,
    ...extra,
  };
}

export function newEvent(tenant: string, type = 'IncidentNoteAdded', data: JsonObject = { text: 'note' }): NewEvent {
  return { id: randomUUID(), type, data, metadata: metadataFor(tenant) };
}

export function events(tenant: string, count: number, type = 'IncidentNoteAdded'): NewEvent[] {
  return Array.from({ length: count }, (_, index) => newEvent(tenant, type, { index }));
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function assertIncreasing(positions: readonly Position[]): void {
  for (let index = 1; index < positions.length; index++) {
    assert.ok((positions[index - 1] as Position) < (positions[index] as Position), `position ${index} is not after ${index - 1}`);
  }
}

/** The fields of a stored event that echo what was appended. */
const echo = (event: StoredEvent | NewEvent) => ({ id: event.id, type: event.type, data: event.data });

export function eventStoreContract(
  name: string,
  factory: () => Promise<EventStoreUnderTest>,
  options: EventStoreContractOptions = {},
): void {
  const deadlineMs = options.deadlineMs ?? 30_000;
  const longStreamEvents = options.longStreamEvents ?? 10_000;

  describe(`event store contract: ${name}`, { skip: options.skip ?? false }, () => {
    let underTest: EventStoreUnderTest | undefined;
    const store = (): EventStore => {
      assert.ok(underTest, 'store not created');
      return underTest.store;
    };

    before(async () => {
      underTest = await factory();
    });
    after(async () => {
      await underTest?.cleanup();
    });

    /** Waits until every event up to `position` is visible to $all readers (some backends make them visible late). */
    async function visible(position: Position): Promise<void> {
      const deadline = Date.now() + deadlineMs;
      while ((await store().headPosition()) < position) {
        assert.ok(Date.now() < deadline, `position ${position} not visible within ${deadlineMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    /** The first `count` events of a subscription, or fewer if the deadline passes first. */
    async function subscribed(options: Omit<SubscribeOptions, 'signal'>, count: number): Promise<StoredEvent[]> {
      const received: StoredEvent[] = [];
      for await (const event of store().subscribeAll({ ...options, signal: AbortSignal.timeout(deadlineMs) })) {
        received.push(event);
        if (received.length >= count) break;
      }
      return received;
    }

    async function expectConflict(streamId: string, batch: NewEvent[], expected: ExpectedRevision, actual: bigint) {
      await assert.rejects(store().append(streamId, batch, { expectedRevision: expected }), (error: unknown) => {
        assert.ok(error instanceof WrongExpectedRevisionError, `expected WrongExpectedRevisionError, got ${String(error)}`);
        assert.equal(error.streamId, streamId);
        assert.equal(error.expected, expected);
        assert.equal(error.actual, actual);
        return true;
      });
    }

    describe('append and expected revisions', () => {
      test('appends a batch to a new stream and reads it back with every envelope field', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const batch = events(tenant, 3);
        const startedAt = Date.now();
        const result = await store().append(streamId, batch, { expectedRevision: 'no_stream' });
        assert.equal(result.nextRevision, 2n);
        assert.equal(typeof result.position, 'string');

        const stored = await collect(store().readStream(streamId));
        assert.deepEqual(stored.map(echo), batch.map(echo));
        assert.deepEqual(
          stored.map((event) => event.revision),
          [0n, 1n, 2n],
        );
        assertIncreasing(stored.map((event) => event.position));
        assert.equal(stored[2]?.position, result.position);
        for (const [index, event] of stored.entries()) {
          assert.equal(event.streamId, streamId);
          assert.ok(event.recordedAt instanceof Date);
          assert.ok(Math.abs(event.recordedAt.getTime() - startedAt) < 10 * 60_000, 'recordedAt is about now');
          const { prevHash, hash, ...given } = event.metadata;
          assert.deepEqual(given, batch[index]?.metadata);
          assert.match(prevHash, /^[0-9a-f]{64}$/);
          assert.match(hash, /^[0-9a-f]{64}$/);
        }
      });

      test("'no_stream' on an existing stream is refused with its last revision", async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        await store().append(streamId, events(tenant, 2), { expectedRevision: 'no_stream' });
        await expectConflict(streamId, events(tenant, 1), 'no_stream', 1n);
      });

      test("'stream_exists' needs the stream, and appends to it", async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        await expectConflict(streamId, events(tenant, 1), 'stream_exists', -1n);
        await store().append(streamId, events(tenant, 1), { expectedRevision: 'no_stream' });
        const result = await store().append(streamId, events(tenant, 2), { expectedRevision: 'stream_exists' });
        assert.equal(result.nextRevision, 2n);
      });

      test('an exact revision must be the last revision of the stream', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        await expectConflict(streamId, events(tenant, 1), 0n, -1n);
        await store().append(streamId, events(tenant, 3), { expectedRevision: 'no_stream' });
        await expectConflict(streamId, events(tenant, 1), 1n, 2n);
        await expectConflict(streamId, events(tenant, 1), 3n, 2n);
        const result = await store().append(streamId, events(tenant, 2), { expectedRevision: 2n });
        assert.equal(result.nextRevision, 4n);
        assert.equal((await store().append(streamId, events(tenant, 1), { expectedRevision: 4n })).nextRevision, 5n);
      });

      test("'any' appends whether or not the stream exists", async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        assert.equal((await store().append(streamId, events(tenant, 2), { expectedRevision: 'any' })).nextRevision, 1n);
        assert.equal((await store().append(streamId, events(tenant, 1), { expectedRevision: 'any' })).nextRevision, 2n);
      });

      test('a refused append writes nothing', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const first = events(tenant, 2);
        await store().append(streamId, first, { expectedRevision: 'no_stream' });
        await expectConflict(streamId, events(tenant, 3), 0n, 1n);
        await expectConflict(streamId, events(tenant, 3), 'no_stream', 1n);
        assert.deepEqual((await collect(store().readStream(streamId))).map(echo), first.map(echo));
      });

      test('positions increase across appends and streams', async () => {
        const tenant = newTenant();
        const results = [];
        for (let index = 0; index < 4; index++) {
          results.push(await store().append(newStream(tenant), events(tenant, 2), { expectedRevision: 'no_stream' }));
        }
        assertIncreasing(results.map((result) => result.position));
      });

      test('concurrent appends with the same exact revision: one wins, the others conflict', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        await store().append(streamId, events(tenant, 1), { expectedRevision: 'no_stream' });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, () => store().append(streamId, events(tenant, 1), { expectedRevision: 0n })),
        );
        assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') {
            assert.ok(outcome.reason instanceof WrongExpectedRevisionError);
            assert.equal(outcome.reason.actual, 1n);
          }
        }
        assert.equal((await collect(store().readStream(streamId))).length, 2);
      });

      test("concurrent 'any' appends to one stream all succeed, each exactly once", async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const batches = Array.from({ length: 24 }, (_, index) => events(tenant, 1 + (index % 3)));
        const results = await Promise.all(batches.map((batch) => store().append(streamId, batch, { expectedRevision: 'any' })));
        const stored = await collect(store().readStream(streamId));
        const total = batches.reduce((sum, batch) => sum + batch.length, 0);
        assert.equal(stored.length, total);
        assert.deepEqual(
          stored.map((event) => event.revision),
          Array.from({ length: total }, (_, index) => BigInt(index)),
        );
        assert.deepEqual(new Set(stored.map((event) => event.id)), new Set(batches.flat().map((event) => event.id)));
        // Each batch is contiguous and its result names its last event.
        for (const [index, batch] of batches.entries()) {
          const last = stored.find((event) => event.id === batch[batch.length - 1]?.id);
          const first = stored.find((event) => event.id === batch[0]?.id);
          assert.equal(results[index]?.nextRevision, last?.revision);
          assert.equal(results[index]?.position, last?.position);
          assert.equal((last?.revision ?? 0n) - (first?.revision ?? 0n), BigInt(batch.length - 1));
        }
        assert.deepEqual(await verifyStream(stored), { ok: true, events: total, brokenAtRevision: null });
      });
    });

    describe('idempotent appends', () => {
      test('re-appending the same events is a no-op returning the original result', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const batch = events(tenant, 3);
        const original = await store().append(streamId, batch, { expectedRevision: 'no_stream' });
        assert.deepEqual(await store().append(streamId, batch, { expectedRevision: 'no_stream' }), original);
        assert.deepEqual(await store().append(streamId, batch, { expectedRevision: 'any' }), original);
        await store().append(streamId, events(tenant, 1), { expectedRevision: 2n });
        // Even after the stream moved on, a retry of the first append is recognised.
        assert.deepEqual(await store().append(streamId, batch, { expectedRevision: 'no_stream' }), original);
        assert.equal((await collect(store().readStream(streamId))).length, 4);
      });

      test('a retried single-event append with an exact revision returns the original result', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        await store().append(streamId, events(tenant, 1), { expectedRevision: 'no_stream' });
        const event = newEvent(tenant);
        const original = await store().append(streamId, [event], { expectedRevision: 0n });
        assert.deepEqual(await store().append(streamId, [event], { expectedRevision: 0n }), original);
        assert.equal((await collect(store().readStream(streamId))).length, 2);
      });
    });

    describe('reading a stream', () => {
      let streamId: string;
      let appended: NewEvent[];
      before(async () => {
        const tenant = newTenant();
        streamId = newStream(tenant);
        appended = events(tenant, 10);
        await store().append(streamId, appended.slice(0, 4), { expectedRevision: 'no_stream' });
        await store().append(streamId, appended.slice(4), { expectedRevision: 3n });
      });
      const revisions = async (options: Parameters<EventStore['readStream']>[1]) =>
        (await collect(store().readStream(streamId, options))).map((event) => Number(event.revision));

      test('forwards from the start, from a revision, to a revision and up to a count', async () => {
        assert.deepEqual(await revisions({}), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(await revisions({ fromRevision: 7n }), [7, 8, 9]);
        assert.deepEqual(await revisions({ toRevision: 2n }), [0, 1, 2]);
        assert.deepEqual(await revisions({ fromRevision: 3n, toRevision: 5n }), [3, 4, 5]);
        assert.deepEqual(await revisions({ fromRevision: 2n, maxCount: 3 }), [2, 3, 4]);
        assert.deepEqual(await revisions({ fromRevision: 10n }), []);
        assert.deepEqual(await revisions({ maxCount: 0 }), []);
      });

      test('backwards from the end or from a revision, down to a revision and up to a count', async () => {
        assert.deepEqual(await revisions({ direction: 'backwards' }), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert.deepEqual(await revisions({ direction: 'backwards', maxCount: 1 }), [9]);
        assert.deepEqual(await revisions({ direction: 'backwards', fromRevision: 4n }), [4, 3, 2, 1, 0]);
        assert.deepEqual(await revisions({ direction: 'backwards', fromRevision: 6n, toRevision: 4n }), [6, 5, 4]);
        assert.deepEqual(await revisions({ direction: 'backwards', fromRevision: 8n, maxCount: 2 }), [8, 7]);
      });

      test('the events come back as appended', async () => {
        assert.deepEqual((await collect(store().readStream(streamId))).map(echo), appended.map(echo));
      });

      test('a missing stream reads as empty', async () => {
        assert.deepEqual(await collect(store().readStream(newStream(newTenant()))), []);
        assert.deepEqual(await collect(store().readStream(newStream(newTenant()), { direction: 'backwards' })), []);
      });
    });

    describe('reading $all', () => {
      test('after a position, in append order, filtered by stream prefix and type, up to a count', async () => {
        const tenant = newTenant();
        const start = await store().headPosition();
        const incident = newStream(tenant, 'incident');
        const alert = newStream(tenant, 'alert');
        await store().append(incident, events(tenant, 2, 'IncidentDeclared'), { expectedRevision: 'no_stream' });
        await store().append(alert, events(tenant, 3, 'AlertFired'), { expectedRevision: 'no_stream' });
        const last = await store().append(incident, events(tenant, 1, 'IncidentAcknowledged'), { expectedRevision: 1n });
        await visible(last.position);

        const all = await collect(store().readAll({ after: start, filter: { streamPrefix: tenantPrefix(tenant) } }));
        assert.deepEqual(
          all.map((event) => [event.streamId, Number(event.revision)]),
          [[incident, 0], [incident, 1], [alert, 0], [alert, 1], [alert, 2], [incident, 2]],
        );
        assertIncreasing(all.map((event) => event.position));
        assert.equal(all[5]?.position, last.position);

        const alerts = await collect(store().readAll({ after: start, filter: { streamPrefix: qualify(tenant, 'alert') } }));
        assert.deepEqual(alerts.map((event) => event.streamId), [alert, alert, alert]);
        const typed = await collect(
          store().readAll({ after: start, filter: { streamPrefix: tenantPrefix(tenant), types: ['IncidentDeclared', 'IncidentAcknowledged'] } }),
        );
        assert.deepEqual(typed.map((event) => event.type), ['IncidentDeclared', 'IncidentDeclared', 'IncidentAcknowledged']);

        const afterSecond = await collect(store().readAll({ after: all[1]?.position, filter: { streamPrefix: tenantPrefix(tenant) } }));
        assert.deepEqual(afterSecond.map((event) => event.id), all.slice(2).map((event) => event.id));
        const firstTwo = await collect(store().readAll({ after: start, maxCount: 2, filter: { streamPrefix: tenantPrefix(tenant) } }));
        assert.deepEqual(firstTwo.map((event) => event.id), all.slice(0, 2).map((event) => event.id));
        assert.deepEqual(await collect(store().readAll({ after: last.position, filter: { streamPrefix: tenantPrefix(tenant) } })), []);
      });

      test('a stream prefix is matched literally, not as a pattern', async () => {
        const tenant = newTenant();
        const start = await store().headPosition();
        const literal = qualify(tenant, 'a_b%-1');
        const lookalike = qualify(tenant, 'aXbY-1');
        await store().append(literal, events(tenant, 1), { expectedRevision: 'no_stream' });
        const last = await store().append(lookalike, events(tenant, 1), { expectedRevision: 'no_stream' });
        await visible(last.position);
        const matched = await collect(store().readAll({ after: start, filter: { streamPrefix: qualify(tenant, 'a_b%') } }));
        assert.deepEqual(matched.map((event) => event.streamId), [literal]);
      });

      test('the head position is START or a position, and reaches every append', async () => {
        const head = await store().headPosition();
        assert.equal(typeof head, 'string');
        assert.ok(head === START || head.length > 0);
        const tenant = newTenant();
        const result = await store().append(newStream(tenant), events(tenant, 1), { expectedRevision: 'no_stream' });
        assert.ok(result.position > head);
        await visible(result.position);
      });
    });

    describe('subscribing to $all', () => {
      test('catches up, then delivers live appends, in increasing positions', async () => {
        const tenant = newTenant();
        const filter = { streamPrefix: tenantPrefix(tenant) };
        const start = await store().headPosition();
        const streamId = newStream(tenant);
        const early = events(tenant, 3);
        await store().append(streamId, early, { expectedRevision: 'no_stream' });

        const controller = new AbortController();
        const deadline = setTimeout(() => controller.abort(), deadlineMs);
        const iterator = store().subscribeAll({ after: start, filter, signal: controller.signal })[Symbol.asyncIterator]();
        try {
          const received: StoredEvent[] = [];
          for (let index = 0; index < 3; index++) {
            const next = await iterator.next();
            assert.ok(!next.done, 'subscription ended during catch-up');
            received.push(next.value);
          }
          const late = events(tenant, 2);
          await store().append(streamId, late, { expectedRevision: 2n });
          for (let index = 0; index < 2; index++) {
            const next = await iterator.next();
            assert.ok(!next.done, 'subscription ended before the live events arrived');
            received.push(next.value);
          }
          assert.deepEqual(received.map(echo), [...early, ...late].map(echo));
          assertIncreasing(received.map((event) => event.position));
        } finally {
          clearTimeout(deadline);
          controller.abort();
          await iterator.return?.();
        }
      });

      test('resumes exactly after a position in the middle', async () => {
        const tenant = newTenant();
        const start = await store().headPosition();
        const streamId = newStream(tenant);
        const batch = events(tenant, 6);
        await store().append(streamId, batch.slice(0, 3), { expectedRevision: 'no_stream' });
        await store().append(streamId, batch.slice(3), { expectedRevision: 2n });
        const filter = { streamPrefix: tenantPrefix(tenant) };
        const all = await subscribed({ after: start, filter }, 6);
        assert.deepEqual(all.map(echo), batch.map(echo));
        const resumed = await subscribed({ after: all[2]?.position, filter }, 3);
        assert.deepEqual(resumed.map(echo), batch.slice(3).map(echo));
        assert.deepEqual(resumed.map((event) => event.position), all.slice(3).map((event) => event.position));
      });

      test('filters by type while live', async () => {
        const tenant = newTenant();
        const start = await store().headPosition();
        const received = subscribed({ after: start, filter: { streamPrefix: tenantPrefix(tenant), types: ['AlertFired'] } }, 2);
        const streamId = newStream(tenant, 'alert');
        const mixed = [newEvent(tenant, 'AlertFired'), newEvent(tenant, 'AlertNoted'), newEvent(tenant, 'AlertFired')];
        await store().append(streamId, mixed, { expectedRevision: 'no_stream' });
        assert.deepEqual((await received).map((event) => event.id), [mixed[0]?.id, mixed[2]?.id]);
      });

      test('ends when its signal aborts while it waits for new events', async () => {
        const controller = new AbortController();
        const subscription = store().subscribeAll({
          after: await store().headPosition(),
          filter: { streamPrefix: tenantPrefix(newTenant()) },
          signal: controller.signal,
        });
        const ended = collect(subscription);
        setTimeout(() => controller.abort(), 200);
        const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadlineMs).unref());
        assert.deepEqual(await Promise.race([ended, timeout]), []);
      });

      test('a consumer can stop by breaking out of the loop', async () => {
        const tenant = newTenant();
        const start = await store().headPosition();
        await store().append(newStream(tenant), events(tenant, 5), { expectedRevision: 'no_stream' });
        let seen = 0;
        for await (const _event of store().subscribeAll({ after: start, filter: { streamPrefix: tenantPrefix(tenant) } })) {
          if (++seen === 2) break;
        }
        assert.equal(seen, 2);
      });
    });

    describe('tenant scoping', () => {
      test('the same client stream id in two tenants is two streams, and a tenant prefix sees only its own', async () => {
        const [red, blue] = [newTenant(), newTenant()];
        const clientId = `incident-${randomUUID()}`;
        const start = await store().headPosition();
        await store().append(qualify(red, clientId), events(red, 2), { expectedRevision: 'no_stream' });
        const last = await store().append(qualify(blue, clientId), events(blue, 1), { expectedRevision: 'no_stream' });
        assert.equal(last.nextRevision, 0n);
        await visible(last.position);
        assert.equal((await collect(store().readStream(qualify(red, clientId)))).length, 2);
        assert.equal((await collect(store().readStream(qualify(blue, clientId)))).length, 1);
        const redOnly = await collect(store().readAll({ after: start, filter: { streamPrefix: tenantPrefix(red) } }));
        assert.deepEqual(
          redOnly.map((event) => [event.streamId, event.metadata.tenantId]),
          [[qualify(red, clientId), red], [qualify(red, clientId), red]],
        );
      });
    });

    describe('payloads', () => {
      test('unicode survives the round trip: emoji, right-to-left, combining marks, escapes, unicode keys', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const data: JsonObject = {
          emoji: '🔥🚒 👩🏽‍🚒 🏳️‍🌈',
          rtl: 'שלום עולם — مرحبا بالعالم',
          combining: 'e\u0301 n\u0303 Z̤͔ͧ̑̓',
          cjk: '事件対応 인시던트',
          escapes: 'quote " backslash \\ tab \t newline \n bell \u0007 line-sep \u2028',
          'ключ 🔑': ['ünïcödé', { 'ω': 'Ω' }],
          numbers: [0, -1, 1.5, 1e21, 1e-7, Number.MAX_SAFE_INTEGER, -0.000001],
          nested: { deeper: { deepest: [true, false, null] } },
        };
        await store().append(streamId, [newEvent(tenant, 'IncidentNoteAdded', data)], { expectedRevision: 'no_stream' });
        const [stored] = await collect(store().readStream(streamId));
        assert.deepEqual(stored?.data, data);
        assert.deepEqual(await verifyStream(store().readStream(streamId)), { ok: true, events: 1, brokenAtRevision: null });
      });

      test('a payload of about a megabyte is stored and read back intact', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const lines = Array.from({ length: 10_000 }, (_, index) => `log line ${index}: ${'x'.repeat(80)} ✓`);
        const data: JsonObject = { lines, blob: randomBytes(64 * 1024).toString('base64') };
        assert.ok(JSON.stringify(data).length > 1_000_000);
        await store().append(streamId, [newEvent(tenant, 'LogsAttached', data), newEvent(tenant)], { expectedRevision: 'no_stream' });
        const stored = await collect(store().readStream(streamId));
        assert.deepEqual(stored[0]?.data, data);
        assert.equal((await verifyStream(stored)).ok, true);
      });

      test(`a stream of ${longStreamEvents} events reads back complete and in order`, async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const batchSize = 500;
        let expected: ExpectedRevision = 'no_stream';
        for (let offset = 0; offset < longStreamEvents; offset += batchSize) {
          const batch = Array.from({ length: Math.min(batchSize, longStreamEvents - offset) }, (_, index) =>
            newEvent(tenant, 'MetricSampled', { sample: offset + index }),
          );
          expected = (await store().append(streamId, batch, { expectedRevision: expected })).nextRevision;
        }
        let count = 0;
        for await (const event of store().readStream(streamId)) {
          assert.equal(event.revision, BigInt(count));
          assert.equal(event.data.sample, count);
          count++;
        }
        assert.equal(count, longStreamEvents);
        const backwards = await collect(store().readStream(streamId, { direction: 'backwards', maxCount: 3 }));
        assert.deepEqual(backwards.map((event) => event.data.sample), [longStreamEvents - 1, longStreamEvents - 2, longStreamEvents - 3]);
        assert.deepEqual(await verifyStream(store().readStream(streamId)), { ok: true, events: longStreamEvents, brokenAtRevision: null });
      });
    });

    describe('hash chain', () => {
      test('links every event to the one before it, starting from the genesis hash', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        await store().append(streamId, events(tenant, 3), { expectedRevision: 'no_stream' });
        await store().append(streamId, events(tenant, 2), { expectedRevision: 'any' });
        const stored = await collect(store().readStream(streamId));
        assert.equal(stored[0]?.metadata.prevHash, GENESIS_HASH);
        for (let index = 1; index < stored.length; index++) {
          assert.equal(stored[index]?.metadata.prevHash, stored[index - 1]?.metadata.hash);
        }
        assert.equal(new Set(stored.map((event) => event.metadata.hash)).size, stored.length);
        assert.deepEqual(await verifyStream(store().readStream(streamId)), { ok: true, events: 5, brokenAtRevision: null });
      });

      test('metadata hashes the caller supplies are replaced by the store', async () => {
        const tenant = newTenant();
        const streamId = newStream(tenant);
        const event = newEvent(tenant);
        const forged = { ...event, metadata: { ...event.metadata, prevHash: 'f'.repeat(64), hash: 'e'.repeat(64) } };
        await store().append(streamId, [forged], { expectedRevision: 'no_stream' });
        const [stored] = await collect(store().readStream(streamId));
        assert.equal(stored?.metadata.prevHash, GENESIS_HASH);
        assert.notEqual(stored?.metadata.hash, 'e'.repeat(64));
        assert.equal((await verifyStream([stored as StoredEvent])).ok, true);
      });
    });

    describe('bad input', () => {
      const tenant = newTenant();
      const good = () => newEvent(tenant);
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const withData = (data: unknown) => ({ ...good(), data }) as unknown as NewEvent;
      const withMetadata = (change: Record<string, unknown>) =>
        ({ ...good(), metadata: { ...metadataFor(tenant), ...change } }) as unknown as NewEvent;
      const cases: [label: string, streamId: string | null, batch: unknown[], expectedRevision: unknown][] = [
        ['an empty stream id', '', [good()], 'any'],
        ['a stream id over 512 characters', qualify(tenant, 'x'.repeat(520)), [good()], 'any'],
        ['a stream id without a tenant', 'incident-1', [good()], 'any'],
        ['a stream id with an invalid tenant', 'Bad Tenant/incident-1', [good()], 'any'],
        ['no events', null, [], 'any'],
        ['an id that is not a UUID', null, [{ ...good(), id: 'not-a-uuid' }], 'any'],
        ['an empty type', null, [{ ...good(), type: '' }], 'any'],
        ['a type that is not identifier-like', null, [{ ...good(), type: 'Incident Declared!' }], 'any'],
        ['a type over 200 characters', null, [{ ...good(), type: 'A'.repeat(201) }], 'any'],
        ['data that is an array', null, [withData([1, 2])], 'any'],
        ['data that is null', null, [withData(null)], 'any'],
        ['data that is a string', null, [withData('text')], 'any'],
        ['data that is a Date', null, [withData(new Date())], 'any'],
        ['a Date inside data', null, [withData({ at: new Date() })], 'any'],
        ['a Map inside data', null, [withData({ labels: new Map([['a', 'b']]) })], 'any'],
        ['a function inside data', null, [withData({ run: () => 1 })], 'any'],
        ['an undefined value inside data', null, [withData({ missing: undefined })], 'any'],
        ['a BigInt inside data', null, [withData({ big: 1n })], 'any'],
        ['NaN inside data', null, [withData({ ratio: Number.NaN })], 'any'],
        ['Infinity inside data', null, [withData({ ratio: Number.POSITIVE_INFINITY })], 'any'],
        ['a symbol inside data', null, [withData({ tag: Symbol('x') })], 'any'],
        ['a cycle inside data', null, [withData(cyclic)], 'any'],
        ['a NUL character inside data', null, [withData({ text: 'a\u0000b' })], 'any'],
        ['a lone surrogate inside data', null, [withData({ text: 'a\ud800b' })], 'any'],
        ['metadata without tenantId', null, [withMetadata({ tenantId: undefined })], 'any'],
        ['metadata of another tenant', null, [withMetadata({ tenantId: newTenant() })], 'any'],
        ['metadata without actor', null, [withMetadata({ actor: undefined })], 'any'],
        ['an actor of an unknown kind', null, [withMetadata({ actor: { id: 'x', kind: 'robot', roles: [] } })], 'any'],
        ['an actor without roles', null, [withMetadata({ actor: { id: 'x', kind: 'user' } })], 'any'],
        ['metadata without correlationId', null, [withMetadata({ correlationId: undefined })], 'any'],
        ['metadata without causationId', null, [withMetadata({ causationId: undefined })], 'any'],
        ['metadata without schemaVersion', null, [withMetadata({ schemaVersion: undefined })], 'any'],
        ['a Date inside metadata', null, [withMetadata({ receivedAt: new Date() })], 'any'],
        ['the same event id twice', null, (() => { const event = good(); return [event, { ...event }]; })(), 'any'],
        ['a valid event followed by an invalid one', null, [good(), withData({ bad: undefined })], 'any'],
        ['a negative expected revision', null, [good()], -1n],
        ['an unknown expected revision', null, [good()], 'latest'],
        ['a number as expected revision', null, [good()], 0],
      ];

      test('is refused with InvalidAppendError and nothing is written', async () => {
        const start = await store().headPosition();
        const streamIds: string[] = [];
        for (const [label, streamId, batch, expectedRevision] of cases) {
          const target = streamId ?? newStream(tenant);
          streamIds.push(target);
          await assert.rejects(
            store().append(target, batch as NewEvent[], { expectedRevision: expectedRevision as ExpectedRevision }),
            InvalidAppendError,
            label,
          );
        }
        for (const streamId of streamIds.filter((id) => id.startsWith(tenantPrefix(tenant)) && id.length <= 512)) {
          assert.deepEqual(await collect(store().readStream(streamId)), [], `stream ${streamId} must stay empty`);
        }
        // A good append afterwards is the first thing this tenant has in $all.
        const streamId = newStream(tenant);
        const result = await store().append(streamId, [good()], { expectedRevision: 'no_stream' });
        await visible(result.position);
        const written = await collect(store().readAll({ after: start, filter: { streamPrefix: tenantPrefix(tenant) } }));
        assert.deepEqual(written.map((event) => event.streamId), [streamId]);
      });

      test('a batch that is only partly a retry is refused and writes nothing', async () => {
        const streamId = newStream(tenant);
        const first = [good(), good()];
        await store().append(streamId, first, { expectedRevision: 'no_stream' });
        await assert.rejects(store().append(streamId, [first[1] as NewEvent, good()], { expectedRevision: 'any' }), InvalidAppendError);
        assert.equal((await collect(store().readStream(streamId))).length, 2);
      });
    });
  });
}
