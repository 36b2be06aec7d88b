// The incident read models, end to end: commands append real events, the real engine projects them, and the
// query functions read them back. Run on PostgreSQL and on embedded PGlite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  acknowledgeIncident,
  addIncidentNote,
  approveRemediationStep,
  assignResponder,
  changeIncidentSeverity,
  closeIncident,
  declareIncident,
  incidentStreamId,
  linkAlertToIncident,
  linkSuspectChange,
  mitigateIncident,
  postIncidentStatusUpdate,
  proposeRemediationStep,
  recordRemediationStepFailure,
  recordRemediationStepSuccess,
  reopenIncident,
  resolveIncident,
  skipRemediationStep,
  startRemediationStep,
  unassignResponder,
  type IncidentCommandResult,
} from '../../commands/incident.ts';
import { SEVERITIES, type IncidentStatus, type Severity } from '../../domain/incident/index.ts';
import { ValidationError } from '../../domain/shared/errors.ts';
import type { StoredEvent } from '../../infra/eventstore/port.ts';
import { incidentsProjection } from '../../projections/incidents.ts';
import {
  getIncidents,
  getLinkedAlerts,
  getRemediationSteps,
  getResponders,
  getSuspectChanges,
  getTimelines,
  listIncidents,
  type Incident,
  type ListIncidentsArgs,
} from '../../queries/incidents.ts';
import { encodeCursor, InvalidCursorError, QueryInputError } from '../../queries/pagination.ts';
import { backends, context, newTenant, TestClock, type ReadSide } from './read-model-support.ts';

/** Every page of the list, following endCursor; fails on a page that says there is more but returns nothing. */
async function allPages(side: ReadSide, tenant: string, args: ListIncidentsArgs): Promise<Incident[]> {
  const incidents: Incident[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await listIncidents(side.db, tenant, { ...args, after });
    incidents.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return incidents;
    assert.ok(page.edges.length > 0 && page.pageInfo.endCursor !== null, 'a page with a next page has an end cursor');
    after = page.pageInfo.endCursor;
  }
}

/** Everything the queries tell about a tenant's incidents: what a rebuild must reproduce. */
async function snapshot(side: ReadSide, tenant: string): Promise<unknown> {
  const incidents = await allPages(side, tenant, { first: 200 });
  const ids = incidents.map((incident) => incident.id);
  return {
    incidents,
    timelines: await getTimelines(side.db, tenant, ids),
    responders: await getResponders(side.db, tenant, ids),
    steps: await getRemediationSteps(side.db, tenant, ids),
    alerts: await getLinkedAlerts(side.db, tenant, ids),
    changes: await getSuspectChanges(side.db, tenant, ids),
  };
}

async function streamOf(side: ReadSide, tenant: string, incidentId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of side.store.readStream(incidentStreamId(tenant, incidentId))) events.push(event);
  return events;
}

/** Newest first, the id breaking ties, as the list promises. */
function newestFirst(a: { declaredAt: string; id: string }, b: { declaredAt: string; id: string }): number {
  if (a.declaredAt !== b.declaredAt) return a.declaredAt > b.declaredAt ? -1 : 1;
  return a.id > b.id ? -1 : 1;
}

for (const backend of await backends()) {
  describe(`incident read models on ${backend.name}`, { skip: backend.skip }, () => {
    let side: ReadSide;
    // Every test writes under a tenant of its own; the rebuild test at the end compares them all.
    const tenants: string[] = [];
    before(async () => {
      side = await backend.open();
    });
    after(async () => {
      await side?.close();
    });

    function tenant(label: string): string {
      const created = newTenant(label);
      tenants.push(created);
      return created;
    }

    test('the list pages newest first with no gaps or duplicates, and filters by status, severity and service', async () => {
      const acme = tenant('list');
      const start = Date.parse('2024-03-01T09:00:00.000Z');
      const services = [['checkout'], ['payments', 'checkout'], ['search']];
      const expected: { id: string; declaredAt: string; severity: Severity; services: string[]; status: IncidentStatus }[] = [];
      let last: IncidentCommandResult | undefined;
      for (let index = 0; index < 23; index++) {
        // Two declarations per minute: the id orders incidents declared at the same instant.
        const declaredAt = new Date(start + Math.floor(index / 2) * 60_000);
        const severity = SEVERITIES[index % 4] as Severity;
        const declared = await declareIncident(side.store, context(acme, 'alice', declaredAt), {
          title: `Incident ${index}`,
          severity,
          services: services[index % 3] ?? [],
        });
        const target = { incidentId: declared.incidentId };
        const later = context(acme, 'bob', new Date(declaredAt.getTime() + 30_000));
        let status: IncidentStatus = 'OPEN';
        last = declared;
        if (index % 5 === 1) {
          last = await acknowledgeIncident(side.store, later, target);
          status = 'ACKNOWLEDGED';
        } else if (index % 5 === 2) {
          last = await resolveIncident(side.store, later, { ...target, resolution: 'went away' });
          status = 'RESOLVED';
        } else if (index % 5 === 3) {
          last = await mitigateIncident(side.store, later, target);
          status = 'MITIGATED';
        } else if (index % 5 === 4) {
          await resolveIncident(side.store, later, { ...target, resolution: 'fixed' });
          last = await closeIncident(side.store, later, target);
          status = 'CLOSED';
        }
        expected.push({
          id: declared.incidentId,
          declaredAt: declaredAt.toISOString(),
          severity,
          services: services[index % 3] ?? [],
          status,
        });
      }
      await side.caughtUp((last as IncidentCommandResult).cursor);
      expected.sort(newestFirst);
      const ids = (list: readonly { id: string }[]): string[] => list.map((incident) => incident.id);

      const firstPage = await listIncidents(side.db, acme, { first: 4 });
      assert.equal(firstPage.edges.length, 4);
      assert.equal(firstPage.pageInfo.hasNextPage, true);
      assert.equal(firstPage.pageInfo.endCursor, firstPage.edges[3]?.cursor);
      assert.deepEqual(ids(await allPages(side, acme, { first: 4 })), ids(expected));
      assert.deepEqual(ids(await allPages(side, acme, { first: 200 })), ids(expected));

      const filtered = async (args: ListIncidentsArgs, keep: (incident: (typeof expected)[number]) => boolean): Promise<void> => {
        const want = ids(expected.filter(keep));
        assert.ok(want.length > 0, `the filter ${JSON.stringify(args)} selects something`);
        assert.deepEqual(ids(await allPages(side, acme, { ...args, first: 3 })), want, JSON.stringify(args));
      };
      await filtered({ status: ['ACKNOWLEDGED', 'MITIGATED'] }, (incident) => ['ACKNOWLEDGED', 'MITIGATED'].includes(incident.status));
      await filtered({ severity: ['SEV1'] }, (incident) => incident.severity === 'SEV1');
      await filtered({ service: 'checkout' }, (incident) => incident.services.includes('checkout'));
      await filtered(
        { status: ['OPEN', 'CLOSED'], severity: ['SEV1', 'SEV2'], service: 'checkout' },
        (incident) =>
          ['OPEN', 'CLOSED'].includes(incident.status) &&
          ['SEV1', 'SEV2'].includes(incident.severity) &&
          incident.services.includes('checkout'),
      );
      // An empty list is no filter, as a UI with nothing ticked means.
      await filtered({ status: [], severity: [] }, () => true);
      assert.deepEqual((await listIncidents(side.db, acme, { service: 'no-such-service' })).edges, []);
      assert.deepEqual((await listIncidents(side.db, acme, { service: 'no-such-service' })).pageInfo, {
        hasNextPage: false,
        endCursor: null,
      });

      // Keyset, not offset: an incident declared after the first page was read does not shift the next page.
      const page = await listIncidents(side.db, acme, { first: 5 });
      const newer = await declareIncident(side.store, context(acme, 'alice', new Date(start + 86_400_000)), {
        title: 'Newest',
        severity: 'SEV4',
      });
      await side.caughtUp(newer.cursor);
      const next = await listIncidents(side.db, acme, { first: 5, after: page.pageInfo.endCursor });
      assert.deepEqual(ids(next.edges.map((edge) => edge.node)), ids(expected.slice(5, 10)));
      assert.equal((await listIncidents(side.db, acme, { first: 1 })).edges[0]?.node.id, newer.incidentId);
    });

    test('an incident, its timeline, responders, remediation steps, alerts and suspect changes follow its events', async () => {
      const acme = tenant('detail');
      const clock = new TestClock('2024-05-06T07:00:00.000Z');
      const instants: string[] = [];
      const as = (actor: string, kind: 'user' | 'service' = 'user') => {
        const now = clock.tick();
        instants.push(now.toISOString());
        return context(acme, actor, now, kind);
      };
      const declared = await declareIncident(side.store, as('alice'), {
        title: 'Checkout errors',
        severity: 'SEV3',
        services: ['checkout', 'payments'],
        summary: '5xx on /pay',
      });
      const id = declared.incidentId;
      const target = { incidentId: id };
      const store = side.store;
      await acknowledgeIncident(store, as('alice'), target);
      await changeIncidentSeverity(store, as('alice'), { ...target, severity: 'SEV1', reason: 'customer impact' });
      await assignResponder(store, as('alice'), { ...target, userId: 'alice', role: 'COMMANDER' });
      await assignResponder(store, as('alice'), { ...target, userId: 'bob', role: 'RESPONDER' });
      await assignResponder(store, as('alice'), { ...target, userId: 'bob', role: 'SCRIBE' });
      await assignResponder(store, as('alice'), { ...target, userId: 'carol', role: 'COMMANDER' });
      await assignResponder(store, as('carol'), { ...target, userId: 'dave', role: 'COMMUNICATIONS' });
      await unassignResponder(store, as('carol'), { ...target, userId: 'bob' });
      await addIncidentNote(store, as('bob'), { ...target, text: 'canary looks bad' });
      await postIncidentStatusUpdate(store, as('dave'), { ...target, message: 'Investigating elevated errors' });
      const rollback = await proposeRemediationStep(store, as('carol'), {
        ...target,
        title: 'Roll back deploy',
        description: 'Back to 1.2.2',
        command: 'kubectl rollout undo deploy/checkout',
      });
      await approveRemediationStep(store, as('alice'), { ...target, stepId: rollback.stepId });
      await startRemediationStep(store, as('runner', 'service'), { ...target, stepId: rollback.stepId });
      await recordRemediationStepSuccess(store, as('runner', 'service'), { ...target, stepId: rollback.stepId, output: 'rolled back' });
      const restart = await proposeRemediationStep(store, as('carol'), { ...target, title: 'Restart pods' });
      await approveRemediationStep(store, as('alice'), { ...target, stepId: restart.stepId });
      await startRemediationStep(store, as('runner', 'service'), { ...target, stepId: restart.stepId });
      await recordRemediationStepFailure(store, as('runner', 'service'), {
        ...target,
        stepId: restart.stepId,
        error: 'timed out',
        output: 'pod/checkout-1 restarted',
      });
      const scale = await proposeRemediationStep(store, as('carol'), { ...target, title: 'Scale up' });
      await skipRemediationStep(store, as('carol'), { ...target, stepId: scale.stepId, reason: 'not needed' });
      const flush = await proposeRemediationStep(store, as('bob'), { ...target, title: 'Flush cache' });
      const drain = await proposeRemediationStep(store, as('bob'), { ...target, title: 'Drain node' });
      await approveRemediationStep(store, as('carol'), { ...target, stepId: drain.stepId });
      await linkAlertToIncident(store, as('alertmanager', 'service'), { ...target, fingerprint: 'a1b2c3d4' });
      await linkSuspectChange(store, as('correlator', 'service'), { ...target, changeId: 'chg-42', reason: 'deployed 4 min before' });
      await linkSuspectChange(store, as('correlator', 'service'), { ...target, changeId: 'chg-43' });
      await mitigateIncident(store, as('carol'), { ...target, summary: 'traffic shifted' });
      await resolveIncident(store, as('carol'), { ...target, resolution: 'rolled back 1.2.3' });
      await reopenIncident(store, as('alice'), { ...target, reason: 'errors are back' });
      await resolveIncident(store, as('carol'), { ...target, resolution: 'fixed the config' });
      const closed = await closeIncident(store, as('carol'), target);
      await side.caughtUp(closed.cursor);
      const at = (index: number): Date => new Date(instants[index] as string);

      const [incident] = await getIncidents(side.db, acme, [id]);
      assert.deepEqual(incident, {
        id,
        streamId: `incident-${id}`,
        title: 'Checkout errors',
        status: 'CLOSED',
        severity: 'SEV1',
        services: ['checkout', 'payments'],
        summary: '5xx on /pay',
        version: closed.version,
        declaredAt: at(0),
        // Reopening cleared the first acknowledgement and mitigation; nobody acknowledged the reopened incident.
        acknowledgedAt: null,
        mitigatedAt: null,
        resolvedAt: at(30),
        closedAt: at(31),
        resolution: 'fixed the config',
        updatedAt: at(31),
        lastPosition: closed.cursor,
      });

      const events = await streamOf(side, acme, id);
      const [timeline = []] = await getTimelines(side.db, acme, [id]);
      assert.deepEqual(
        timeline.map((entry) => [entry.type, entry.actor.id, entry.text]),
        [
          ['IncidentDeclared', 'alice', 'Declared SEV3: Checkout errors (affects checkout, payments)'],
          ['IncidentAcknowledged', 'alice', 'Acknowledged'],
          ['IncidentSeverityChanged', 'alice', 'Severity changed SEV3 → SEV1: customer impact'],
          ['ResponderAssigned', 'alice', 'alice assigned as COMMANDER'],
          ['ResponderAssigned', 'alice', 'bob assigned as RESPONDER'],
          ['ResponderAssigned', 'alice', 'bob changed role RESPONDER → SCRIBE'],
          ['ResponderUnassigned', 'alice', 'alice handed COMMANDER over to carol'],
          ['ResponderAssigned', 'alice', 'carol assigned as COMMANDER'],
          ['ResponderAssigned', 'carol', 'dave assigned as COMMUNICATIONS'],
          ['ResponderUnassigned', 'carol', 'bob removed as SCRIBE'],
          ['IncidentNoteAdded', 'bob', 'Note: canary looks bad'],
          ['IncidentStatusUpdatePosted', 'dave', 'Status update: Investigating elevated errors'],
          ['RemediationStepProposed', 'carol', 'Remediation step "Roll back deploy" proposed'],
          ['RemediationStepApproved', 'alice', 'Remediation step "Roll back deploy" approved'],
          ['RemediationStepStarted', 'runner', 'Remediation step "Roll back deploy" started'],
          ['RemediationStepSucceeded', 'runner', 'Remediation step "Roll back deploy" succeeded'],
          ['RemediationStepProposed', 'carol', 'Remediation step "Restart pods" proposed'],
          ['RemediationStepApproved', 'alice', 'Remediation step "Restart pods" approved'],
          ['RemediationStepStarted', 'runner', 'Remediation step "Restart pods" started'],
          ['RemediationStepFailed', 'runner', 'Remediation step "Restart pods" failed: timed out'],
          ['RemediationStepProposed', 'carol', 'Remediation step "Scale up" proposed'],
          ['RemediationStepSkipped', 'carol', 'Remediation step "Scale up" skipped: not needed'],
          ['RemediationStepProposed', 'bob', 'Remediation step "Flush cache" proposed'],
          ['RemediationStepProposed', 'bob', 'Remediation step "Drain node" proposed'],
          ['RemediationStepApproved', 'carol', 'Remediation step "Drain node" approved'],
          ['AlertLinkedToIncident', 'alertmanager', 'Alert a1b2c3d4 linked'],
          ['SuspectChangeLinked', 'correlator', 'Suspect change chg-42 linked: deployed 4 min before'],
          ['SuspectChangeLinked', 'correlator', 'Suspect change chg-43 linked'],
          ['IncidentMitigated', 'carol', 'Mitigated: traffic shifted'],
          ['IncidentResolved', 'carol', 'Resolved: rolled back 1.2.3'],
          ['IncidentReopened', 'alice', 'Reopened: errors are back'],
          ['IncidentResolved', 'carol', 'Resolved: fixed the config'],
          ['IncidentClosed', 'carol', 'Closed'],
        ],
      );
      // One entry per event, in stream order, its cursor the event's position and its instant the command's clock.
      assert.deepEqual(
        timeline.map((entry) => [entry.cursor, entry.revision, entry.eventId, entry.actor.kind]),
        events.map((event) => [event.position, Number(event.revision), event.id, event.metadata.actor.kind]),
      );
      assert.equal(timeline.length, closed.version);
      assert.deepEqual(timeline[7]?.at, at(6), 'both events of the commander handover carry its instant');
      assert.deepEqual(timeline.at(-1)?.at, at(31));

      const [responders] = await getResponders(side.db, acme, [id]);
      assert.deepEqual(responders, [
        { incidentId: id, userId: 'carol', role: 'COMMANDER', assignedAt: at(6), assignedBy: 'alice' },
        { incidentId: id, userId: 'dave', role: 'COMMUNICATIONS', assignedAt: at(7), assignedBy: 'carol' },
      ]);

      const step = { incidentId: id, description: null, command: null, approvedBy: null, approvedAt: null, startedBy: null };
      const unfinished = { startedAt: null, finishedBy: null, finishedAt: null, output: null, error: null, reason: null };
      const [steps] = await getRemediationSteps(side.db, acme, [id]);
      assert.deepEqual(steps, [
        {
          ...step,
          stepId: rollback.stepId,
          title: 'Roll back deploy',
          description: 'Back to 1.2.2',
          command: 'kubectl rollout undo deploy/checkout',
          status: 'SUCCEEDED',
          proposedBy: 'carol',
          proposedAt: at(11),
          approvedBy: 'alice',
          approvedAt: at(12),
          startedBy: 'runner',
          startedAt: at(13),
          finishedBy: 'runner',
          finishedAt: at(14),
          output: 'rolled back',
          error: null,
          reason: null,
        },
        {
          ...step,
          stepId: restart.stepId,
          title: 'Restart pods',
          status: 'FAILED',
          proposedBy: 'carol',
          proposedAt: at(15),
          approvedBy: 'alice',
          approvedAt: at(16),
          startedBy: 'runner',
          startedAt: at(17),
          finishedBy: 'runner',
          finishedAt: at(18),
          output: 'pod/checkout-1 restarted',
          error: 'timed out',
          reason: null,
        },
        {
          ...step,
          ...unfinished,
          stepId: scale.stepId,
          title: 'Scale up',
          status: 'SKIPPED',
          proposedBy: 'carol',
          proposedAt: at(19),
          finishedBy: 'carol',
          finishedAt: at(20),
          reason: 'not needed',
        },
        { ...step, ...unfinished, stepId: flush.stepId, title: 'Flush cache', status: 'PROPOSED', proposedBy: 'bob', proposedAt: at(21) },
        {
          ...step,
          ...unfinished,
          stepId: drain.stepId,
          title: 'Drain node',
          status: 'APPROVED',
          proposedBy: 'bob',
          proposedAt: at(22),
          approvedBy: 'carol',
          approvedAt: at(23),
        },
      ]);

      assert.deepEqual(await getLinkedAlerts(side.db, acme, [id]), [
        [{ incidentId: id, fingerprint: 'a1b2c3d4', linkedAt: at(24), linkedBy: 'alertmanager' }],
      ]);
      assert.deepEqual(await getSuspectChanges(side.db, acme, [id]), [
        [
          { incidentId: id, changeId: 'chg-42', reason: 'deployed 4 min before', linkedAt: at(25), linkedBy: 'correlator' },
          { incidentId: id, changeId: 'chg-43', reason: null, linkedAt: at(26), linkedBy: 'correlator' },
        ],
      ]);
    });

    test('batched reads answer in the order asked, and never across tenants', async () => {
      const acme = tenant('acme');
      const globex = tenant('globex');
      const clock = new TestClock();
      const first = await declareIncident(side.store, context(acme, 'alice', clock.tick()), { title: 'A1', severity: 'SEV2' });
      const second = await declareIncident(side.store, context(acme, 'alice', clock.tick()), { title: 'A2', severity: 'SEV2' });
      await addIncidentNote(side.store, context(acme, 'alice', clock.tick()), { incidentId: second.incidentId, text: 'n' });
      await linkAlertToIncident(side.store, context(acme, 'am', clock.tick(), 'service'), { incidentId: first.incidentId, fingerprint: 'f1' });
      const theirs = await declareIncident(side.store, context(globex, 'mallory', clock.tick()), { title: 'B1', severity: 'SEV2' });
      const last = await linkAlertToIncident(side.store, context(globex, 'am', clock.tick(), 'service'), {
        incidentId: theirs.incidentId,
        fingerprint: 'f1',
      });
      await side.caughtUp(last.cursor);

      const asked = [second.incidentId, 'no-such-incident', first.incidentId, theirs.incidentId, second.incidentId];
      const incidents = await getIncidents(side.db, acme, asked);
      assert.deepEqual(
        incidents.map((incident) => incident?.title ?? null),
        ['A2', null, 'A1', null, 'A2'],
      );
      const timelines = await getTimelines(side.db, acme, asked);
      assert.deepEqual(
        timelines.map((entries) => entries.map((entry) => entry.type)),
        [['IncidentDeclared', 'IncidentNoteAdded'], [], ['IncidentDeclared', 'AlertLinkedToIncident'], [], ['IncidentDeclared', 'IncidentNoteAdded']],
      );
      assert.deepEqual(
        (await getLinkedAlerts(side.db, acme, asked)).map((alerts) => alerts.map((alert) => alert.incidentId)),
        [[], [], [first.incidentId], [], []],
      );
      assert.deepEqual(await getIncidents(side.db, acme, []), []);

      // globex sees its own incident and nothing of acme's, even when it names acme's ids.
      assert.deepEqual(
        (await listIncidents(side.db, globex)).edges.map((edge) => edge.node.title),
        ['B1'],
      );
      assert.deepEqual(await getIncidents(side.db, globex, [first.incidentId, second.incidentId]), [null, null]);
      assert.deepEqual(await getTimelines(side.db, globex, [first.incidentId]), [[]]);
      assert.deepEqual(await getLinkedAlerts(side.db, globex, [first.incidentId]), [[]]);
      assert.deepEqual(await listIncidents(side.db, newTenant('nobody')), { edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    });

    test('bad page sizes, cursors and filters are refused with typed errors', async () => {
      const acme = tenant('input');
      for (const first of [0, -1, 201, 1.5, Number.NaN]) {
        await assert.rejects(listIncidents(side.db, acme, { first }), (error: unknown) => {
          assert.ok(error instanceof QueryInputError && error instanceof ValidationError);
          assert.equal(error.field, 'first');
          return true;
        });
      }
      const cursors = [
        'not a cursor!',
        encodeCursor({ position: '0000000000000001-0000000000000001' }),
        encodeCursor({ declaredAt: 'yesterday', id: 'x' }),
        Buffer.from('[1,2]').toString('base64url'),
        Buffer.from('{"declaredAt":').toString('base64url'),
      ];
      for (const after of cursors) {
        await assert.rejects(listIncidents(side.db, acme, { after }), InvalidCursorError, after);
      }
      await assert.rejects(
        listIncidents(side.db, acme, { status: ['OPEN', 'DONE' as IncidentStatus] }),
        (error: unknown) => error instanceof QueryInputError && error.field === 'status',
      );
      await assert.rejects(
        listIncidents(side.db, acme, { severity: ['SEV5' as Severity] }),
        (error: unknown) => error instanceof QueryInputError && error.field === 'severity',
      );
    });

    test('applying an event again changes nothing', async () => {
      const acme = tenant('again');
      const clock = new TestClock();
      const declared = await declareIncident(side.store, context(acme, 'alice', clock.tick()), { title: 'Twice', severity: 'SEV2' });
      const target = { incidentId: declared.incidentId };
      await assignResponder(side.store, context(acme, 'alice', clock.tick()), { ...target, userId: 'bob', role: 'RESPONDER' });
      const step = await proposeRemediationStep(side.store, context(acme, 'bob', clock.tick()), { ...target, title: 'Restart' });
      await approveRemediationStep(side.store, context(acme, 'alice', clock.tick()), { ...target, stepId: step.stepId });
      await unassignResponder(side.store, context(acme, 'alice', clock.tick()), { ...target, userId: 'bob' });
      await resolveIncident(side.store, context(acme, 'alice', clock.tick()), { ...target, resolution: 'ok' });
      const last = await reopenIncident(side.store, context(acme, 'alice', clock.tick()), { ...target, reason: 'not ok' });
      await side.caughtUp(last.cursor);
      const before = await snapshot(side, acme);

      // The engine applies each event exactly once; a stale re-delivery must still be harmless. Newest first, so
      // that each re-applied event is older than the state it meets (a resolution after the reopening, say).
      const projection = incidentsProjection();
      const events = await streamOf(side, acme, declared.incidentId);
      await side.db.transaction(async (tx) => {
        for (const event of events.reverse()) await projection.apply(event, tx);
      });
      assert.deepEqual(await snapshot(side, acme), before);
    });

    // Last: it compares what every earlier test left behind.
    test('a rebuild reproduces every row', async () => {
      const head = await side.store.headPosition();
      await side.caughtUp(head);
      const before = await Promise.all(tenants.map((each) => snapshot(side, each)));
      const result = await side.engine.rebuild('incidents');
      assert.equal(result.position, head);
      assert.ok(result.applied > 50, `replayed ${result.applied} incident events`);
      assert.deepEqual(await Promise.all(tenants.map((each) => snapshot(side, each))), before);
    });
  });
}
