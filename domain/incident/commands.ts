// What responders, policies and ingestion can ask of an incident. Ids of new things (the incident, a
// remediation step) come in with the command, so decide stays pure and a retried command is the same command.
import type { DomainCommand } from '../shared/decider.ts';
import type { ResponderRole, Severity } from './events.ts';

export type DeclareIncident = DomainCommand<
  'DeclareIncident',
  { incidentId: string; title: string; severity: Severity; services?: readonly string[]; summary?: string | null }
>;
export type AcknowledgeIncident = DomainCommand<'AcknowledgeIncident', Record<string, never>>;
export type MitigateIncident = DomainCommand<'MitigateIncident', { summary?: string | null }>;
export type ResolveIncident = DomainCommand<'ResolveIncident', { resolution: string }>;
export type ReopenIncident = DomainCommand<'ReopenIncident', { reason: string }>;
export type CloseIncident = DomainCommand<'CloseIncident', Record<string, never>>;
export type ChangeIncidentSeverity = DomainCommand<
  'ChangeIncidentSeverity',
  { severity: Severity; reason?: string | null }
>;
export type AssignResponder = DomainCommand<'AssignResponder', { userId: string; role: ResponderRole }>;
export type UnassignResponder = DomainCommand<'UnassignResponder', { userId: string }>;
export type AddIncidentNote = DomainCommand<'AddIncidentNote', { text: string }>;
export type PostIncidentStatusUpdate = DomainCommand<'PostIncidentStatusUpdate', { message: string }>;
export type ProposeRemediationStep = DomainCommand<
  'ProposeRemediationStep',
  { stepId: string; title: string; description?: string | null; command?: string | null }
>;
export type ApproveRemediationStep = DomainCommand<'ApproveRemediationStep', { stepId: string }>;
export type StartRemediationStep = DomainCommand<'StartRemediationStep', { stepId: string }>;
export type RecordRemediationStepSuccess = DomainCommand<
  'RecordRemediationStepSuccess',
  { stepId: string; output?: string | null }
>;
export type RecordRemediationStepFailure = DomainCommand<
  'RecordRemediationStepFailure',
  { stepId: string; error: string; output?: string | null }
>;
export type SkipRemediationStep = DomainCommand<'SkipRemediationStep', { stepId: string; reason: string }>;
export type LinkAlertToIncident = DomainCommand<'LinkAlertToIncident', { fingerprint: string }>;
export type LinkSuspectChange = DomainCommand<'LinkSuspectChange', { changeId: string; reason?: string | null }>;

export type IncidentCommand =
  | DeclareIncident
  | AcknowledgeIncident
  | MitigateIncident
  | ResolveIncident
  | ReopenIncident
  | CloseIncident
  | ChangeIncidentSeverity
  | AssignResponder
  | UnassignResponder
  | AddIncidentNote
  | PostIncidentStatusUpdate
  | ProposeRemediationStep
  | ApproveRemediationStep
  | StartRemediationStep
  | RecordRemediationStepSuccess
  | RecordRemediationStepFailure
  | SkipRemediationStep
  | LinkAlertToIncident
  | LinkSuspectChange;

export type IncidentCommandType = IncidentCommand['type'];
