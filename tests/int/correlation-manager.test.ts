// The alert correlation manager through the real store, the real projection engine and its outbox dispatcher, on
// PostgreSQL and on embedded PGlite (where the store and the read models share one connection): alerts open, join
// and stay out of incidents, suspects are linked with a reason, silences suppress, concurrent alerts of one group
// open one incident, and a replay of the whole log causes nothing twice.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { observeAlert } from '../../commands/alert.ts';
import { recordChange } from '../../commands/change.ts';
import { CORRELATION_PROJECTION, correlationProjection, startCorrelationDispatcher, type CorrelationDispatcher } from '../../commands/policies/alert-correlation.ts';
import { createSilence, silenceStreamId } from '../../commands/silence.ts';
import type { FireAlert } from '../../domain/alert/index.ts';
import { DEFAULT_CORRELATION_SETTINGS } from '../../domain/correlation/rules.ts';
import { createEmbeddedEventStore } from '../../infra/eventstore/embedded.ts';
import type { EventStore, StoredEvent } from '../../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import { openPglite } from '../../infra/sql/pglite.ts';
import type { SqlDatabase } from '../../infra/sql/port.ts';
import { createProjectionEngine, type ProjectionEngine } from '../../projections/engine.ts';
import { allProjections } from '../../projections/index.ts';
import { getLinkedAlerts, getSuspectChanges, getTimelines, listIncidents, type Incident } from '../../queries/incidents.ts';
import { createTestDatabase, postgresSkip } from '../support/services.ts';
import { newTenant } from './read-model-support.ts';

const DEADLINE_MS = 15_000;
const ingest = { id: 'alertmanager', kind: 'service', roles: ['ingest'] } as const;

interface Side {
  db: SqlDatabase;
  store: EventStore;
  engine: ProjectionEngine;
  dispatcher: CorrelationDispatcher;
  close(): Promise<void>;
}

async function start(db: SqlDatabase, store: EventStore, release: () => Promise<void>): Promise<Side> {
  const settings = DEFAULT_CORRELATION_SETTINGS;
  const projections = [...allProjections(), correlationProjection(settings)];
  const engine = createProjectionEngine({ store, db, projections, batchSize: 7, idlePollMs: 20 });
  await engine.start();
  const dispatcher = startCorrelationDispatcher({ store, db, engine, settings, pollMs: 20 });
  return {
    db,
    store,
    engine,
    dispatcher,
    async close() {
      await dispatcher.stop();
      await engine.stop();
      await store.close();
      await db.close();
      await release();
    },
  };
}

const backends = [
  {
    name: 'PostgreSQL',
    skip: await postgresSkip(),
    async open() {
      const database = await createTestDatabase('correlation');
      const db = createPgDatabase(database.url, { max: 6 });
      return start(db, await createPostgresEventStore(db), () => database.drop());
    },
  },
  {
    name: 'embedded PGlite',
    skip: false as const,
    async open() {
      const db = await openPglite();
      return start(db, await createEmbeddedEventStore(db), async () => undefined);
    },
  },
];

/** Polls `read` until `done` holds of its answer, or fails with the last answer after the deadline. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const minutes = (count: number) => new Date(T0 + count * 60_000);

function fire(tenantId: string, store: EventStore, fingerprint: string, labels: Record<string, string>, at = minutes(0)) {
  const command: Omit<FireAlert, 'metadata'> = {
    type: 'FireAlert',
    data: {
      fingerprint,
      source: 'alertmanager',
      labels: { alertname: 'HighErrorRate', ...labels },
      annotations: { summary: `${labels.service ?? 'something'} is failing` },
      startsAt: at.toISOString(),
      groupKey: '{}:{alertname="HighErrorRate"}',
      service: labels.service ?? null,
      severity: labels.severity === 'critical' ? 'SEV1' : labels.severity === 'warning' ? 'SEV3' : null,
      summary: `${labels.service ?? 'something'} is failing`,
    },
  };
  return observeAlert(store, { tenantId, actor: { ...ingest, roles: [...ingest.roles] }, now: at }, { command, key: `${fingerprint}@${at.toISOString()}` });
}

async function incidentsOf(side: Side, tenant: string): Promise<Incident[]> {
  return (await listIncidents(side.db, tenant, {})).edges.map((edge) => edge.node);
}

async function collect(events: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

for (const backend of backends) {
  describe(`alert correlation on ${backend.name}`, { skip: backend.skip }, () => {
    let side: Side;
    before(async () => {
      side = await backend.open();
    });
    after(() => side?.close());

    test('a critical alert opens an incident with it linked; a second alert of the group joins; suspects have reasons', async () => {
      const tenant = newTenant('corr');
      const user = { tenantId: tenant, actor: { id: 'ci', kind: 'service' as const, roles: ['ingest'] } };
      const change = await recordChange(side.store, { ...user, now: minutes(-10) }, {
        service: 'checkout', kind: 'deploy', summary: 'checkout v1.4.2', at: minutes(-10).toISOString(),
      });
      await recordChange(side.store, { ...user, now: minutes(-300) }, {
        service: 'checkout', kind: 'deploy', summary: 'too old to suspect', at: minutes(-300).toISOString(),
      });
      await fire(tenant, side.store, 'fp-a', { service: 'checkout', severity: 'critical' });
      await fire(tenant, side.store, 'fp-b', { service: 'checkout', severity: 'warning' }, minutes(3));

      const [incident] = await eventually(() => incidentsOf(side, tenant), (list) => list.length === 1, 'one incident');
      assert.equal(incident?.title, 'checkout is failing');
      assert.equal(incident?.severity, 'SEV1');
      assert.deepEqual(incident?.services, ['checkout']);
      const id = incident?.id ?? '';
      const [linked] = await eventually(() => getLinkedAlerts(side.db, tenant, [id]), ([alerts]) => alerts?.length === 2, 'two linked alerts');
      assert.deepEqual(linked?.map((alert) => alert.fingerprint), ['fp-a', 'fp-b']);
      const [suspects] = await eventually(() => getSuspectChanges(side.db, tenant, [id]), ([links]) => (links?.length ?? 0) > 0, 'a suspect');
      assert.deepEqual(suspects?.map(({ changeId, reason }) => ({ changeId, reason })), [
        { changeId: change.changeId, reason: 'deploy to checkout 10 min before the first alert' },
      ]);

      // The causing alert event is the command's causation, its correlation id carried on.
      const events = await collect(side.store.readStream(`${tenant}/incident-${id}`));
      const alertEvents = await collect(side.store.readStream(`${tenant}/alert-fp-a`));
      assert.equal(events[0]?.metadata.causationId, alertEvents[0]?.id);
      assert.equal(events[0]?.metadata.correlationId, alertEvents[0]?.metadata.correlationId);
      assert.equal(events[0]?.metadata.actor.kind, 'system');
    });

    test('a warning alone opens nothing', async () => {
      const tenant = newTenant('warn');
      const { position } = await fire(tenant, side.store, 'fp-w', { service: 'search', severity: 'warning' });
      await side.engine.waitForPosition(position, { timeoutMs: DEADLINE_MS, projections: [CORRELATION_PROJECTION] });
      await eventually(() => side.db.query('SELECT 1 FROM correlation_outbox WHERE tenant_id = $1', [tenant]), (result) => result.rowCount === 0, 'outbox drained');
      assert.deepEqual(await incidentsOf(side, tenant), []);
    });

    test('when every linked alert resolves, the timeline says so', async () => {
      const tenant = newTenant('resolve');
      for (const fingerprint of ['r1', 'r2', 'r3']) await fire(tenant, side.store, fingerprint, { service: 'cart', severity: 'critical' });
      const [incident] = await eventually(() => incidentsOf(side, tenant), (list) => list.length === 1, 'one incident');
      const id = incident?.id ?? '';
      await eventually(() => getLinkedAlerts(side.db, tenant, [id]), ([alerts]) => alerts?.length === 3, 'three linked alerts');
      for (const fingerprint of ['r1', 'r2', 'r3']) {
        const command = { type: 'ResolveAlert' as const, data: { fingerprint, endsAt: minutes(9).toISOString() } };
        await observeAlert(side.store, { tenantId: tenant, actor: { ...ingest, roles: [] }, now: minutes(9) }, { command, key: `${fingerprint}-end` });
      }
      const [timeline] = await eventually(
        () => getTimelines(side.db, tenant, [id]),
        ([entries]) => entries?.some((entry) => entry.type === 'IncidentNoteAdded') ?? false,
        'a note',
      );
      assert.deepEqual(timeline?.filter((entry) => entry.type === 'IncidentNoteAdded').map((entry) => entry.text), ['Note: all 3 linked alerts resolved']);
    });

    test('an alert matching an active silence opens no incident and is recorded as suppressed', async () => {
      const tenant = newTenant('silence');
      const responder = { tenantId: tenant, actor: { id: 'alice', kind: 'user' as const, roles: ['responder'] } };
      const { silence } = await createSilence(side.store, responder, {
        matchers: [{ name: 'service', op: '=~', value: 'pay.*' }],
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        comment: 'maintenance of payments',
      });
      await fire(tenant, side.store, 'fp-s', { service: 'payments', severity: 'critical' }, new Date());
      const stream = silenceStreamId(tenant, silence.silenceId);
      const events = await eventually(() => collect(side.store.readStream(stream)), (list) => list.length === 2, 'a suppression');
      assert.deepEqual(events[1]?.data, { fingerprint: 'fp-s', episode: 1, at: events[1]?.data.at });
      assert.deepEqual(await incidentsOf(side, tenant), []);
    });

    test('concurrent alerts of one group open one incident; a replay of the log causes nothing again', async () => {
      const tenant = newTenant('burst');
      await Promise.all(
        Array.from({ length: 8 }, (_, index) => fire(tenant, side.store, `burst-${index}`, { service: 'api', severity: 'critical' })),
      );
      // The same alerts again, as a redelivered notification.
      await Promise.all(Array.from({ length: 8 }, (_, index) => fire(tenant, side.store, `burst-${index}`, { service: 'api', severity: 'critical' })));
      const [incident] = await eventually(() => incidentsOf(side, tenant), (list) => list.length === 1, 'one incident');
      const id = incident?.id ?? '';
      await eventually(() => getLinkedAlerts(side.db, tenant, [id]), ([alerts]) => alerts?.length === 8, 'eight linked alerts');
      const before = await collect(side.store.readStream(`${tenant}/incident-${id}`));

      await side.engine.rebuild(CORRELATION_PROJECTION);
      await eventually(() => side.db.query('SELECT 1 FROM correlation_outbox'), (result) => result.rowCount === 0, 'outbox drained');
      assert.equal((await incidentsOf(side, tenant)).length, 1);
      assert.deepEqual((await collect(side.store.readStream(`${tenant}/incident-${id}`))).map((event) => event.id), before.map((event) => event.id));
    });
  });
}
