// Everything that can happen to an incident. Data shapes are JSON (absent values are null, never undefined),
// because they are stored as they are; timestamps are ISO-8601 instants taken from the command.
import type { DomainEvent } from '../shared/decider.ts';

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RESPONDER_ROLES = ['COMMANDER', 'RESPONDER', 'COMMUNICATIONS', 'SCRIBE'] as const;
export type ResponderRole = (typeof RESPONDER_ROLES)[number];

export type IncidentDeclared = DomainEvent<
  'IncidentDeclared',
  {
    incidentId: string;
    title: string;
    severity: Severity;
    services: string[];
    summary: string | null;
    declaredAt: string;
  }
>;
export type IncidentAcknowledged = DomainEvent<'IncidentAcknowledged', { at: string }>;
export type IncidentMitigated = DomainEvent<'IncidentMitigated', { summary: string | null; at: string }>;
export type IncidentResolved = DomainEvent<'IncidentResolved', { resolution: string; at: string }>;
export type IncidentReopened = DomainEvent<'IncidentReopened', { reason: string; at: string }>;
export type IncidentClosed = DomainEvent<'IncidentClosed', { at: string }>;
export type IncidentSeverityChanged = DomainEvent<
  'IncidentSeverityChanged',
  { from: Severity; to: Severity; reason: string | null; at: string }
>;

/** `previousRole` is set when an assigned user changes role, so the timeline shows a change, not a second person. */
export type ResponderAssigned = DomainEvent<
  'ResponderAssigned',
  { userId: string; role: ResponderRole; previousRole: ResponderRole | null; at: string }
>;
/** `handedOverTo` is set when a commander steps down because another user was made commander. */
export type ResponderUnassigned = DomainEvent<
  'ResponderUnassigned',
  { userId: string; role: ResponderRole; handedOverTo: string | null; at: string }
>;

export type IncidentNoteAdded = DomainEvent<'IncidentNoteAdded', { text: string; at: string }>;
/** A public message, as on a status page; notes are internal. */
export type IncidentStatusUpdatePosted = DomainEvent<'IncidentStatusUpdatePosted', { message: string; at: string }>;

export type RemediationStepProposed = DomainEvent<
  'RemediationStepProposed',
  { stepId: string; title: string; description: string | null; command: string | null; by: string; at: string }
>;
export type RemediationStepApproved = DomainEvent<
  'RemediationStepApproved',
  { stepId: string; by: string; at: string }
>;
export type RemediationStepStarted = DomainEvent<'RemediationStepStarted', { stepId: string; by: string; at: string }>;
export type RemediationStepSucceeded = DomainEvent<
  'RemediationStepSucceeded',
  { stepId: string; output: string | null; by: string; at: string }
>;
export type RemediationStepFailed = DomainEvent<
  'RemediationStepFailed',
  { stepId: string; error: string; output: string | null; by: string; at: string }
>;
export type RemediationStepSkipped = DomainEvent<
  'RemediationStepSkipped',
  { stepId: string; reason: string; by: string; at: string }
>;

/** `fingerprint` is Alertmanager's fingerprint or a PagerDuty-style dedup_key. */
export type AlertLinkedToIncident = DomainEvent<'AlertLinkedToIncident', { fingerprint: string; at: string }>;
/** `reason` says why the change is suspected (e.g. "deployed to checkout 4 min before the first alert"). */
export type SuspectChangeLinked = DomainEvent<
  'SuspectChangeLinked',
  { changeId: string; reason: string | null; at: string }
>;

export type IncidentEvent =
  | IncidentDeclared
  | IncidentAcknowledged
  | IncidentMitigated
  | IncidentResolved
  | IncidentReopened
  | IncidentClosed
  | IncidentSeverityChanged
  | ResponderAssigned
  | ResponderUnassigned
  | IncidentNoteAdded
  | IncidentStatusUpdatePosted
  | RemediationStepProposed
  | RemediationStepApproved
  | RemediationStepStarted
  | RemediationStepSucceeded
  | RemediationStepFailed
  | RemediationStepSkipped
  | AlertLinkedToIncident
  | SuspectChangeLinked;

export type IncidentEventType = IncidentEvent['type'];

// A Record, so adding an event type without listing it here fails to compile; projections subscribe with it.
const eventTypes: Record<IncidentEventType, true> = {
  IncidentDeclared: true,
  IncidentAcknowledged: true,
  IncidentMitigated: true,
  IncidentResolved: true,
  IncidentReopened: true,
  IncidentClosed: true,
  IncidentSeverityChanged: true,
  ResponderAssigned: true,
  ResponderUnassigned: true,
  IncidentNoteAdded: true,
  IncidentStatusUpdatePosted: true,
  RemediationStepProposed: true,
  RemediationStepApproved: true,
  RemediationStepStarted: true,
  RemediationStepSucceeded: true,
  RemediationStepFailed: true,
  RemediationStepSkipped: true,
  AlertLinkedToIncident: true,
  SuspectChangeLinked: true,
};
export const INCIDENT_EVENT_TYPES = Object.keys(eventTypes) as readonly IncidentEventType[];
