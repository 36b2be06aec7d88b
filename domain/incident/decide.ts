// The incident's rules. Lifecycle (DESIGN.md): OPEN → ACKNOWLEDGED → MITIGATED → RESOLVED → CLOSED, where
// acknowledging and mitigating are optional, reopening takes a RESOLVED incident back to OPEN, and a CLOSED
// incident accepts only notes (postmortem follow-ups, as PagerDuty allows notes on finished incidents).
import { IllegalTransitionError, ValidationError } from '../shared/errors.ts';
import { optionalText, requireInstant, requireName, requireOneOf, requireText } from '../shared/validation.ts';
import type { IncidentCommand, IncidentCommandType } from './commands.ts';
import { IncidentNotFoundError, RemediationStepNotFoundError, ResponderNotFoundError } from './errors.ts';
import { RESPONDER_ROLES, SEVERITIES, type IncidentEvent } from './events.ts';
import type { Incident, IncidentState, IncidentStatus, RemediationStep, RemediationStepStatus } from './state.ts';

const TITLE_MAX = 200;
const NAME_MAX = 255;
const TEXT_MAX = 10_000;
/** Command output is kept for the audit trail but bounded: a runaway log belongs in the log store. */
const OUTPUT_MAX = 65_536;

const ACTIVE: readonly IncidentStatus[] = ['OPEN', 'ACKNOWLEDGED', 'MITIGATED'];
const NOT_CLOSED: readonly IncidentStatus[] = ['OPEN', 'ACKNOWLEDGED', 'MITIGATED', 'RESOLVED'];

/** How each command is named in refusal messages ("incident is RESOLVED; acknowledge needs OPEN"). */
const VERBS: Record<IncidentCommandType, string> = {
  DeclareIncident: 'declare',
  AcknowledgeIncident: 'acknowledge',
  MitigateIncident: 'mitigate',
  ResolveIncident: 'resolve',
  ReopenIncident: 'reopen',
  CloseIncident: 'close',
  ChangeIncidentSeverity: 'change severity',
  AssignResponder: 'assign responder',
  UnassignResponder: 'unassign responder',
  AddIncidentNote: 'add note',
  PostIncidentStatusUpdate: 'post status update',
  ProposeRemediationStep: 'propose remediation step',
  ApproveRemediationStep: 'approve',
  StartRemediationStep: 'start',
  RecordRemediationStepSuccess: 'record success',
  RecordRemediationStepFailure: 'record failure',
  SkipRemediationStep: 'skip',
  LinkAlertToIncident: 'link alert',
  LinkSuspectChange: 'link suspect change',
};

export function decide(command: IncidentCommand, state: IncidentState): IncidentEvent[] {
  const at = requireInstant('now', command.metadata.now);
  const by = requireName('actorId', command.metadata.actorId, NAME_MAX);
  const verb = VERBS[command.type];

  if (command.type === 'DeclareIncident') {
    if (state.status !== null) throw new IllegalTransitionError('incident', state.status, verb, 'a new incident id');
    const { data } = command;
    return [
      {
        type: 'IncidentDeclared',
        data: {
          incidentId: requireName('incidentId', data.incidentId, NAME_MAX),
          title: requireName('title', data.title, TITLE_MAX),
          severity: requireOneOf('severity', data.severity, SEVERITIES),
          services: uniqueServices(data.services ?? []),
          summary: optionalText('summary', data.summary, TEXT_MAX),
          declaredAt: at,
        },
      },
    ];
  }
  if (state.status === null) throw new IncidentNotFoundError(verb);
  const incident = state;

  switch (command.type) {
    case 'AcknowledgeIncident':
      // Idempotent: two responders acknowledging the same page is one acknowledgement.
      if (incident.status === 'ACKNOWLEDGED') return [];
      requireStatus(incident, verb, ['OPEN']);
      return [{ type: 'IncidentAcknowledged', data: { at } }];

    case 'MitigateIncident':
      requireStatus(incident, verb, ['OPEN', 'ACKNOWLEDGED']);
      return [
        { type: 'IncidentMitigated', data: { summary: optionalText('summary', command.data.summary, TEXT_MAX), at } },
      ];

    case 'ResolveIncident':
      requireStatus(incident, verb, ACTIVE);
      return [
        {
          type: 'IncidentResolved',
          data: { resolution: requireText('resolution', command.data.resolution, TEXT_MAX), at },
        },
      ];

    case 'ReopenIncident':
      requireStatus(incident, verb, ['RESOLVED']);
      return [{ type: 'IncidentReopened', data: { reason: requireText('reason', command.data.reason, TEXT_MAX), at } }];

    case 'CloseIncident': {
      requireStatus(incident, verb, ['RESOLVED']);
      // Closing makes the record final, and outcomes are refused after that: a running step must report first.
      const running = incident.remediationSteps.find((step) => step.status === 'IN_PROGRESS');
      if (running) {
        throw new IllegalTransitionError(
          `remediation step ${running.stepId}`,
          running.status,
          verb,
          'every started step finished (record its success or failure first)',
        );
      }
      return [{ type: 'IncidentClosed', data: { at } }];
    }

    case 'ChangeIncidentSeverity': {
      requireStatus(incident, verb, NOT_CLOSED);
      const to = requireOneOf('severity', command.data.severity, SEVERITIES);
      if (to === incident.severity) {
        throw new ValidationError('severity', `incident is already ${to}; choose a different severity`);
      }
      const reason = optionalText('reason', command.data.reason, TEXT_MAX);
      return [{ type: 'IncidentSeverityChanged', data: { from: incident.severity, to, reason, at } }];
    }

    case 'AssignResponder': {
      requireStatus(incident, verb, NOT_CLOSED);
      const userId = requireName('userId', command.data.userId, NAME_MAX);
      const role = requireOneOf('role', command.data.role, RESPONDER_ROLES);
      const current = incident.responders.find((responder) => responder.userId === userId);
      if (current?.role === role) return [];
      const events: IncidentEvent[] = [];
      const commander = incident.responders.find((responder) => responder.role === 'COMMANDER');
      // At most one commander: a new one is a handover, and the timeline shows the old commander stepping down.
      if (role === 'COMMANDER' && commander) {
        events.push({
          type: 'ResponderUnassigned',
          data: { userId: commander.userId, role: 'COMMANDER', handedOverTo: userId, at },
        });
      }
      events.push({ type: 'ResponderAssigned', data: { userId, role, previousRole: current?.role ?? null, at } });
      return events;
    }

    case 'UnassignResponder': {
      requireStatus(incident, verb, NOT_CLOSED);
      const userId = requireName('userId', command.data.userId, NAME_MAX);
      const responder = incident.responders.find((candidate) => candidate.userId === userId);
      if (!responder) throw new ResponderNotFoundError(userId);
      return [{ type: 'ResponderUnassigned', data: { userId, role: responder.role, handedOverTo: null, at } }];
    }

    case 'AddIncidentNote':
      return [{ type: 'IncidentNoteAdded', data: { text: requireText('text', command.data.text, TEXT_MAX), at } }];

    case 'PostIncidentStatusUpdate':
      requireStatus(incident, verb, NOT_CLOSED);
      return [
        {
          type: 'IncidentStatusUpdatePosted',
          data: { message: requireText('message', command.data.message, TEXT_MAX), at },
        },
      ];

    case 'ProposeRemediationStep': {
      requireStatus(incident, verb, ACTIVE);
      const stepId = requireName('stepId', command.data.stepId, NAME_MAX);
      if (incident.remediationSteps.some((step) => step.stepId === stepId)) {
        throw new ValidationError('stepId', `remediation step ${stepId} already exists; use a new id`);
      }
      return [
        {
          type: 'RemediationStepProposed',
          data: {
            stepId,
            title: requireName('title', command.data.title, TITLE_MAX),
            description: optionalText('description', command.data.description, TEXT_MAX),
            command: optionalText('command', command.data.command, TEXT_MAX),
            by,
            at,
          },
        },
      ];
    }

    case 'ApproveRemediationStep': {
      requireStatus(incident, verb, ACTIVE);
      const step = requireStep(incident, command.data.stepId, verb, ['PROPOSED']);
      return [{ type: 'RemediationStepApproved', data: { stepId: step.stepId, by, at } }];
    }

    case 'StartRemediationStep': {
      requireStatus(incident, verb, ACTIVE);
      const step = requireStep(incident, command.data.stepId, verb, ['APPROVED']);
      return [{ type: 'RemediationStepStarted', data: { stepId: step.stepId, by, at } }];
    }

    // Outcomes are accepted on a RESOLVED incident too: a step may finish after the incident was resolved.
    case 'RecordRemediationStepSuccess': {
      requireStatus(incident, verb, NOT_CLOSED);
      const step = requireStep(incident, command.data.stepId, verb, ['IN_PROGRESS']);
      const output = optionalText('output', command.data.output, OUTPUT_MAX);
      return [{ type: 'RemediationStepSucceeded', data: { stepId: step.stepId, output, by, at } }];
    }

    case 'RecordRemediationStepFailure': {
      requireStatus(incident, verb, NOT_CLOSED);
      const step = requireStep(incident, command.data.stepId, verb, ['IN_PROGRESS']);
      const error = requireText('error', command.data.error, TEXT_MAX);
      const output = optionalText('output', command.data.output, OUTPUT_MAX);
      return [{ type: 'RemediationStepFailed', data: { stepId: step.stepId, error, output, by, at } }];
    }

    case 'SkipRemediationStep': {
      requireStatus(incident, verb, NOT_CLOSED);
      const step = requireStep(incident, command.data.stepId, verb, ['PROPOSED', 'APPROVED']);
      const reason = requireText('reason', command.data.reason, TEXT_MAX);
      return [{ type: 'RemediationStepSkipped', data: { stepId: step.stepId, reason, by, at } }];
    }

    case 'LinkAlertToIncident': {
      requireStatus(incident, verb, NOT_CLOSED);
      const fingerprint = requireName('fingerprint', command.data.fingerprint, NAME_MAX);
      // Idempotent: Alertmanager re-sends firing alerts on every group interval.
      if (incident.alertFingerprints.includes(fingerprint)) return [];
      return [{ type: 'AlertLinkedToIncident', data: { fingerprint, at } }];
    }

    case 'LinkSuspectChange': {
      requireStatus(incident, verb, NOT_CLOSED);
      const changeId = requireName('changeId', command.data.changeId, NAME_MAX);
      if (incident.suspectChangeIds.includes(changeId)) return [];
      const reason = optionalText('reason', command.data.reason, TEXT_MAX);
      return [{ type: 'SuspectChangeLinked', data: { changeId, reason, at } }];
    }

    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}

function requireStatus(incident: Incident, verb: string, allowed: readonly IncidentStatus[]): void {
  if (allowed.includes(incident.status)) return;
  const needs =
    allowed === NOT_CLOSED ? 'an incident that is not CLOSED (a closed incident accepts only notes)' : orList(allowed);
  throw new IllegalTransitionError('incident', incident.status, verb, needs);
}

function requireStep(
  incident: Incident,
  stepId: string,
  verb: string,
  allowed: readonly RemediationStepStatus[],
): RemediationStep {
  const step = incident.remediationSteps.find((candidate) => candidate.stepId === stepId);
  if (!step) throw new RemediationStepNotFoundError(stepId);
  if (!allowed.includes(step.status)) {
    throw new IllegalTransitionError(`remediation step ${stepId}`, step.status, verb, orList(allowed));
  }
  return step;
}

function uniqueServices(services: readonly string[]): string[] {
  const names = services.map((service) => requireName('services', service, NAME_MAX));
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new ValidationError('services', `${JSON.stringify(duplicate)} is listed twice`);
  return names;
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
