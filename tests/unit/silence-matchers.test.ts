// Alertmanager's matchers (=, !=, =~, !~ with anchored RE2-like expressions) and the silence aggregate: creation,
// expiry on time and by hand, and the suppressions it records.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import {
  matches,
  silenceDecider,
  silences,
  silenceStatus,
  SilenceNotFoundError,
  validateMatchers,
  type CreateSilence,
  type SilenceEvent,
} from '../../domain/silence/index.ts';
import { deciderSpec } from './support/given-when-then.ts';

const labels = { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical' };

describe('matchers', () => {
  test('= and != compare whole values', () => {
    assert.equal(matches([{ name: 'service', op: '=', value: 'checkout' }], labels), true);
    assert.equal(matches([{ name: 'service', op: '=', value: 'check' }], labels), false);
    assert.equal(matches([{ name: 'service', op: '!=', value: 'payments' }], labels), true);
  });

  test('=~ and !~ are anchored at both ends', () => {
    assert.equal(matches([{ name: 'service', op: '=~', value: 'check.*' }], labels), true);
    assert.equal(matches([{ name: 'service', op: '=~', value: 'heck' }], labels), false);
    assert.equal(matches([{ name: 'service', op: '=~', value: 'checkout|payments' }], labels), true);
    assert.equal(matches([{ name: 'severity', op: '!~', value: 'warning|info' }], labels), true);
  });

  test('every matcher must hold', () => {
    const matchers = [
      { name: 'service', op: '=', value: 'checkout' },
      { name: 'severity', op: '=', value: 'warning' },
    ] as const;
    assert.equal(matches(matchers, labels), false);
  });

  test('an absent label is the empty string, as in Alertmanager', () => {
    assert.equal(matches([{ name: 'team', op: '=', value: '' }], labels), true);
    assert.equal(matches([{ name: 'team', op: '!=', value: '' }], labels), false);
  });

  test('backreferences, lookaround, broken expressions and bad names are refused', () => {
    assert.throws(() => validateMatchers([{ name: 'a', op: '=~', value: '(a)\\1' }]), ValidationError);
    assert.throws(() => validateMatchers([{ name: 'a', op: '=~', value: 'a(?=b)' }]), ValidationError);
    assert.throws(() => validateMatchers([{ name: 'a', op: '=~', value: '(' }]), /not a regular expression/);
    assert.throws(() => validateMatchers([{ name: '1a', op: '=', value: 'x' }]), /not a label name/);
    assert.throws(() => validateMatchers([]), /at least one matcher/);
  });
});

const given = deciderSpec(silenceDecider);
const NOW = '2025-03-01T10:00:00.000Z';
const matchers = [{ name: 'service', op: '=', value: 'checkout' }] as const;

function create(data: Partial<CreateSilence['data']> = {}, now = NOW): CreateSilence {
  return {
    type: 'CreateSilence',
    data: { silenceId: 's1', matchers, endsAt: '2025-03-01T12:00:00.000Z', comment: 'maintenance', ...data },
    metadata: { now, actorId: 'alice' },
  };
}

const created: SilenceEvent = {
  type: 'SilenceCreated',
  data: {
    silenceId: 's1',
    matchers: [...matchers],
    startsAt: NOW,
    endsAt: '2025-03-01T12:00:00.000Z',
    createdBy: 'alice',
    comment: 'maintenance',
    createdAt: NOW,
  },
};

describe('silence aggregate', () => {
  test('a silence starts now unless told otherwise and names its creator', () => {
    given([]).when(create()).then([created]);
  });

  test('an end before the start or in the past is refused', () => {
    given([]).when(create({ startsAt: '2025-03-01T13:00:00.000Z' })).thenThrows(ValidationError, /after startsAt/);
    given([]).when(create({ endsAt: '2025-03-01T09:00:00.000Z' })).thenThrows(ValidationError);
  });

  test('a silence id is used once', () => {
    given([created]).when(create()).thenThrows(IllegalTransitionError);
  });

  test('expiring ends it now; expiring an ended silence changes nothing', () => {
    const expire = { type: 'ExpireSilence', data: {}, metadata: { now: '2025-03-01T11:00:00.000Z', actorId: 'bob' } } as const;
    given([created]).when(expire).then([{ type: 'SilenceExpired', data: { expiredBy: 'bob', at: '2025-03-01T11:00:00.000Z' } }]);
    given([created]).when({ ...expire, metadata: { now: '2025-03-01T12:00:00.000Z', actorId: 'bob' } }).then([]);
    given([]).when(expire).thenThrows(SilenceNotFoundError);
  });

  test('each suppressed firing is recorded once', () => {
    const suppress = { type: 'RecordSuppression', data: { fingerprint: 'fp', episode: 1 }, metadata: { now: NOW, actorId: 'c' } } as const;
    const suppressed: SilenceEvent = { type: 'AlertSuppressed', data: { fingerprint: 'fp', episode: 1, at: NOW } };
    given([created]).when(suppress).then([suppressed]);
    given([created, suppressed]).when(suppress).then([]);
    given([created, suppressed]).when({ ...suppress, data: { fingerprint: 'fp', episode: 2 } }).then([
      { type: 'AlertSuppressed', data: { fingerprint: 'fp', episode: 2, at: NOW } },
    ]);
  });

  test('status follows the clock: pending, active, expired on time', () => {
    const range = { startsAt: '2025-03-01T10:00:00.000Z', endsAt: '2025-03-01T12:00:00.000Z' };
    assert.equal(silenceStatus(range, '2025-03-01T09:59:59.999Z'), 'PENDING');
    assert.equal(silenceStatus(range, '2025-03-01T10:00:00.000Z'), 'ACTIVE');
    assert.equal(silenceStatus(range, '2025-03-01T12:00:00.000Z'), 'EXPIRED');
    assert.equal(silences({ ...range, matchers: [...matchers] }, labels, '2025-03-01T11:00:00.000Z'), true);
    assert.equal(silences({ ...range, matchers: [...matchers] }, labels, '2025-03-01T12:00:00.000Z'), false);
  });
});
