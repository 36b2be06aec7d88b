// An incident run the way a response team runs one, through HTTP GraphQL and graphql-ws, on PostgreSQL and on the
// embedded store: every mutation answers with the incident as its command left it, the read models agree once asked
// to be consistent with the last cursor, `asOf` shows the past, and incidentChanged delivers each change.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'graphql-ws';
import { data, subscribe, wsClient } from './support/graphql.ts';
import { declare, INCIDENT, run, streamEvents, type Incident, type IncidentResult } from './support/incident.ts';
import { backendSkip, startTestServer, type Backend, type TestServer } from './support/server.ts';

const READ = `query($id: ID!, $asOf: DateTime, $consistentWith: Cursor) {
  incident(id: $id, asOf: $asOf, consistentWith: $consistentWith) { ${INCIDENT} }
}`;

const CHANGES = `subscription($after: Cursor, $id: ID) {
  incidentChanged(after: $after, id: $id) {
    cursor
    incident { id status version timeline { type } }
    event { cursor streamId revision type actor { id kind } }
  }
}`;

interface Change {
  incidentChanged: {
    cursor: string;
    incident: { id: string; status: string; version: number; timeline: { type: string }[] };
    event: { cursor: string; streamId: string; revision: number; type: string; actor: { id: string; kind: string } };
  };
}

const LIFECYCLE_EVENTS = [
  'IncidentDeclared',
  'IncidentAcknowledged',
  'IncidentNoteAdded',
  'IncidentSeverityChanged',
  'ResponderAssigned',
  'ResponderAssigned',
  'RemediationStepProposed',
  'RemediationStepApproved',
  'RemediationStepStarted',
  'RemediationStepSucceeded',
  'RemediationStepProposed',
  'RemediationStepSkipped',
  'RemediationStepProposed',
  'RemediationStepApproved',
  'RemediationStepStarted',
  'RemediationStepFailed',
  'IncidentStatusUpdatePosted',
  'IncidentMitigated',
  'IncidentResolved',
  'IncidentReopened',
  'IncidentResolved',
  'IncidentClosed',
];

for (const backend of ['postgres', 'embedded'] satisfies Backend[]) {
  describe(`incidents over GraphQL on ${backend}`, { skip: await backendSkip(backend) }, () => {
    let server: TestServer;
    let rita: string;
    let carol: string;
    let vic: string;
    const clients: Client[] = [];

    const read = async (variables: Record<string, unknown>) =>
      (await data<{ incident: Incident | null }>(server.url, vic, READ, variables)).incident;

    before(async () => {
      server = await startTestServer(backend, `incident_lifecycle_${backend}`);
      rita = server.token({ sub: 'rita', roles: ['responder'] });
      carol = server.token({ sub: 'carol', roles: ['commander'] });
      vic = server.token({ sub: 'vic', roles: ['viewer'] });
    });

    after(async () => {
      await Promise.all(clients.map((client) => client.dispose()));
      await server?.close();
    });

    test('a lifecycle from declaration to close, each result as the command left the incident, read back alike', async () => {
      const results: IncidentResult[] = [];
      const step = async (token: string, mutation: Parameters<typeof run>[2], variables: Record<string, unknown>) => {
        const result = await run(server, token, mutation, { id: results[0]?.incident.id, ...variables });
        results.push(result);
        return result;
      };
      const declared = await declare(server, rita, {
        title: 'Checkout errors',
        severity: 'SEV3',
        services: ['checkout', 'payments'],
        summary: '5xx on /pay',
      });
      results.push(declared);
      const { id } = declared.incident;
      assert.equal(declared.incident.streamId, `incident-${id}`);
      assert.equal(declared.incident.status, 'OPEN');
      assert.equal(declared.incident.version, 1);
      assert.deepEqual(declared.incident.services, ['checkout', 'payments']);
      assert.deepEqual(declared.incident.timeline.map((entry) => entry.type), ['IncidentDeclared']);

      const acknowledged = await step(rita, 'acknowledge', { expectedVersion: 1 });
      assert.equal(acknowledged.incident.status, 'ACKNOWLEDGED');
      assert.ok(acknowledged.incident.acknowledgedAt);
      await step(rita, 'note', { text: 'rolling back the 14:02 deploy' });
      const severity = await step(carol, 'severity', { severity: 'SEV1', reason: 'customer impact' });
      assert.equal(severity.incident.severity, 'SEV1');
      await step(carol, 'assign', { userId: 'carol', role: 'COMMANDER' });
      const assigned = await step(rita, 'assign', { userId: 'sam', role: 'RESPONDER' });
      assert.deepEqual(
        assigned.incident.responders.map(({ userId, role, assignedBy }) => [userId, role, assignedBy]),
        [
          ['carol', 'COMMANDER', 'carol'],
          ['sam', 'RESPONDER', 'rita'],
        ],
      );

      const proposed = await step(rita, 'propose', { title: 'Roll back checkout', command: 'kubectl rollout undo' });
      const rollback = proposed.step?.id;
      assert.ok(rollback);
      assert.equal(proposed.step?.status, 'PROPOSED');
      assert.equal((await step(carol, 'approve', { stepId: rollback })).step?.approvedBy, 'carol');
      assert.equal((await step(rita, 'start', { stepId: rollback })).step?.status, 'IN_PROGRESS');
      const completed = await step(rita, 'complete', { stepId: rollback, output: 'deployment rolled back' });
      assert.deepEqual(completed.step, {
        id: rollback,
        title: 'Roll back checkout',
        status: 'SUCCEEDED',
        approvedBy: 'carol',
        startedBy: 'rita',
        finishedBy: 'rita',
        output: 'deployment rolled back',
        error: null,
        reason: null,
      });
      const scale = (await step(rita, 'propose', { title: 'Scale payments' })).step?.id;
      assert.equal((await step(rita, 'skip', { stepId: scale, reason: 'not needed' })).step?.reason, 'not needed');
      const flush = (await step(rita, 'propose', { title: 'Flush CDN' })).step?.id;
      await step(carol, 'approve', { stepId: flush });
      await step(rita, 'start', { stepId: flush });
      const failed = await step(rita, 'fail', { stepId: flush, error: 'CDN API 503', output: 'retrying later' });
      assert.deepEqual([failed.step?.status, failed.step?.error, failed.step?.output], ['FAILED', 'CDN API 503', 'retrying later']);

      await step(rita, 'statusUpdate', { message: 'Checkout is recovering' });
      assert.equal((await step(rita, 'mitigate', { summary: 'traffic back to normal' })).incident.status, 'MITIGATED');
      const resolved = await step(rita, 'resolve', { resolution: 'rolled back' });
      assert.deepEqual([resolved.incident.status, resolved.incident.resolution], ['RESOLVED', 'rolled back']);
      const reopened = await step(rita, 'reopen', { reason: 'errors are back' });
      assert.deepEqual(
        [reopened.incident.status, reopened.incident.resolvedAt, reopened.incident.acknowledgedAt],
        ['OPEN', null, null],
      );
      await step(rita, 'resolve', { resolution: 'config reverted too', expectedVersion: reopened.incident.version });
      const closed = await step(carol, 'close', {});
      assert.equal(closed.incident.status, 'CLOSED');
      assert.equal(closed.incident.version, LIFECYCLE_EVENTS.length);

      // Each result's cursor is its last event's, in log order, and its timeline ends there.
      const cursors = results.map((result) => result.cursor);
      assert.deepEqual([...cursors].sort(), cursors);
      assert.equal(new Set(cursors).size, cursors.length);
      for (const result of results) {
        assert.equal(result.incident.timeline.length, result.incident.version);
        assert.equal(result.incident.timeline.at(-1)?.cursor, result.cursor);
      }
      assert.deepEqual(closed.incident.timeline.map((entry) => entry.type), LIFECYCLE_EVENTS);
      assert.deepEqual(closed.incident.timeline[3], {
        ...closed.incident.timeline[3],
        actor: { id: 'carol', kind: 'USER' },
        text: 'Severity changed SEV3 → SEV1: customer impact',
      });
      assert.deepEqual(
        closed.incident.remediationSteps.map((each) => [each.title, each.status]),
        [
          ['Roll back checkout', 'SUCCEEDED'],
          ['Scale payments', 'SKIPPED'],
          ['Flush CDN', 'FAILED'],
        ],
      );

      // Read your writes: the read models, once consistent with the last cursor, agree with the command's answer.
      assert.deepEqual(await read({ id, consistentWith: closed.cursor }), closed.incident);
      const events = await streamEvents(server, 'acme', id);
      assert.deepEqual(events.map((event) => event.type), LIFECYCLE_EVENTS);
      assert.deepEqual(events.map((event) => event.metadata.actor), closed.incident.timeline.map((entry) => ({
        id: entry.actor.id,
        kind: 'user',
        roles: [entry.actor.id === 'carol' ? 'commander' : 'responder'],
      })));
    });

    test('asOf replays the incident to an instant: null before its declaration, the earlier state between events', async () => {
      const declared = await declare(server, rita, { title: 'Queue backlog', severity: 'SEV2' });
      const { id } = declared.incident;
      const acknowledged = await run(server, rita, 'acknowledge', { id });
      const [first, second] = await streamEvents(server, 'acme', id);
      assert.ok(first && second);
      assert.ok(first.recordedAt < second.recordedAt, 'two requests one after the other are recorded apart');

      assert.equal(await read({ id, asOf: new Date(first.recordedAt.getTime() - 1).toISOString() }), null);
      const between = await read({ id, asOf: first.recordedAt.toISOString() });
      assert.deepEqual(between, declared.incident);
      const now = await read({ id, asOf: new Date().toISOString() });
      assert.deepEqual(now, acknowledged.incident);
      // A later instant than any event, and the read model, tell the same story.
      assert.deepEqual(await read({ id, consistentWith: acknowledged.cursor }), acknowledged.incident);
    });

    test('incidentChanged delivers each change with its cursor and the incident as that event left it', async () => {
      const client = await wsClient(server.wsUrl, vic);
      clients.push(client);
      const declared = await declare(server, rita, { title: 'Login latency' });
      const { id } = declared.incident;
      const one = subscribe<Change>(client, CHANGES, { id, after: '' });
      const first = (await one.next()).incidentChanged;
      assert.equal(first.cursor, declared.cursor);
      assert.deepEqual(first.event, {
        cursor: declared.cursor,
        streamId: `incident-${id}`,
        revision: 0,
        type: 'IncidentDeclared',
        actor: { id: 'rita', kind: 'USER' },
      });
      assert.deepEqual(first.incident, { id, status: 'OPEN', version: 1, timeline: [{ type: 'IncidentDeclared' }] });

      // Live: a change made after the replay arrives with the mutation's cursor.
      const acknowledged = await run(server, rita, 'acknowledge', { id });
      const second = (await one.next()).incidentChanged;
      assert.equal(second.cursor, acknowledged.cursor);
      assert.equal(second.event.type, 'IncidentAcknowledged');
      assert.deepEqual([second.incident.status, second.incident.version, second.incident.timeline.length], ['ACKNOWLEDGED', 2, 2]);
      await one.close();

      // Every incident of the tenant, resuming after a cursor, without other tenants' incidents.
      const all = subscribe<Change>(client, CHANGES, { after: acknowledged.cursor });
      await declare(server, server.token({ sub: 'gus', tenant: 'globex', roles: ['responder'] }), { title: 'Not acme' });
      const other = await declare(server, rita, { title: 'Search down' });
      const noted = await run(server, rita, 'note', { id, text: 'still slow' });
      const changes = [(await all.next()).incidentChanged, (await all.next()).incidentChanged];
      assert.deepEqual(
        changes.map((change) => [change.cursor, change.incident.id, change.event.type, change.incident.version]),
        [
          [other.cursor, other.incident.id, 'IncidentDeclared', 1],
          [noted.cursor, id, 'IncidentNoteAdded', 3],
        ],
      );
      await all.close();
    });
  });
}
