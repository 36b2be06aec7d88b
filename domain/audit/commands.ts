// What the gateway asks of an auditor's record: to note a read it has just answered. The results come in with the
// command, so decide stays pure and only checks that the record is well formed.
import type { DomainCommand } from '../shared/decider.ts';
import type { AuditTrailFilter } from './events.ts';

export type RecordAuditTrailRead = DomainCommand<
  'RecordAuditTrailRead',
  { filter: AuditTrailFilter; returned: number; endCursor: string | null; hasNextPage: boolean }
>;

export type RecordStreamVerification = DomainCommand<
  'RecordStreamVerification',
  { streamId: string; ok: boolean; events: number; brokenAtRevision: number | null }
>;

export type RecordIncidentRead = DomainCommand<
  'RecordIncidentRead',
  { incidentId: string; asOf: string | null; found: boolean }
>;

export type AuditCommand = RecordAuditTrailRead | RecordStreamVerification | RecordIncidentRead;
