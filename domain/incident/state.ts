// The incident as a fold of its events. Rich enough to answer `incident(id, asOf)` by replay; the timeline
// itself lives in the events (and the read model), not here.
import type { IncidentEvent, ResponderRole, Severity } from './events.ts';

export const INCIDENT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'MITIGATED', 'RESOLVED', 'CLOSED'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export type RemediationStepStatus = 'PROPOSED' | 'APPROVED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

export interface Responder {
  readonly userId: string;
  readonly role: ResponderRole;
  readonly assignedAt: string;
}

export interface RemediationStep {
  readonly stepId: string;
  readonly title: string;
  readonly description: string | null;
  readonly command: string | null;
  readonly status: RemediationStepStatus;
  readonly proposedBy: string;
  readonly proposedAt: string;
  /** Who moved the step to its current status, and when. */
  readonly updatedBy: string;
  readonly updatedAt: string;
  readonly output: string | null;
  /** The failure's error or the reason for skipping. */
  readonly reason: string | null;
}

/** Before IncidentDeclared there is no incident, only the count of events seen (0). */
export interface NoIncident {
  readonly status: null;
  readonly version: number;
}

export interface Incident {
  readonly id: string;
  readonly status: IncidentStatus;
  readonly title: string;
  readonly summary: string | null;
  readonly severity: Severity;
  readonly services: readonly string[];
  readonly declaredAt: string;
  readonly acknowledgedAt: string | null;
  readonly mitigatedAt: string | null;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
  readonly closedAt: string | null;
  readonly responders: readonly Responder[];
  readonly remediationSteps: readonly RemediationStep[];
  readonly alertFingerprints: readonly string[];
  readonly suspectChangeIds: readonly string[];
  /** Number of events folded, i.e. the stream's version. */
  readonly version: number;
}

export type IncidentState = NoIncident | Incident;

export function initialState(): IncidentState {
  return { status: null, version: 0 };
}

export function evolve(state: IncidentState, event: IncidentEvent): IncidentState {
  if (event.type === 'IncidentDeclared') {
    const { incidentId, title, severity, services, summary, declaredAt } = event.data;
    return {
      id: incidentId,
      status: 'OPEN',
      title,
      summary,
      severity,
      services: [...services],
      declaredAt,
      acknowledgedAt: null,
      mitigatedAt: null,
      resolvedAt: null,
      resolution: null,
      closedAt: null,
      responders: [],
      remediationSteps: [],
      alertFingerprints: [],
      suspectChangeIds: [],
      version: state.version + 1,
    };
  }
  // A stream always starts with IncidentDeclared; evolve stays total rather than throwing on a malformed history.
  if (state.status === null) return { ...state, version: state.version + 1 };
  const incident = { ...state, version: state.version + 1 };
  return apply(incident, event);
}

function apply(incident: Incident, event: Exclude<IncidentEvent, { type: 'IncidentDeclared' }>): Incident {
  switch (event.type) {
    case 'IncidentAcknowledged':
      return { ...incident, status: 'ACKNOWLEDGED', acknowledgedAt: event.data.at };
    case 'IncidentMitigated':
      return { ...incident, status: 'MITIGATED', mitigatedAt: event.data.at };
    case 'IncidentResolved':
      return { ...incident, status: 'RESOLVED', resolvedAt: event.data.at, resolution: event.data.resolution };
    case 'IncidentReopened':
      // Back to OPEN: the fix did not hold, so the incident needs acknowledging (and paging) again.
      return {
        ...incident,
        status: 'OPEN',
        acknowledgedAt: null,
        mitigatedAt: null,
        resolvedAt: null,
        resolution: null,
      };
    case 'IncidentClosed':
      return { ...incident, status: 'CLOSED', closedAt: event.data.at };
    case 'IncidentSeverityChanged':
      return { ...incident, severity: event.data.to };
    case 'ResponderAssigned': {
      const others = incident.responders.filter((r) => r.userId !== event.data.userId);
      const responder = { userId: event.data.userId, role: event.data.role, assignedAt: event.data.at };
      return { ...incident, responders: [...others, responder] };
    }
    case 'ResponderUnassigned':
      return { ...incident, responders: incident.responders.filter((r) => r.userId !== event.data.userId) };
    case 'IncidentNoteAdded':
    case 'IncidentStatusUpdatePosted':
      return incident;
    case 'RemediationStepProposed': {
      const { stepId, title, description, command, by, at } = event.data;
      const step: RemediationStep = {
        stepId,
        title,
        description,
        command,
        status: 'PROPOSED',
        proposedBy: by,
        proposedAt: at,
        updatedBy: by,
        updatedAt: at,
        output: null,
        reason: null,
      };
      return { ...incident, remediationSteps: [...incident.remediationSteps, step] };
    }
    case 'RemediationStepApproved':
      return updateStep(incident, event.data, { status: 'APPROVED' });
    case 'RemediationStepStarted':
      return updateStep(incident, event.data, { status: 'IN_PROGRESS' });
    case 'RemediationStepSucceeded':
      return updateStep(incident, event.data, { status: 'SUCCEEDED', output: event.data.output });
    case 'RemediationStepFailed':
      return updateStep(incident, event.data, {
        status: 'FAILED',
        output: event.data.output,
        reason: event.data.error,
      });
    case 'RemediationStepSkipped':
      return updateStep(incident, event.data, { status: 'SKIPPED', reason: event.data.reason });
    case 'AlertLinkedToIncident':
      return { ...incident, alertFingerprints: [...incident.alertFingerprints, event.data.fingerprint] };
    case 'SuspectChangeLinked':
      return { ...incident, suspectChangeIds: [...incident.suspectChangeIds, event.data.changeId] };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

function updateStep(
  incident: Incident,
  transition: { stepId: string; by: string; at: string },
  change: Pick<RemediationStep, 'status'> & Partial<Pick<RemediationStep, 'output' | 'reason'>>,
): Incident {
  const remediationSteps = incident.remediationSteps.map((step) =>
    step.stepId === transition.stepId
      ? { ...step, ...change, updatedBy: transition.by, updatedAt: transition.at }
      : step,
  );
  return { ...incident, remediationSteps };
}
