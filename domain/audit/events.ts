// What an auditor's reads leave behind (DESIGN.md "Auth, tenancy, audit": reads by auditors are logged too). The
// audit log projects these like any other event, so the trail shows who looked at what, and when.
import type { DomainEvent } from '../shared/decider.ts';

/**
 * The arguments of an `auditTrail` call as given (absent ones null), instants as ISO-8601 strings. A type alias, not
 * an interface, so that it is assignable to the JSON the store keeps.
 */
export type AuditTrailFilter = {
  streamId: string | null;
  actor: string | null;
  from: string | null;
  to: string | null;
  first: number | null;
  after: string | null;
};

export type AuditTrailRead = DomainEvent<
  'AuditTrailRead',
  {
    filter: AuditTrailFilter;
    /** Entries handed out, and where the page ended (null when empty). */
    returned: number;
    endCursor: string | null;
    hasNextPage: boolean;
    at: string;
  }
>;

export type StreamVerified = DomainEvent<
  'StreamVerified',
  { streamId: string; ok: boolean; events: number; brokenAtRevision: number | null; at: string }
>;

/** An auditor looked at one incident, as it is now (`asOf` null) or replayed to an instant. */
export type IncidentRead = DomainEvent<
  'IncidentRead',
  { incidentId: string; asOf: string | null; found: boolean; at: string }
>;

export type AuditEvent = AuditTrailRead | StreamVerified | IncidentRead;
