// The fold behind time travel and live changes (queries/incident-history.ts): stored events in, an incident in the
// read models' shapes out, with who made each change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncidentEvent } from '../../domain/incident/index.ts';
import type { StoredEvent } from '../../infra/eventstore/port.ts';
import { IncidentFold } from '../../queries/incident-history.ts';
import {
  ACTOR,
  alertLinked,
  assigned,
  changeLinked,
  declared,
  INCIDENT_ID,
  NOW,
  stepApproved,
  stepFailed,
  stepProposed,
  stepSkipped,
  stepStarted,
} from './support/incident.ts';

/** The events as the store would hand them back, each by `actor`. */
function stored(events: readonly [IncidentEvent, string][]): StoredEvent[] {
  return events.map(([event, actor], revision) => ({
    id: `00000000-0000-7000-8000-${String(revision).padStart(12, '0')}`,
    type: event.type,
    streamId: `acme/incident-${INCIDENT_ID}`,
    revision: BigInt(revision),
    position: `position-${String(revision).padStart(4, '0')}`,
    recordedAt: new Date(NOW),
    data: event.data,
    metadata: {
      tenantId: 'acme',
      actor: { id: actor, kind: 'user', roles: [] },
      correlationId: 'c',
      causationId: 'c',
      schemaVersion: 1,
      prevHash: '',
      hash: '',
    },
  })) as StoredEvent[];
}

function fold(events: readonly [IncidentEvent, string][]): IncidentFold {
  const incident = new IncidentFold();
  for (const event of stored(events)) incident.apply(event);
  return incident;
}

test('before its declaration there is no incident to show', () => {
  assert.equal(new IncidentFold().snapshot(), null);
});

test('a snapshot has the incident, its position, and who gave each role, linked each alert and change', () => {
  const incident = fold([
    [declared(), ACTOR],
    [assigned('sam', 'RESPONDER'), 'carol'],
    [alertLinked('fp-1'), 'correlator'],
    [changeLinked('deploy-42', 'deployed before the alert'), 'correlator'],
  ]);
  const snapshot = incident.snapshot();
  assert.ok(snapshot);
  assert.equal(incident.version, 4);
  assert.equal(snapshot.position, 'position-0003');
  assert.deepEqual(
    { ...snapshot.incident, declaredAt: snapshot.incident.declaredAt.toISOString() },
    {
      id: INCIDENT_ID,
      streamId: `incident-${INCIDENT_ID}`,
      title: 'Checkout errors',
      status: 'OPEN',
      severity: 'SEV2',
      services: ['checkout'],
      summary: null,
      version: 4,
      declaredAt: NOW,
      acknowledgedAt: null,
      mitigatedAt: null,
      resolvedAt: null,
      closedAt: null,
      resolution: null,
    },
  );
  const at = new Date(NOW);
  const incidentId = INCIDENT_ID;
  assert.deepEqual(snapshot.responders, [{ incidentId, userId: 'sam', role: 'RESPONDER', assignedAt: at, assignedBy: 'carol' }]);
  assert.deepEqual(snapshot.alerts, [{ incidentId, fingerprint: 'fp-1', linkedAt: at, linkedBy: 'correlator' }]);
  assert.deepEqual(snapshot.suspectChanges, [
    { incidentId, changeId: 'deploy-42', reason: 'deployed before the alert', linkedAt: at, linkedBy: 'correlator' },
  ]);
});

test('remediation steps keep every transition; a failure has its error, a skip its reason', () => {
  const snapshot = fold([
    [declared(), ACTOR],
    [stepProposed('s1'), ACTOR],
    [{ ...stepApproved('s1'), data: { ...stepApproved('s1').data, by: 'carol' } }, 'carol'],
    [stepStarted('s1'), ACTOR],
    [stepFailed('s1', 'timeout', 'partial output'), ACTOR],
    [stepProposed('s2', { title: 'Scale up' }), ACTOR],
    [stepSkipped('s2', 'load dropped'), ACTOR],
  ]).snapshot();
  const at = new Date(NOW);
  const transitions = snapshot?.remediationSteps.map((step) => [
    step.stepId,
    step.status,
    step.approvedBy,
    step.startedBy,
    step.finishedBy,
    step.finishedAt,
    step.output,
    step.error,
    step.reason,
  ]);
  assert.deepEqual(transitions, [
    ['s1', 'FAILED', 'carol', ACTOR, ACTOR, at, 'partial output', 'timeout', null],
    ['s2', 'SKIPPED', null, null, ACTOR, at, null, null, 'load dropped'],
  ]);
});

test('a snapshot does not change when the fold goes on', () => {
  const incident = fold([[declared(), ACTOR]]);
  const before = incident.snapshot();
  const [, assignment] = stored([
    [declared(), ACTOR],
    [assigned('sam', 'SCRIBE'), ACTOR],
  ]);
  assert.ok(assignment);
  incident.apply(assignment);
  assert.deepEqual(before?.responders, []);
  assert.equal(before?.incident.version, 1);
  assert.equal(incident.snapshot()?.responders.length, 1);
});
