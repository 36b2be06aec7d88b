// The alert decider as given / when / then: episodes, the diff that makes repeated notifications append nothing,
// PagerDuty's trigger / acknowledge / resolve semantics, and what decide refuses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { severityOf } from '../../domain/alert/index.ts';
import { ValidationError } from '../../domain/shared/errors.ts';
import {
  acknowledge,
  acknowledged,
  fire,
  fired,
  given,
  LATER,
  NOW,
  resolve,
  resolved,
  STARTS_AT,
  updated,
} from './support/alert.ts';

const v2 = { source: 'events-v2' as const, generatorURL: null, receiver: null };

describe('firing', () => {
  test('the first firing of a fingerprint is episode 1, with everything the source said', () => {
    given([]).when(fire()).then([fired()]);
  });

  test('the same alert firing again with the same startsAt, labels and annotations appends nothing', () => {
    given([fired()]).when(fire()).then([]);
  });

  test('label and annotation sets are compared whatever the order of their names', () => {
    const annotations = { description: 'see dashboard', summary: 'x' };
    given([fired({ annotations })])
      .when(fire({ annotations: { summary: 'x', description: 'see dashboard' } }))
      .then([]);
  });

  test('changed annotations of a firing alert are an update of the same episode', () => {
    const annotations = { summary: '5xx above 20% on checkout' };
    given([fired()])
      .when(fire({ annotations, summary: '5xx above 20% on checkout' }))
      .then([updated({ annotations, summary: '5xx above 20% on checkout' })]);
  });

  test('a firing alert seen again with a later startsAt stays the same episode', () => {
    given([fired()]).when(fire({ startsAt: LATER })).then([]);
  });

  test('an Alertmanager notification about an earlier startsAt than the current episode is late and ignored', () => {
    given([fired({ startsAt: LATER })])
      .when(fire({ startsAt: STARTS_AT, annotations: { summary: 'old text' } }))
      .then([]);
  });

  test('a fingerprint of the wrong stream is refused', () => {
    given([fired()]).when(fire({ fingerprint: 'another' })).thenThrows(ValidationError, /holds alert c2f1a0b3d4e5f607/);
  });
});

describe('resolving and re-firing', () => {
  test('a resolve of the firing episode resolves it at endsAt', () => {
    given([fired()]).when(resolve(NOW)).then([resolved(NOW)]);
  });

  test('a second resolve appends nothing', () => {
    given([fired(), resolved()]).when(resolve()).then([]);
  });

  test('a resolve of an earlier episode than the firing one is late and ignored', () => {
    given([fired({ startsAt: LATER })]).when(resolve(NOW, STARTS_AT)).then([]);
  });

  test('a resolve without startsAt (Events v2) resolves whatever is firing', () => {
    given([fired(v2)]).when(resolve(NOW, null)).then([resolved(NOW)]);
  });

  test('re-firing after a resolve, with a new startsAt, is the next episode', () => {
    given([fired(), resolved()])
      .when(fire({ startsAt: LATER }))
      .then([fired({ startsAt: LATER, episode: 2 })]);
  });

  test('the resolved episode firing again at the same startsAt is a late copy (an HA peer) and ignored', () => {
    given([fired(), resolved()]).when(fire()).then([]);
  });

  test('an Events v2 trigger after a resolve opens a new episode even with the same timestamp', () => {
    given([fired(v2), resolved()])
      .when(fire(v2))
      .then([fired({ ...v2, episode: 2 })]);
  });

  test('the state after a re-fire is FIRING in the new episode, unacknowledged and without end', () => {
    given([fired(v2), acknowledged(), resolved()])
      .when(fire(v2))
      .thenState((state) => {
        assert.equal(state.status, 'FIRING');
        assert.ok(state.status !== null);
        assert.equal(state.episode, 2);
        assert.equal(state.acknowledgedAt, null);
        assert.equal(state.endsAt, null);
      });
  });
});

describe('acknowledging', () => {
  test('acknowledging a firing alert records when', () => {
    given([fired(v2)]).when(acknowledge()).then([acknowledged()]);
  });

  test('acknowledging twice appends nothing', () => {
    given([fired(v2), acknowledged()]).when(acknowledge()).then([]);
  });

  test('a trigger for an acknowledged alert is deduplicated: it stays acknowledged', () => {
    given([fired(v2), acknowledged()])
      .when(fire(v2))
      .thenState((state) => assert.ok(state.status === 'FIRING' && state.acknowledgedAt === NOW));
  });

  test('acknowledging a resolved alert appends nothing', () => {
    given([fired(v2), resolved()]).when(acknowledge()).then([]);
  });
});

describe('acknowledge and resolve of an unknown alert are dropped, as PagerDuty drops them', () => {
  test('acknowledge of no alert appends nothing', () => {
    given([]).when(acknowledge()).then([]);
  });

  test('resolve of no alert appends nothing', () => {
    given([]).when(resolve()).then([]);
  });
});

describe('refused input', () => {
  test('a startsAt that is not an ISO-8601 instant is refused', () => {
    given([]).when(fire({ startsAt: 'yesterday' })).thenThrows(ValidationError, /^startsAt: "yesterday" is not/);
  });

  test('a blank fingerprint is refused', () => {
    given([]).when(fire({ fingerprint: ' ' })).thenThrows(ValidationError, /^fingerprint: must not be blank/);
  });

  test('a fingerprint over 255 characters is refused', () => {
    given([]).when(fire({ fingerprint: 'f'.repeat(256) })).thenThrows(ValidationError, /at most 255/);
  });

  test('a summary over 1024 characters is refused', () => {
    given([]).when(fire({ summary: 's'.repeat(1025) })).thenThrows(ValidationError, /^summary: .*at most 1024/);
  });

  test('resolve needs an instant for endsAt', () => {
    given([fired()]).when(resolve('soon')).thenThrows(ValidationError, /^endsAt:/);
  });
});

describe('severity words', () => {
  test('critical, error, warning and info map to SEV1 to SEV4, whatever their case', () => {
    assert.deepEqual(
      ['critical', 'ERROR', ' Warning ', 'info'].map(severityOf),
      ['SEV1', 'SEV2', 'SEV3', 'SEV4'],
    );
  });

  test('other words and no word have no severity', () => {
    assert.deepEqual(['page', 'none', '', null, undefined].map(severityOf), [null, null, null, null, null]);
  });
});
