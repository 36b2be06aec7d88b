// The change aggregate as given / when / then: a change is recorded once, a retry records nothing, and what it says
// is bounded and well formed.
import { describe, test } from 'node:test';
import { changeDecider, type ChangeEvent, type RecordChange } from '../../domain/change/index.ts';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import { deciderSpec } from './support/given-when-then.ts';

const given = deciderSpec(changeDecider);
const NOW = '2025-03-01T10:00:00.000Z';
const AT = '2025-03-01T09:58:00.000Z';

function record(data: Partial<RecordChange['data']> = {}): RecordChange {
  return {
    type: 'RecordChange',
    data: { changeId: 'deploy-42', service: 'checkout', kind: 'deploy', summary: 'Deploy checkout v1.4.2', at: AT, ...data },
    metadata: { now: NOW, actorId: 'ci' },
  };
}

const recorded = (data: Partial<Extract<ChangeEvent, { type: 'ChangeRecorded' }>['data']> = {}): ChangeEvent => ({
  type: 'ChangeRecorded',
  data: {
    changeId: 'deploy-42',
    service: 'checkout',
    kind: 'deploy',
    summary: 'Deploy checkout v1.4.2',
    version: null,
    author: null,
    source: null,
    at: AT,
    links: [],
    customDetails: {},
    ...data,
  },
});

describe('record a change', () => {
  test('every field is kept; absent ones are null, links and details empty', () => {
    given([])
      .when(
        record({
          version: ' v1.4.2 ',
          author: 'dana',
          source: 'github-actions',
          links: [{ href: 'https://ci.example.com/run/42', text: 'CI run' }, { href: 'http://example.com/pr/7' }],
          customDetails: { build: 42, green: true },
        }),
      )
      .then([
        recorded({
          version: 'v1.4.2',
          author: 'dana',
          source: 'github-actions',
          links: [
            { href: 'https://ci.example.com/run/42', text: 'CI run' },
            { href: 'http://example.com/pr/7', text: null },
          ],
          customDetails: { build: 42, green: true },
        }),
      ]);
  });

  test('without a time the change happened when it was recorded; without a kind it is `other`', () => {
    given([]).when(record({ at: null, kind: undefined })).then([recorded({ at: NOW, kind: 'other' })]);
  });

  test('a change without a service is recorded with none', () => {
    given([]).when(record({ service: null })).then([recorded({ service: null })]);
  });

  test('recording the same change again records nothing (a retry), also without its time', () => {
    given([recorded()]).when(record()).then([]);
    given([recorded({ at: NOW })]).when(record({ at: null })).then([]);
  });

  test('a retry is recognised whatever order the stored event keeps its keys in', () => {
    const stored = recorded({ customDetails: { b: 1, a: [{ y: 2, x: 1 }] } });
    const reordered: ChangeEvent = { type: 'ChangeRecorded', data: Object.fromEntries(Object.entries(stored.data).reverse()) as typeof stored.data };
    given([reordered]).when(record({ customDetails: { a: [{ x: 1, y: 2 }], b: 1 } })).then([]);
  });

  test('recording something else under a recorded id is refused: a change is never edited', () => {
    given([recorded()])
      .when(record({ summary: 'Deploy checkout v1.4.3' }))
      .thenThrows(IllegalTransitionError, 'change deploy-42 is already recorded; record needs a new change id (a change is never edited)');
  });
});

describe('bad changes', () => {
  test('a blank summary, or one over 1024 characters, is refused', () => {
    given([]).when(record({ summary: '  ' })).thenThrows(ValidationError, 'summary: must not be blank (1–1024 characters)');
    given([]).when(record({ summary: 'x'.repeat(1025) })).thenThrows(ValidationError, 'summary: is 1025 characters; at most 1024 allowed');
    given([]).when(record({ summary: 'x'.repeat(1024) })).then([recorded({ summary: 'x'.repeat(1024) })]);
  });

  test('a kind outside the list is refused', () => {
    given([]).when(record({ kind: 'rollout' })).thenThrows(
      ValidationError,
      'kind: "rollout" is not one of deploy, config, feature_flag, infrastructure, other',
    );
  });

  test('a service must be a name the catalog could hold', () => {
    given([]).when(record({ service: 'Checkout API' })).thenThrows(ValidationError, /^service: "Checkout API" is not a service name/);
  });

  test('a time must be an ISO-8601 instant', () => {
    given([]).when(record({ at: 'yesterday' })).thenThrows(ValidationError, /^at: "yesterday" is not an ISO-8601 instant/);
  });

  test('links must be absolute http(s) URLs, at most 20', () => {
    given([]).when(record({ links: [{ href: '/run/42' }] })).thenThrows(ValidationError, /^links\[0\]\.href: "\/run\/42" is not an http\(s\) URL/);
    const links = Array.from({ length: 21 }, (_, index) => ({ href: `https://ci.example.com/${index}` }));
    given([]).when(record({ links })).thenThrows(ValidationError, 'links: 21 links; at most 20 allowed');
  });

  test('custom details must be an object of at most 64 KiB of JSON', () => {
    given([]).when(record({ customDetails: { log: 'x'.repeat(70_000) } })).thenThrows(ValidationError, /^customDetails: is 70010 bytes of JSON; at most 65536 allowed/);
  });

  test('a change id is 1–128 of letters, digits, ".", "_", ":" and "-"', () => {
    given([]).when(record({ changeId: 'has space' })).thenThrows(ValidationError, /^changeId: "has space" is not a change id/);
    given([]).when(record({ changeId: 'x'.repeat(129) })).thenThrows(ValidationError, /^changeId: .* is not a change id/);
  });
});
