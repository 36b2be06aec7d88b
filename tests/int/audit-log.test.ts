// The audit log, end to end: commands append real events, the real engine projects them, and auditTrail reads
// them back against what the store itself holds. Run on PostgreSQL and on embedded PGlite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  acknowledgeIncident,
  addIncidentNote,
  assignResponder,
  changeIncidentSeverity,
  declareIncident,
  linkAlertToIncident,
  resolveIncident,
  type IncidentCommandResult,
} from '../../commands/incident.ts';
import type { StoredEvent } from '../../infra/eventstore/port.ts';
import { tenantPrefix, unqualify } from '../../infra/eventstore/stream-name.ts';
import { AUDIT_LOG_PROJECTION } from '../../projections/audit-log.ts';
import { auditTrail, type AuditEntry, type AuditTrailArgs } from '../../queries/audit.ts';
import { InvalidCursorError, QueryInputError } from '../../queries/pagination.ts';
import { backends, context, newTenant, TestClock, type ReadSide } from './read-model-support.ts';

/** Every page of the trail, following endCursor. */
async function wholeTrail(side: ReadSide, tenant: string, args: AuditTrailArgs): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await auditTrail(side.db, tenant, { ...args, after });
    entries.push(...page.edges.map((edge) => edge.node));
    assert.deepEqual(
      page.edges.map((edge) => edge.cursor),
      page.edges.map((edge) => edge.node.cursor),
    );
    if (!page.pageInfo.hasNextPage) return entries;
    after = page.pageInfo.endCursor;
  }
}

/** The tenant's events as the store has them, in log order. */
async function logOf(side: ReadSide, tenant: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of side.store.readAll({ filter: { streamPrefix: tenantPrefix(tenant) } })) events.push(event);
  return events;
}

/** What an audit entry must say about a stored event. */
function entryOf(tenant: string, event: StoredEvent): AuditEntry {
  return {
    cursor: event.position,
    eventId: event.id,
    streamId: unqualify(tenant, event.streamId) ?? assert.fail(`${event.streamId} outside ${tenant}`),
    revision: Number(event.revision),
    type: event.type,
    recordedAt: event.recordedAt,
    actor: event.metadata.actor,
    data: event.data,
    metadata: event.metadata,
  };
}

for (const backend of await backends()) {
  describe(`audit log on ${backend.name}`, { skip: backend.skip }, () => {
    let side: ReadSide;
    const acme = newTenant('acme');
    const globex = newTenant('globex');
    let first: IncidentCommandResult;
    let second: IncidentCommandResult;

    // One history for every test: two incidents of acme, worked on by people and services, and one of globex.
    before(async () => {
      side = await backend.open();
      const clock = new TestClock();
      first = await declareIncident(side.store, context(acme, 'alice', clock.tick()), { title: 'API down', severity: 'SEV1' });
      second = await declareIncident(side.store, context(acme, 'bob', clock.tick()), { title: 'Slow search', severity: 'SEV3' });
      const one = { incidentId: first.incidentId };
      const two = { incidentId: second.incidentId };
      await acknowledgeIncident(side.store, context(acme, 'bob', clock.tick()), one);
      await linkAlertToIncident(side.store, context(acme, 'alertmanager', clock.tick(), 'service'), { ...one, fingerprint: 'f00d' });
      await assignResponder(side.store, context(acme, 'alice', clock.tick()), { ...two, userId: 'carol', role: 'COMMANDER' });
      await declareIncident(side.store, context(globex, 'mallory', clock.tick()), { title: 'Not yours', severity: 'SEV2' });
      await changeIncidentSeverity(
        side.store,
        {
          ...context(acme, 'alice', clock.tick()),
          correlationId: 'request-7',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        },
        { ...one, severity: 'SEV2', reason: 'only EU affected' },
      );
      for (let note = 0; note < 6; note++) {
        await addIncidentNote(side.store, context(acme, note % 2 === 0 ? 'bob' : 'carol', clock.tick()), { ...two, text: `note ${note}` });
      }
      const last = await resolveIncident(side.store, context(acme, 'alice', clock.tick()), { ...one, resolution: 'restarted' });
      await side.caughtUp(last.cursor);
    });
    after(async () => {
      await side?.close();
    });

    test('holds every event of the tenant, oldest first, paged by position without gaps or duplicates', async () => {
      const log = await logOf(side, acme);
      assert.equal(log.length, 13);
      const expected = log.map((event) => entryOf(acme, event));
      assert.deepEqual(await wholeTrail(side, acme, { first: 4 }), expected);
      assert.deepEqual(await wholeTrail(side, acme, { first: 200 }), expected);
      const page = await auditTrail(side.db, acme, { first: 5 });
      assert.deepEqual(page.pageInfo, { hasNextPage: true, endCursor: log[4]?.position });
      // Any event's cursor pages on from that event, as a live subscription would.
      const rest = await auditTrail(side.db, acme, { after: log[10]?.position });
      assert.deepEqual(rest.edges.map((edge) => edge.node.eventId), log.slice(11).map((event) => event.id));
      assert.deepEqual(rest.pageInfo, { hasNextPage: false, endCursor: log[12]?.position });
    });

    test('keeps who did what and why: actor, reason, correlation and trace', async () => {
      const [changed] = (await wholeTrail(side, acme, {})).filter((entry) => entry.type === 'IncidentSeverityChanged');
      assert.deepEqual(changed?.actor, { id: 'alice', kind: 'user', roles: ['responder'] });
      assert.deepEqual(changed?.data, { from: 'SEV1', to: 'SEV2', reason: 'only EU affected', at: changed?.data.at });
      assert.equal(changed?.metadata.reason, 'only EU affected');
      assert.equal(changed?.metadata.correlationId, 'request-7');
      assert.equal(changed?.metadata.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      assert.equal(changed?.metadata.tenantId, acme);
      assert.match(changed?.metadata.hash ?? '', /^[0-9a-f]{64}$/);
    });

    test('filters by stream, by actor and by time, together and with paging', async () => {
      const log = (await logOf(side, acme)).map((event) => entryOf(acme, event));
      const ids = (entries: readonly AuditEntry[]): string[] => entries.map((entry) => entry.eventId);
      const check = async (args: AuditTrailArgs, keep: (entry: AuditEntry) => boolean): Promise<void> => {
        const want = ids(log.filter(keep));
        assert.ok(want.length > 0, `the filter ${JSON.stringify(args)} selects something`);
        assert.deepEqual(ids(await wholeTrail(side, acme, { ...args, first: 2 })), want, JSON.stringify(args));
      };
      const stream = `incident-${second.incidentId}`;
      await check({ streamId: stream }, (entry) => entry.streamId === stream);
      await check({ actor: 'bob' }, (entry) => entry.actor.id === 'bob');
      await check({ actor: 'alertmanager' }, (entry) => entry.actor.id === 'alertmanager');
      await check({ streamId: stream, actor: 'carol' }, (entry) => entry.streamId === stream && entry.actor.id === 'carol');
      // From inclusive, to exclusive, on the store's clock; the bounds are events' own instants.
      const from = log[3]?.recordedAt as Date;
      const to = log[9]?.recordedAt as Date;
      await check({ from }, (entry) => entry.recordedAt >= from);
      await check({ to }, (entry) => entry.recordedAt < to);
      await check({ from, to, actor: 'bob' }, (entry) => entry.recordedAt >= from && entry.recordedAt < to && entry.actor.id === 'bob');
      assert.deepEqual((await auditTrail(side.db, acme, { actor: 'nobody' })).edges, []);
    });

    test('a tenant sees only its own events, even when it names another tenant stream', async () => {
      const theirs = await wholeTrail(side, globex, {});
      assert.deepEqual(theirs.map((entry) => [entry.type, entry.actor.id]), [['IncidentDeclared', 'mallory']]);
      assert.deepEqual((await auditTrail(side.db, globex, { streamId: `incident-${first.incidentId}` })).edges, []);
      assert.deepEqual((await auditTrail(side.db, acme, { actor: 'mallory' })).edges, []);
    });

    test('refuses malformed cursors, page sizes and time windows with typed errors', async () => {
      for (const after of ['', 'with space', 'é', 'x'.repeat(257)]) {
        await assert.rejects(auditTrail(side.db, acme, { after }), InvalidCursorError, JSON.stringify(after));
      }
      for (const first of [0, 201, 2.5]) {
        await assert.rejects(auditTrail(side.db, acme, { first }), (error: unknown) => error instanceof QueryInputError && error.field === 'first');
      }
      const at = new Date('2024-03-01T10:00:00.000Z');
      await assert.rejects(
        auditTrail(side.db, acme, { from: at, to: new Date(at.getTime() - 1) }),
        (error: unknown) => error instanceof QueryInputError && error.field === 'to',
      );
      await assert.rejects(
        auditTrail(side.db, acme, { from: new Date(Number.NaN) }),
        (error: unknown) => error instanceof QueryInputError && error.field === 'from',
      );
    });

    test('a rebuild reproduces the trail', async () => {
      const before = [await wholeTrail(side, acme, {}), await wholeTrail(side, globex, {})];
      const result = await side.engine.rebuild(AUDIT_LOG_PROJECTION);
      assert.equal(result.applied, 14);
      assert.deepEqual([await wholeTrail(side, acme, {}), await wholeTrail(side, globex, {})], before);
    });
  });
}
