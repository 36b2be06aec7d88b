// The correlation rules as pure functions: grouping within the window, the declaring threshold, the "all resolved"
// note (and auto-resolve), flapping, and the reasons given for suspect changes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_CORRELATION_SETTINGS as SETTINGS,
  initialGroup,
  initialTrack,
  onAlertFired,
  onAlertResolved,
  onIncidentStatus,
  suspectReason,
  type AlertTrack,
  type FiredAlert,
  type GroupState,
} from '../../domain/correlation/rules.ts';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const idOf = (windowStart: string) => `incident@${windowStart}`;

function alert(fingerprint: string, minutes: number, overrides: Partial<FiredAlert> = {}): FiredAlert {
  return { fingerprint, service: 'checkout', severity: 'SEV1', title: 'High error rate', summary: null, at: at(minutes), ...overrides };
}

/** Fires alerts in order through one group, each with its own track, as the manager does. */
function fireAll(alerts: readonly FiredAlert[], group: GroupState = initialGroup(), settings = SETTINGS) {
  const tracks = new Map<string, AlertTrack>();
  const actions = [];
  for (const each of alerts) {
    const outcome = onAlertFired(group, tracks.get(each.fingerprint) ?? initialTrack(), each, settings, idOf);
    group = outcome.group;
    tracks.set(each.fingerprint, outcome.track);
    actions.push(...outcome.actions);
  }
  return { group, actions, tracks };
}

describe('grouping', () => {
  test('a critical alert declares an incident named after it, links it and looks for suspects', () => {
    const { actions, group } = fireAll([alert('a', 0)]);
    assert.deepEqual(actions, [
      { type: 'declare', incidentId: idOf(at(0)), title: 'High error rate', severity: 'SEV1', services: ['checkout'], summary: null },
      { type: 'link', incidentId: idOf(at(0)), fingerprint: 'a' },
      { type: 'linkSuspects', incidentId: idOf(at(0)), services: ['checkout'], firstAlertAt: at(0) },
    ]);
    assert.equal(group.incidentOpen, true);
  });

  test('a later alert of the group within the window links to the open incident', () => {
    const { actions } = fireAll([alert('a', 0), alert('b', 20)]);
    assert.deepEqual(
      actions.filter((action) => action.type === 'declare' || action.type === 'link').map((action) => action.type),
      ['declare', 'link', 'link'],
    );
    assert.deepEqual(actions.at(-1), { type: 'linkSuspects', incidentId: idOf(at(0)), services: ['checkout'], firstAlertAt: at(0) });
  });

  test('the window slides with each firing; past it a new incident is declared', () => {
    const { actions } = fireAll([alert('a', 0), alert('b', 25), alert('c', 50), alert('d', 81)]);
    const declared = actions.filter((action) => action.type === 'declare').map((action) => action.incidentId);
    assert.deepEqual(declared, [idOf(at(0)), idOf(at(81))]);
  });

  test('a resolved incident takes no more alerts: the next critical one declares anew', () => {
    const first = fireAll([alert('a', 0)]);
    const { actions } = fireAll([alert('b', 5)], onIncidentStatus(first.group, false));
    assert.equal(actions[0]?.type, 'declare');
  });

  test('the same alert firing again links again (idempotent downstream) and declares nothing', () => {
    const { actions } = fireAll([alert('a', 0), alert('a', 1)]);
    assert.equal(actions.filter((action) => action.type === 'declare').length, 1);
  });
});

describe('severity threshold', () => {
  test('a warning alone opens nothing', () => {
    assert.deepEqual(fireAll([alert('w', 0, { severity: 'SEV3' })]).actions, []);
  });

  test('an alert without a severity opens nothing', () => {
    assert.deepEqual(fireAll([alert('w', 0, { severity: null })]).actions, []);
  });

  test('SEV2 is at the default threshold and declares', () => {
    assert.equal(fireAll([alert('e', 0, { severity: 'SEV2' })]).actions[0]?.type, 'declare');
  });

  test('a warning of a group with an open incident joins it', () => {
    const { actions } = fireAll([alert('a', 0), alert('w', 3, { severity: 'SEV4' })]);
    assert.deepEqual(actions.filter((action) => action.type === 'link').map((action) => action.fingerprint), ['a', 'w']);
  });

  test('the threshold is configurable', () => {
    const settings = { ...SETTINGS, declareAtOrAbove: 'SEV3' as const };
    assert.equal(fireAll([alert('w', 0, { severity: 'SEV3' })], initialGroup(), settings).actions[0]?.type, 'declare');
  });
});

describe('resolution', () => {
  test('when all linked alerts resolve the timeline says so, once; no resolve unless configured', () => {
    let { group } = fireAll([alert('a', 0), alert('b', 1), alert('c', 2)]);
    const notes = [];
    for (const fingerprint of ['a', 'b', 'c', 'c']) {
      const outcome = onAlertResolved(group, fingerprint, SETTINGS);
      group = outcome.group;
      notes.push(...outcome.actions);
    }
    assert.deepEqual(notes, [{ type: 'note', incidentId: idOf(at(0)), text: 'all 3 linked alerts resolved' }]);
  });

  test('auto-resolve resolves the incident when configured', () => {
    const settings = { ...SETTINGS, autoResolve: true };
    const { group } = fireAll([alert('a', 0)], initialGroup(), settings);
    assert.deepEqual(onAlertResolved(group, 'a', settings).actions, [
      { type: 'note', incidentId: idOf(at(0)), text: 'the linked alert resolved' },
      { type: 'resolve', incidentId: idOf(at(0)), resolution: 'auto-resolved: the linked alert resolved' },
    ]);
  });

  test('an unlinked alert resolving changes nothing', () => {
    const { group } = fireAll([alert('a', 0)]);
    assert.deepEqual(onAlertResolved(group, 'other', SETTINGS), { group, actions: [] });
  });
});

describe('flapping', () => {
  function flap(times: number, settings = SETTINGS) {
    let group = initialGroup();
    let track = initialTrack();
    const declared: string[] = [];
    let flapping = false;
    for (let index = 0; index < times; index++) {
      const outcome = onAlertFired(group, track, alert('f', index * 5), settings, idOf);
      track = outcome.track;
      flapping = outcome.flapping;
      declared.push(...outcome.actions.flatMap((action) => (action.type === 'declare' ? [action.incidentId] : [])));
      // Each flap resolves the alert, and a responder resolves the incident it opened.
      group = onIncidentStatus(onAlertResolved(outcome.group, 'f', settings).group, false);
    }
    return { declared, flapping };
  }

  test('an alert firing more than 4 times within the window is flapping and opens no new incident', () => {
    const { declared, flapping } = flap(8);
    assert.equal(flapping, true);
    assert.equal(declared.length, 4);
  });

  test('a flapping alert re-links to the open incident of its group, past the group window too', () => {
    const settings = { ...SETTINGS, groupWindowMs: 60_000 };
    const { group, tracks } = fireAll([alert('f', 0), alert('f', 1), alert('f', 2), alert('f', 3)], initialGroup(), settings);
    const outcome = onAlertFired(onAlertResolved(group, 'f', settings).group, tracks.get('f') ?? initialTrack(), alert('f', 10), settings, idOf);
    assert.equal(outcome.flapping, true);
    assert.deepEqual(outcome.actions, [
      { type: 'link', incidentId: idOf(at(0)), fingerprint: 'f' },
      { type: 'note', incidentId: idOf(at(0)), text: 'alert f is flapping (5 firings within 60 min): its flaps open no new incident' },
    ]);
    // Marked once: the next flap only re-links.
    const next = onAlertFired(outcome.group, outcome.track, alert('f', 11), settings, idOf);
    assert.deepEqual(next.actions, [{ type: 'link', incidentId: idOf(at(0)), fingerprint: 'f' }]);
  });

  test('firings older than the flapping window do not count', () => {
    const { flapping } = flap(8, { ...SETTINGS, flapWindowMs: 12 * 60_000 });
    assert.equal(flapping, false);
  });
});

describe('suspect reasons', () => {
  test('a deploy before the first alert', () => {
    const reason = suspectReason({ kind: 'deploy', service: 'checkout', at: at(-4) }, at(0), ['checkout']);
    assert.equal(reason, 'deploy to checkout 4 min before the first alert');
  });

  test('a change to an upstream dependency says so', () => {
    const reason = suspectReason({ kind: 'config', service: 'payments', at: at(-90) }, at(0), ['checkout']);
    assert.equal(reason, 'config to payments (upstream dependency) 90 min before the first alert');
  });
});
