import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBusMessage, encodeBusMessage } from '../../infra/bus/codec.ts';
import { MalformedBusMessageError } from '../../infra/bus/port.ts';
import { eventSubject, isValidSubjectPrefix, resetSubject, subjectToken, tenantOf, tenantSubjects } from '../../infra/bus/subject.ts';
import type { StoredEvent } from '../../infra/eventstore/port.ts';

const event: StoredEvent = {
  id: '0190d0a4-0000-7000-8000-000000000001',
  type: 'IncidentDeclared',
  streamId: 'acme/incident-01J0',
  revision: 9007199254740993n,
  position: '0000000000000042',
  recordedAt: new Date('2024-05-01T12:00:00.123Z'),
  data: { title: 'db down', services: ['db'] },
  metadata: {
    tenantId: 'acme',
    actor: { id: 'u1', kind: 'user', roles: ['responder'] },
    correlationId: 'c1',
    causationId: 'c1',
    schemaVersion: 1,
    prevHash: '',
    hash: 'h',
  },
};

test('a bus message survives the wire, bigint revision and date included', () => {
  const decoded = decodeBusMessage(encodeBusMessage({ event, prevPosition: '0000000000000040' }));
  assert.deepEqual(decoded, { event, prevPosition: '0000000000000040' });
  assert.match(encodeBusMessage({ event, prevPosition: '' }), /"revision":"9007199254740993"/);
});

test('anything that is not a bus message is refused with a typed error', () => {
  for (const text of ['nope', '{}', JSON.stringify({ prevPosition: '', event: { ...event, revision: 1 } })]) {
    assert.throws(() => decodeBusMessage(text), MalformedBusMessageError);
  }
});

test('subjects are events.<tenant>.<category>.<type> with unsafe characters replaced', () => {
  assert.equal(eventSubject('events', 'acme', event), 'events.acme.incident.IncidentDeclared');
  assert.equal(
    eventSubject('events', 'acme', { ...event, streamId: 'acme/a.b*c>d e-1', type: 'X.Y' }),
    'events.acme.a_b_c_d_e.X_Y',
  );
  assert.equal(subjectToken(''), '_');
  assert.equal(tenantSubjects('t_1.events', 'acme'), 't_1.events.acme.>');
  assert.equal(resetSubject('events'), 'events._reset');
  assert.equal(tenantOf('acme/incident-1'), 'acme');
  assert.equal(tenantOf('unscoped-1'), undefined);
  assert.equal(isValidSubjectPrefix('test_ab12.events'), true);
  for (const bad of ['', 'a..b', 'a.*', 'a b', 'a.>']) assert.equal(isValidSubjectPrefix(bad), false, bad);
});
