// The auditor's record as given / when / then: a read is recorded as answered, and a record that contradicts itself
// or carries unbounded input is refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditDecider, type AuditCommand, type AuditTrailFilter } from '../../domain/audit/index.ts';
import { ValidationError } from '../../domain/shared/errors.ts';
import { deciderSpec } from './support/given-when-then.ts';

const given = deciderSpec(auditDecider);
const now = '2024-05-01T10:00:00.000Z';
const metadata = { now, actorId: 'dora' };
const noFilter: AuditTrailFilter = { streamId: null, actor: null, from: null, to: null, first: null, after: null };

const read = (data: Partial<Extract<AuditCommand, { type: 'RecordAuditTrailRead' }>['data']> = {}): AuditCommand => ({
  type: 'RecordAuditTrailRead',
  data: { filter: noFilter, returned: 0, endCursor: null, hasNextPage: false, ...data },
  metadata,
});

const verification = (
  data: Partial<Extract<AuditCommand, { type: 'RecordStreamVerification' }>['data']> = {},
): AuditCommand => ({
  type: 'RecordStreamVerification',
  data: { streamId: 'incident-1', ok: true, events: 3, brokenAtRevision: null, ...data },
  metadata,
});

describe('recording audit trail reads', () => {
  test('a page read is recorded with its filter, what it returned and when', () => {
    const filter = { ...noFilter, streamId: 'incident-1', from: '2024-04-01T00:00:00.000Z', first: 2 };
    given([])
      .when(read({ filter, returned: 2, endCursor: 'p2', hasNextPage: true }))
      .then([{ type: 'AuditTrailRead', data: { filter, returned: 2, endCursor: 'p2', hasNextPage: true, at: now } }]);
  });

  test('an empty page has no end cursor, and a non-empty one has one', () => {
    given([]).when(read({ returned: 0, endCursor: 'p1' })).thenThrows(ValidationError, /endCursor/);
    given([]).when(read({ returned: 1, endCursor: null })).thenThrows(ValidationError, /endCursor/);
  });

  test('a window that ends before it starts, or a count below zero, is refused', () => {
    const filter = { ...noFilter, from: '2024-04-02T00:00:00.000Z', to: '2024-04-01T00:00:00.000Z' };
    given([]).when(read({ filter })).thenThrows(ValidationError, /filter\.to/);
    given([]).when(read({ returned: -1 })).thenThrows(ValidationError, /returned/);
  });

  test('arguments are bounded', () => {
    given([]).when(read({ filter: { ...noFilter, actor: 'x'.repeat(513) } })).thenThrows(ValidationError, /filter\.actor/);
  });

  test('reads accumulate in the auditor state', () => {
    given([]).when(read()).thenState((state) => assert.deepEqual(state, { trailReads: 1, verifications: 0, incidentReads: 0 }));
  });
});

describe('recording stream verifications', () => {
  test('an intact stream and a broken one are recorded as verified', () => {
    given([]).when(verification()).then([
      { type: 'StreamVerified', data: { streamId: 'incident-1', ok: true, events: 3, brokenAtRevision: null, at: now } },
    ]);
    given([]).when(verification({ ok: false, brokenAtRevision: 2 })).then([
      { type: 'StreamVerified', data: { streamId: 'incident-1', ok: false, events: 3, brokenAtRevision: 2, at: now } },
    ]);
  });

  test('ok goes with no broken revision, and a broken revision lies among the events read', () => {
    given([]).when(verification({ ok: false })).thenThrows(ValidationError, /brokenAtRevision/);
    given([]).when(verification({ brokenAtRevision: 1 })).thenThrows(ValidationError, /brokenAtRevision/);
    given([]).when(verification({ ok: false, brokenAtRevision: 3 })).thenThrows(ValidationError, /not among the 3/);
  });

  test('a blank stream id is refused', () => {
    given([]).when(verification({ streamId: ' ' })).thenThrows(ValidationError, /streamId/);
  });
});

describe('recording incident reads', () => {
  const look = (asOf: string | null): AuditCommand => ({
    type: 'RecordIncidentRead',
    data: { incidentId: 'inc-1', asOf, found: true },
    metadata,
  });

  test('a look at an incident, now or as of an instant, is recorded with what was found', () => {
    given([]).when(look('2024-04-01T00:00:00.000Z')).then([
      { type: 'IncidentRead', data: { incidentId: 'inc-1', asOf: '2024-04-01T00:00:00.000Z', found: true, at: now } },
    ]);
    given([]).when(look(null)).thenState((state) => assert.equal(state.incidentReads, 1));
  });

  test('an instant that is not one is refused', () => {
    given([]).when(look('yesterday')).thenThrows(ValidationError, /asOf/);
  });
});
