import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evolve,
  INCIDENT_EVENT_TYPES,
  initialState,
  type IncidentEvent,
  type IncidentState,
} from '../../domain/incident/index.ts';
import {
  acknowledged,
  alertLinked,
  assigned,
  changeLinked,
  closed,
  declared,
  INCIDENT_ID,
  mitigated,
  noteAdded,
  NOW,
  reopened,
  resolved,
  severityChanged,
  statusUpdatePosted,
  stepProposed,
} from './support/incident.ts';

const fold = (events: readonly IncidentEvent[]): IncidentState => events.reduce(evolve, initialState());

test('the initial state is no incident at version 0', () => {
  assert.deepEqual(initialState(), { status: null, version: 0 });
});

test('declaring sets the incident up from the event, with declaredAt from the command clock', () => {
  assert.deepEqual(fold([declared({ summary: 'pay fails', services: ['checkout', 'payments'] })]), {
    id: INCIDENT_ID,
    status: 'OPEN',
    title: 'Checkout errors',
    summary: 'pay fails',
    severity: 'SEV2',
    services: ['checkout', 'payments'],
    declaredAt: NOW,
    acknowledgedAt: null,
    mitigatedAt: null,
    resolvedAt: null,
    resolution: null,
    closedAt: null,
    responders: [],
    remediationSteps: [],
    alertFingerprints: [],
    suspectChangeIds: [],
    version: 1,
  });
});

test('version counts every event folded, including notes and status updates', () => {
  const state = fold([declared(), noteAdded('a'), statusUpdatePosted('b'), acknowledged(), alertLinked('fp')]);
  assert.equal(state.version, 5);
});

test('the lifecycle timestamps and resolution follow the events', () => {
  const state = fold([declared(), acknowledged(), mitigated(), resolved('rolled back'), closed()]);
  assert.ok(state.status !== null);
  assert.equal(state.status, 'CLOSED');
  assert.equal(state.acknowledgedAt, NOW);
  assert.equal(state.mitigatedAt, NOW);
  assert.equal(state.resolvedAt, NOW);
  assert.equal(state.resolution, 'rolled back');
  assert.equal(state.closedAt, NOW);
});

test('reopening returns to OPEN and clears acknowledgement, mitigation and resolution', () => {
  const state = fold([declared(), acknowledged(), mitigated(), resolved(), reopened()]);
  assert.ok(state.status !== null);
  assert.equal(state.status, 'OPEN');
  const cleared = [state.acknowledgedAt, state.mitigatedAt, state.resolvedAt, state.resolution];
  assert.deepEqual(cleared, [null, null, null, null]);
});

test('reopening keeps responders, steps, severity and links', () => {
  const state = fold([
    declared(),
    assigned('bob', 'COMMANDER'),
    stepProposed('s1'),
    severityChanged('SEV2', 'SEV1'),
    alertLinked('fp'),
    changeLinked('chg'),
    resolved(),
    reopened(),
  ]);
  assert.ok(state.status !== null);
  assert.equal(state.severity, 'SEV1');
  assert.equal(state.responders.length, 1);
  assert.equal(state.remediationSteps.length, 1);
  assert.deepEqual(state.alertFingerprints, ['fp']);
  assert.deepEqual(state.suspectChangeIds, ['chg']);
});

test('evolve never mutates the state it is given', () => {
  const before = fold([declared()]);
  const snapshot = structuredClone(before);
  evolve(before, assigned('bob', 'SCRIBE'));
  evolve(before, stepProposed('s1'));
  assert.deepEqual(before, snapshot);
});

test('events before a declaration only advance the version', () => {
  assert.deepEqual(fold([acknowledged()]), { status: null, version: 1 });
});

test('INCIDENT_EVENT_TYPES lists all 19 event types', () => {
  assert.equal(new Set(INCIDENT_EVENT_TYPES).size, 19);
  assert.ok(INCIDENT_EVENT_TYPES.includes('SuspectChangeLinked'));
});
