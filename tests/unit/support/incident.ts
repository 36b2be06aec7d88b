// Builders for incident commands and events with a fixed clock and actor, so tests read as the timeline does.
import type {
  IncidentCommand,
  IncidentEvent,
  IncidentStatus,
  ResponderRole,
  Severity,
} from '../../../domain/incident/index.ts';
import { incidentDecider } from '../../../domain/incident/index.ts';
import { deciderSpec } from './given-when-then.ts';

export const given = deciderSpec(incidentDecider);

export const NOW = '2025-03-01T10:00:00.000Z';
export const ACTOR = 'alice';
export const INCIDENT_ID = '0195a1b2-0000-7000-8000-000000000001';
const metadata = { now: NOW, actorId: ACTOR };

type CommandOf<T extends IncidentCommand['type']> = Extract<IncidentCommand, { type: T }>;
type EventOf<T extends IncidentEvent['type']> = Extract<IncidentEvent, { type: T }>;

// Commands

export function declare(data: Partial<CommandOf<'DeclareIncident'>['data']> = {}): CommandOf<'DeclareIncident'> {
  const defaults = { incidentId: INCIDENT_ID, title: 'Checkout errors', severity: 'SEV2' as const };
  return { type: 'DeclareIncident', data: { ...defaults, services: ['checkout'], ...data }, metadata };
}
export const acknowledge = (): CommandOf<'AcknowledgeIncident'> => ({
  type: 'AcknowledgeIncident',
  data: {},
  metadata,
});
export const mitigate = (summary?: string | null): CommandOf<'MitigateIncident'> => ({
  type: 'MitigateIncident',
  data: { summary },
  metadata,
});
export const resolve = (resolution = 'rolled back'): CommandOf<'ResolveIncident'> => ({
  type: 'ResolveIncident',
  data: { resolution },
  metadata,
});
export const reopen = (reason = 'errors are back'): CommandOf<'ReopenIncident'> => ({
  type: 'ReopenIncident',
  data: { reason },
  metadata,
});
export const close = (): CommandOf<'CloseIncident'> => ({ type: 'CloseIncident', data: {}, metadata });
export const changeSeverity = (severity: Severity, reason?: string): CommandOf<'ChangeIncidentSeverity'> => ({
  type: 'ChangeIncidentSeverity',
  data: { severity, reason },
  metadata,
});
export const assign = (userId: string, role: ResponderRole): CommandOf<'AssignResponder'> => ({
  type: 'AssignResponder',
  data: { userId, role },
  metadata,
});
export const unassign = (userId: string): CommandOf<'UnassignResponder'> => ({
  type: 'UnassignResponder',
  data: { userId },
  metadata,
});
export const addNote = (text: string): CommandOf<'AddIncidentNote'> => ({
  type: 'AddIncidentNote',
  data: { text },
  metadata,
});
export const postStatusUpdate = (message: string): CommandOf<'PostIncidentStatusUpdate'> => ({
  type: 'PostIncidentStatusUpdate',
  data: { message },
  metadata,
});
export const propose = (
  stepId: string,
  extra: Partial<CommandOf<'ProposeRemediationStep'>['data']> = {},
): CommandOf<'ProposeRemediationStep'> => ({
  type: 'ProposeRemediationStep',
  data: { stepId, title: 'Roll back checkout', ...extra },
  metadata,
});
export const approve = (stepId: string): CommandOf<'ApproveRemediationStep'> => ({
  type: 'ApproveRemediationStep',
  data: { stepId },
  metadata,
});
export const start = (stepId: string): CommandOf<'StartRemediationStep'> => ({
  type: 'StartRemediationStep',
  data: { stepId },
  metadata,
});
export const recordSuccess = (stepId: string, output?: string): CommandOf<'RecordRemediationStepSuccess'> => ({
  type: 'RecordRemediationStepSuccess',
  data: { stepId, output },
  metadata,
});
export const recordFailure = (
  stepId: string,
  error: string,
  output?: string,
): CommandOf<'RecordRemediationStepFailure'> => ({
  type: 'RecordRemediationStepFailure',
  data: { stepId, error, output },
  metadata,
});
export const skip = (stepId: string, reason = 'not needed'): CommandOf<'SkipRemediationStep'> => ({
  type: 'SkipRemediationStep',
  data: { stepId, reason },
  metadata,
});
export const linkAlert = (fingerprint: string): CommandOf<'LinkAlertToIncident'> => ({
  type: 'LinkAlertToIncident',
  data: { fingerprint },
  metadata,
});
export const linkChange = (changeId: string, reason?: string): CommandOf<'LinkSuspectChange'> => ({
  type: 'LinkSuspectChange',
  data: { changeId, reason },
  metadata,
});

// Events

export function declared(data: Partial<EventOf<'IncidentDeclared'>['data']> = {}): EventOf<'IncidentDeclared'> {
  const defaults = { incidentId: INCIDENT_ID, title: 'Checkout errors', severity: 'SEV2' as const };
  return {
    type: 'IncidentDeclared',
    data: { ...defaults, services: ['checkout'], summary: null, declaredAt: NOW, ...data },
  };
}
export const acknowledged = (): EventOf<'IncidentAcknowledged'> => ({
  type: 'IncidentAcknowledged',
  data: { at: NOW },
});
export const mitigated = (summary: string | null = null): EventOf<'IncidentMitigated'> => ({
  type: 'IncidentMitigated',
  data: { summary, at: NOW },
});
export const resolved = (resolution = 'rolled back'): EventOf<'IncidentResolved'> => ({
  type: 'IncidentResolved',
  data: { resolution, at: NOW },
});
export const reopened = (reason = 'errors are back'): EventOf<'IncidentReopened'> => ({
  type: 'IncidentReopened',
  data: { reason, at: NOW },
});
export const closed = (): EventOf<'IncidentClosed'> => ({ type: 'IncidentClosed', data: { at: NOW } });
export const severityChanged = (
  from: Severity,
  to: Severity,
  reason: string | null = null,
): EventOf<'IncidentSeverityChanged'> => ({ type: 'IncidentSeverityChanged', data: { from, to, reason, at: NOW } });
export const assigned = (
  userId: string,
  role: ResponderRole,
  previousRole: ResponderRole | null = null,
): EventOf<'ResponderAssigned'> => ({ type: 'ResponderAssigned', data: { userId, role, previousRole, at: NOW } });
export const unassigned = (
  userId: string,
  role: ResponderRole,
  handedOverTo: string | null = null,
): EventOf<'ResponderUnassigned'> => ({ type: 'ResponderUnassigned', data: { userId, role, handedOverTo, at: NOW } });
export const noteAdded = (text: string): EventOf<'IncidentNoteAdded'> => ({
  type: 'IncidentNoteAdded',
  data: { text, at: NOW },
});
export const statusUpdatePosted = (message: string): EventOf<'IncidentStatusUpdatePosted'> => ({
  type: 'IncidentStatusUpdatePosted',
  data: { message, at: NOW },
});
export const stepProposed = (
  stepId: string,
  extra: Partial<EventOf<'RemediationStepProposed'>['data']> = {},
): EventOf<'RemediationStepProposed'> => ({
  type: 'RemediationStepProposed',
  data: { stepId, title: 'Roll back checkout', description: null, command: null, by: ACTOR, at: NOW, ...extra },
});
export const stepApproved = (stepId: string): EventOf<'RemediationStepApproved'> => ({
  type: 'RemediationStepApproved',
  data: { stepId, by: ACTOR, at: NOW },
});
export const stepStarted = (stepId: string): EventOf<'RemediationStepStarted'> => ({
  type: 'RemediationStepStarted',
  data: { stepId, by: ACTOR, at: NOW },
});
export const stepSucceeded = (stepId: string, output: string | null = null): EventOf<'RemediationStepSucceeded'> => ({
  type: 'RemediationStepSucceeded',
  data: { stepId, output, by: ACTOR, at: NOW },
});
export const stepFailed = (
  stepId: string,
  error: string,
  output: string | null = null,
): EventOf<'RemediationStepFailed'> => ({
  type: 'RemediationStepFailed',
  data: { stepId, error, output, by: ACTOR, at: NOW },
});
export const stepSkipped = (stepId: string, reason = 'not needed'): EventOf<'RemediationStepSkipped'> => ({
  type: 'RemediationStepSkipped',
  data: { stepId, reason, by: ACTOR, at: NOW },
});
export const alertLinked = (fingerprint: string): EventOf<'AlertLinkedToIncident'> => ({
  type: 'AlertLinkedToIncident',
  data: { fingerprint, at: NOW },
});
export const changeLinked = (changeId: string, reason: string | null = null): EventOf<'SuspectChangeLinked'> => ({
  type: 'SuspectChangeLinked',
  data: { changeId, reason, at: NOW },
});

/** A shortest history that leaves the incident in each status. */
export const historyIn: Record<IncidentStatus, IncidentEvent[]> = {
  OPEN: [declared()],
  ACKNOWLEDGED: [declared(), acknowledged()],
  MITIGATED: [declared(), acknowledged(), mitigated()],
  RESOLVED: [declared(), resolved()],
  CLOSED: [declared(), resolved(), closed()],
};
