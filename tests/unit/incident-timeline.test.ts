import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INCIDENT_STATUSES } from '../../domain/incident/index.ts';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import {
  addNote,
  alertLinked,
  changeLinked,
  given,
  historyIn,
  linkAlert,
  linkChange,
  noteAdded,
  postStatusUpdate,
  statusUpdatePosted,
} from './support/incident.ts';

describe('notes', () => {
  for (const status of INCIDENT_STATUSES) {
    test(`a note can be added while ${status}`, () => {
      given(historyIn[status]).when(addNote('paged the DB team')).then([noteAdded('paged the DB team')]);
    });
  }

  test('note text is kept verbatim, indentation included', () => {
    given(historyIn.OPEN).when(addNote('    SELECT 1;\n')).then([noteAdded('    SELECT 1;\n')]);
  });

  test('a note of 10,000 characters is accepted and one of 10,001 refused', () => {
    given(historyIn.OPEN).when(addNote('x'.repeat(10_000))).then([noteAdded('x'.repeat(10_000))]);
    given(historyIn.OPEN)
      .when(addNote('x'.repeat(10_001)))
      .thenThrows(ValidationError, 'text: is 10001 characters; at most 10000 allowed');
  });

  test('a blank note is refused', () => {
    given(historyIn.OPEN)
      .when(addNote(' \n '))
      .thenThrows(ValidationError, 'text: must not be blank (1–10000 characters)');
  });
});

describe('status updates', () => {
  for (const status of ['OPEN', 'ACKNOWLEDGED', 'MITIGATED', 'RESOLVED'] as const) {
    test(`a status update can be posted while ${status}`, () => {
      given(historyIn[status])
        .when(postStatusUpdate('We are investigating elevated checkout errors.'))
        .then([statusUpdatePosted('We are investigating elevated checkout errors.')]);
    });
  }

  test('a CLOSED incident takes no more public updates', () => {
    given(historyIn.CLOSED)
      .when(postStatusUpdate('late'))
      .thenThrows(IllegalTransitionError, /^incident is CLOSED; post status update needs an incident that is not/);
  });

  test('an empty status update is refused', () => {
    given(historyIn.OPEN).when(postStatusUpdate('')).thenThrows(ValidationError, /^message: must not be blank/);
  });
});

describe('linked alerts and suspect changes', () => {
  test('linking an alert records its fingerprint', () => {
    given(historyIn.OPEN).when(linkAlert('a1b2c3')).then([alertLinked('a1b2c3')]);
  });

  test('linking an alert that is already linked records nothing (Alertmanager re-sends)', () => {
    given([...historyIn.OPEN, alertLinked('a1b2c3')]).when(linkAlert('a1b2c3')).then([]);
  });

  test('an alert can be linked to a RESOLVED incident, for the correlation policy to reopen it', () => {
    given(historyIn.RESOLVED).when(linkAlert('a1b2c3')).then([alertLinked('a1b2c3')]);
  });

  test('a blank fingerprint is refused', () => {
    given(historyIn.OPEN).when(linkAlert(' ')).thenThrows(ValidationError, /^fingerprint: must not be blank/);
  });

  test('linking a suspect change records it with the reason', () => {
    given(historyIn.ACKNOWLEDGED)
      .when(linkChange('chg-42', 'deployed 4 min before the first alert'))
      .then([changeLinked('chg-42', 'deployed 4 min before the first alert')]);
  });

  test('linking a change that is already linked records nothing', () => {
    given([...historyIn.OPEN, changeLinked('chg-42')]).when(linkChange('chg-42')).then([]);
  });

  test('linked alerts and changes are tracked in state, each once', () => {
    given([...historyIn.OPEN, alertLinked('fp1'), changeLinked('chg-1')])
      .when(linkAlert('fp2'))
      .thenState((state) => {
        assert.ok(state.status !== null);
        assert.deepEqual(state.alertFingerprints, ['fp1', 'fp2']);
        assert.deepEqual(state.suspectChangeIds, ['chg-1']);
      });
  });

  test('a CLOSED incident takes no more links', () => {
    given(historyIn.CLOSED)
      .when(linkAlert('fp'))
      .thenThrows(IllegalTransitionError, /^incident is CLOSED; link alert needs an incident that is not CLOSED/);
    given(historyIn.CLOSED)
      .when(linkChange('chg-1'))
      .thenThrows(IllegalTransitionError, /^incident is CLOSED; link suspect change needs an incident that is not/);
  });
});
