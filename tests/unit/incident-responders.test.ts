import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResponderNotFoundError, type IncidentCommand } from '../../domain/incident/index.ts';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import {
  assign,
  assigned,
  closed,
  given,
  historyIn,
  NOW,
  resolved,
  unassign,
  unassigned,
} from './support/incident.ts';

describe('assign responder', () => {
  for (const status of ['OPEN', 'ACKNOWLEDGED', 'MITIGATED', 'RESOLVED'] as const) {
    test(`a responder can be assigned while ${status}`, () => {
      given(historyIn[status]).when(assign('bob', 'RESPONDER')).then([assigned('bob', 'RESPONDER')]);
    });
  }

  test('the first commander is simply assigned', () => {
    given(historyIn.OPEN).when(assign('bob', 'COMMANDER')).then([assigned('bob', 'COMMANDER')]);
  });

  test('a new commander takes over: the old one steps down, handing over, before the new one is assigned', () => {
    given([...historyIn.OPEN, assigned('bob', 'COMMANDER')])
      .when(assign('carol', 'COMMANDER'))
      .then([unassigned('bob', 'COMMANDER', 'carol'), assigned('carol', 'COMMANDER')]);
  });

  test('a responder promoted to commander records both the handover and the role change', () => {
    given([...historyIn.OPEN, assigned('bob', 'COMMANDER'), assigned('carol', 'RESPONDER')])
      .when(assign('carol', 'COMMANDER'))
      .then([unassigned('bob', 'COMMANDER', 'carol'), assigned('carol', 'COMMANDER', 'RESPONDER')]);
  });

  test('after a handover there is exactly one commander', () => {
    given([...historyIn.OPEN, assigned('bob', 'COMMANDER'), assigned('dave', 'SCRIBE')])
      .when(assign('carol', 'COMMANDER'))
      .thenState((state) => {
        assert.notEqual(state.status, null);
        if (state.status === null) return;
        assert.deepEqual(
          state.responders.map((r) => [r.userId, r.role]),
          [
            ['dave', 'SCRIBE'],
            ['carol', 'COMMANDER'],
          ],
        );
        assert.equal(state.responders[1]?.assignedAt, NOW);
      });
  });

  test('changing an assigned user’s role records the previous role', () => {
    given([...historyIn.OPEN, assigned('bob', 'RESPONDER')])
      .when(assign('bob', 'COMMUNICATIONS'))
      .then([assigned('bob', 'COMMUNICATIONS', 'RESPONDER')]);
  });

  test('assigning a user the role they already hold records nothing', () => {
    given([...historyIn.OPEN, assigned('bob', 'COMMANDER')]).when(assign('bob', 'COMMANDER')).then([]);
  });

  test('an unknown role is refused, naming the allowed ones', () => {
    const command = { ...assign('bob', 'RESPONDER'), data: { userId: 'bob', role: 'HERO' } };
    given(historyIn.OPEN)
      .when(command as unknown as IncidentCommand)
      .thenThrows(ValidationError, 'role: "HERO" is not one of COMMANDER, RESPONDER, COMMUNICATIONS, SCRIBE');
  });

  test('a blank user id is refused', () => {
    given(historyIn.OPEN).when(assign(' ', 'RESPONDER')).thenThrows(ValidationError, /^userId: must not be blank/);
  });

  test('nobody can be assigned to a CLOSED incident', () => {
    given(historyIn.CLOSED)
      .when(assign('bob', 'SCRIBE'))
      .thenThrows(IllegalTransitionError, /^incident is CLOSED; assign responder needs an incident that is not CLOSED/);
  });
});

describe('unassign responder', () => {
  test('unassigning records the role the user held', () => {
    given([...historyIn.ACKNOWLEDGED, assigned('bob', 'SCRIBE')])
      .when(unassign('bob'))
      .then([unassigned('bob', 'SCRIBE')]);
  });

  test('an unassigned user is no longer a responder', () => {
    given([...historyIn.OPEN, assigned('bob', 'SCRIBE')])
      .when(unassign('bob'))
      .thenState((state) => assert.deepEqual(state.status === null ? null : state.responders, []));
  });

  test('unassigning a user who is not a responder is refused', () => {
    given(historyIn.OPEN)
      .when(unassign('bob'))
      .thenThrows(ResponderNotFoundError, 'user bob is not a responder on this incident');
  });

  test('nobody can be unassigned from a CLOSED incident', () => {
    given([...historyIn.OPEN, assigned('bob', 'SCRIBE'), resolved(), closed()])
      .when(unassign('bob'))
      .thenThrows(IllegalTransitionError, /^incident is CLOSED; unassign responder needs/);
  });
});
