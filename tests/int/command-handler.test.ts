// The generic command handler against real event stores: embedded PGlite (in memory) always, PostgreSQL when
// available. The incident decider stands in for every aggregate.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ConcurrencyError,
  EVENT_SCHEMA_VERSION,
  handleCommand,
  type HandleResult,
} from '../../commands/handler.ts';
import { acknowledgeIncident, addIncidentNote, closeIncident, declareIncident, incidentStreamId, reopenIncident, resolveIncident } from '../../commands/incident.ts';
import type { CommandContext } from '../../commands/context.ts';
import {
  incidentDecider,
  IncidentNotFoundError,
  type IncidentCommand,
  type IncidentState,
} from '../../domain/incident/index.ts';
import { IllegalTransitionError } from '../../domain/shared/errors.ts';
import { createEmbeddedEventStore } from '../../infra/eventstore/embedded.ts';
import { InvalidAppendError, StoreUnavailableError } from '../../infra/eventstore/errors.ts';
import type { EventStore, NewEvent, StoredEvent } from '../../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { openPglite } from '../../infra/sql/pglite.ts';
import { createTestDatabase, postgresSkip } from '../support/services.ts';

const TENANT = 'acme';
const context: CommandContext = { tenantId: TENANT, actor: { id: 'alice', kind: 'user', roles: ['responder'] } };
const declareInput = { title: 'Checkout errors', severity: 'SEV2' as const, services: ['checkout'] };
const metadata = { tenantId: TENANT, actor: context.actor, correlationId: 'corr', causationId: 'cause' };

/** Runs an incident command through handleCommand itself, for the options the entry points do not expose. */
function handle(
  store: EventStore,
  storeStreamId: string,
  type: 'AcknowledgeIncident' | 'AddIncidentNote',
  retries?: number,
): Promise<HandleResult<IncidentState>> {
  const meta = { now: new Date().toISOString(), actorId: 'alice' };
  const command: IncidentCommand =
    type === 'AddIncidentNote'
      ? { type, data: { text: 'never lands' }, metadata: meta }
      : { type, data: {}, metadata: meta };
  return handleCommand(store, incidentDecider, storeStreamId, command, { metadata, retries });
}

async function readAll(store: EventStore, incidentId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of store.readStream(incidentStreamId(TENANT, incidentId))) events.push(event);
  return events;
}

/** A real store whose appends can be intercepted, to stage lost acknowledgements and lost races. */
type Append = ReturnType<EventStore['append']>;
function intercepted(
  store: EventStore,
  onAppend: (real: () => Append, events: readonly NewEvent[], call: number) => Append,
): EventStore {
  let calls = 0;
  return {
    ...store,
    append: (streamId, events, options) => onAppend(() => store.append(streamId, events, options), events, calls++),
  };
}

interface OpenStore {
  store: EventStore;
  close(): Promise<void>;
}

function handlerSuite(backend: string, skip: false | string, open: () => Promise<OpenStore>): void {
  describe(`command handler on ${backend}`, { skip }, () => {
    let store: EventStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await open());
    });
    after(() => close());

    test('a command appends its events and returns them as stored, with state, version and cursor', async () => {
      const declared = await declareIncident(store, { ...context, correlationId: 'req-1' }, declareInput);
      assert.equal(declared.streamId, `incident-${declared.incidentId}`);
      assert.equal(declared.version, 1);
      assert.equal(declared.incident.status, 'OPEN');
      assert.equal(declared.events.length, 1);
      const [event] = declared.events;
      assert.equal(event?.type, 'IncidentDeclared');
      assert.equal(event?.revision, 0n);
      assert.equal(event?.streamId, incidentStreamId(TENANT, declared.incidentId));
      assert.equal(declared.cursor, event?.position);
      assert.equal(event?.metadata.tenantId, TENANT);
      assert.deepEqual(event?.metadata.actor, context.actor);
      assert.equal(event?.metadata.correlationId, 'req-1');
      assert.equal(event?.metadata.schemaVersion, EVENT_SCHEMA_VERSION);
      assert.match(event?.metadata.causationId ?? '', /^[0-9a-f-]{36}$/, 'the command id is the cause');

      const target = { incidentId: declared.incidentId, expectedVersion: 1 };
      const acknowledged = await acknowledgeIncident(store, context, target);
      assert.equal(acknowledged.version, 2);
      assert.equal(acknowledged.incident.status, 'ACKNOWLEDGED');
      assert.equal(acknowledged.events[0]?.revision, 1n);
      assert.ok(acknowledged.cursor > declared.cursor, 'cursors grow');
      assert.equal(acknowledged.events[0]?.metadata.causationId, acknowledged.events[0]?.metadata.correlationId);
      assert.deepEqual(
        (await readAll(store, declared.incidentId)).map((e) => e.type),
        ['IncidentDeclared', 'IncidentAcknowledged'],
      );
    });

    test('a command with its own reason records it in the metadata for the audit trail', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      await resolveIncident(store, context, { incidentId, resolution: 'rolled back' });
      const reopened = await reopenIncident(store, context, { incidentId, reason: 'errors are back' });
      assert.equal(reopened.events[0]?.metadata.reason, 'errors are back');
      assert.equal(reopened.incident.status, 'OPEN');
    });

    test('a stale expectedVersion throws ConcurrencyError with the current version and appends nothing', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      await addIncidentNote(store, context, { incidentId, text: 'first', expectedVersion: 1 });
      await assert.rejects(
        addIncidentNote(store, context, { incidentId, text: 'based on an old view', expectedVersion: 1 }),
        (error: unknown) => {
          assert.ok(error instanceof ConcurrencyError);
          assert.equal(error.streamId, `incident-${incidentId}`);
          assert.equal(error.expectedVersion, 1);
          assert.equal(error.currentVersion, 2);
          assert.equal(error.message, `incident-${incidentId} is at version 2, not 1; reload it and decide again`);
          return true;
        },
      );
      assert.equal((await readAll(store, incidentId)).length, 2);
    });

    test('a race lost with an expectedVersion is a ConcurrencyError, not a retry', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      const racing = intercepted(store, async (real, _events, call) => {
        if (call === 0) await addIncidentNote(store, context, { incidentId, text: 'got there first' });
        return real();
      });
      await assert.rejects(addIncidentNote(racing, context, { incidentId, text: 'mine', expectedVersion: 1 }), {
        name: 'ConcurrencyError',
        expectedVersion: 1,
        currentVersion: 2,
      });
      assert.deepEqual(
        (await readAll(store, incidentId)).map((e) => e.data.text ?? e.type),
        ['IncidentDeclared', 'got there first'],
      );
    });

    test('concurrent commands without expectedVersion on one incident all succeed by retrying', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      const texts = Array.from({ length: 10 }, (_, i) => `note ${i}`);
      const results = await Promise.all(texts.map((text) => addIncidentNote(store, context, { incidentId, text })));
      const stored = await readAll(store, incidentId);
      assert.equal(stored.length, 11);
      assert.deepEqual(stored.map((e) => e.revision), Array.from({ length: 11 }, (_, i) => BigInt(i)));
      assert.deepEqual(stored.slice(1).map((e) => e.data.text).sort(), texts.sort());
      const versions = results.map((r) => r.version).sort((a, b) => a - b);
      assert.deepEqual(versions, Array.from({ length: 10 }, (_, i) => i + 2), 'each saw its own append');
    });

    test('a conflict is re-decided on the new state with new event ids', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      const attempted: string[][] = [];
      const racing = intercepted(store, async (real, events, call) => {
        attempted.push(events.map((e) => e.id));
        if (call === 0) await resolveIncident(store, context, { incidentId, resolution: 'fixed meanwhile' });
        return real();
      });
      // Acknowledging lost the race to a resolution: re-decided, it is refused, and nothing of it is stored.
      await assert.rejects(acknowledgeIncident(racing, context, { incidentId }), IllegalTransitionError);
      const noted = await addIncidentNote(
        intercepted(store, async (real, events, call) => {
          attempted.push(events.map((e) => e.id));
          if (call === 0) await addIncidentNote(store, context, { incidentId, text: 'concurrent' });
          return real();
        }),
        context,
        { incidentId, text: 'retried' },
      );
      assert.equal(attempted.length, 3);
      assert.notDeepEqual(attempted[1], attempted[2], 're-decided events get new ids');
      assert.equal(noted.events[0]?.id, attempted[2]?.[0]);
      assert.deepEqual(
        (await readAll(store, incidentId)).map((e) => e.type),
        ['IncidentDeclared', 'IncidentResolved', 'IncidentNoteAdded', 'IncidentNoteAdded'],
      );
    });

    test('an append whose acknowledgement was lost is re-sent with the same ids and stored once', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      const attempted: string[][] = [];
      const flaky = intercepted(store, async (real, events, call) => {
        attempted.push(events.map((e) => e.id));
        if (call === 0) {
          await real();
          throw new StoreUnavailableError('connection reset after commit');
        }
        return real();
      });
      const result = await addIncidentNote(flaky, context, { incidentId, text: 'once' });
      assert.equal(attempted.length, 2);
      assert.deepEqual(attempted[0], attempted[1], 'the retry re-sends the same ids');
      assert.equal(result.version, 2);
      assert.equal(result.events[0]?.id, attempted[0]?.[0]);
      assert.equal((await readAll(store, incidentId)).length, 2);
    });

    test('a domain error appends nothing', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      await assert.rejects(closeIncident(store, context, { incidentId }), {
        name: 'IllegalTransitionError',
        message: 'incident is OPEN; close needs RESOLVED',
      });
      assert.equal((await readAll(store, incidentId)).length, 1);
    });

    test('a command on an unknown incident is IncidentNotFoundError and creates no stream', async () => {
      const incidentId = '0195a1b2-0000-7000-8000-00000000dead';
      await assert.rejects(acknowledgeIncident(store, context, { incidentId }), IncidentNotFoundError);
      assert.equal((await readAll(store, incidentId)).length, 0);
    });

    test('a decision with no events appends nothing and returns the current state and cursor', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      const first = await acknowledgeIncident(store, context, { incidentId });
      const again = await acknowledgeIncident(store, context, { incidentId, expectedVersion: 2 });
      assert.deepEqual(again.events, []);
      assert.equal(again.version, 2);
      assert.equal(again.cursor, first.cursor);
      assert.deepEqual(again.incident, first.incident);
      assert.equal((await readAll(store, incidentId)).length, 2);
    });

    test('retries are bounded: a conflict on every attempt ends in ConcurrencyError', async () => {
      const { incidentId } = await declareIncident(store, context, declareInput);
      const alwaysLate = intercepted(store, async (real) => {
        await addIncidentNote(store, context, { incidentId, text: 'ahead' });
        return real();
      });
      await assert.rejects(handle(alwaysLate, incidentStreamId(TENANT, incidentId), 'AddIncidentNote', 2), {
        name: 'ConcurrencyError',
        expectedVersion: 3,
        currentVersion: 4,
      });
      const texts = (await readAll(store, incidentId)).map((e) => e.data.text);
      assert.ok(!texts.includes('never lands'));
      assert.equal(texts.length, 4, 'declared + one note per attempt (3 attempts)');
    });

    test('a stream of another tenant is refused before anything is read or written', async () => {
      await assert.rejects(handle(store, incidentStreamId('other', 'x'), 'AcknowledgeIncident'), InvalidAppendError);
    });
  });
}

handlerSuite('embedded (PGlite in memory)', false, async () => {
  const db = await openPglite();
  const store = await createEmbeddedEventStore(db);
  return {
    store,
    async close() {
      await store.close();
      await db.close();
    },
  };
});

handlerSuite('postgres', await postgresSkip(), async () => {
  const database = await createTestDatabase('handler');
  const db = createPgDatabase(database.url);
  const store = await createPostgresEventStore(db);
  return {
    store,
    async close() {
      await store.close();
      await db.close();
      await database.drop();
    },
  };
});
