// Entry points for incident commands, called by GraphQL resolvers and policies: each builds its command with
// the clock and actor, and runs it through the one generic handler against the incident's stream.
import { v7 as uuidv7 } from 'uuid';
import {
  incidentDecider,
  IncidentNotFoundError,
  type Incident,
  type IncidentCommand,
  type ResponderRole,
  type Severity,
} from '../domain/incident/index.ts';
import type { EventStore, Position, StoredEvent } from '../infra/eventstore/port.ts';
import { qualify, streamIdOf } from '../infra/eventstore/stream-name.ts';
import { commandMetadata, decisionMetadata, type CommandContext } from './context.ts';
import { handleCommand } from './handler.ts';

export const INCIDENT_CATEGORY = 'incident';

/** Which incident, and optionally the version the caller saw (a mismatch is a ConcurrencyError). */
export interface IncidentTarget {
  incidentId: string;
  expectedVersion?: number;
}

export interface IncidentCommandResult {
  incidentId: string;
  /** Client-visible stream id, `incident-<id>`. */
  streamId: string;
  incident: Incident;
  events: StoredEvent[];
  version: number;
  /** Cursor of the incident's last event, for `consistentWith`. */
  cursor: Position;
}

export function incidentStreamId(tenantId: string, incidentId: string): string {
  return qualify(tenantId, streamIdOf(INCIDENT_CATEGORY, incidentId));
}

type CommandWithoutMetadata<C> = C extends IncidentCommand ? Omit<C, 'metadata'> : never;

async function run(
  store: EventStore,
  context: CommandContext,
  target: IncidentTarget,
  command: CommandWithoutMetadata<IncidentCommand>,
  commandReason?: string | null,
): Promise<IncidentCommandResult> {
  const full: IncidentCommand = { ...command, metadata: decisionMetadata(context) };
  const storeStreamId = incidentStreamId(context.tenantId, target.incidentId);
  const result = await handleCommand(store, incidentDecider, storeStreamId, full, {
    expectedVersion: target.expectedVersion,
    metadata: commandMetadata(context, uuidv7(), commandReason),
  });
  // decide refuses every command but a declaration on a missing incident, so this only narrows the type.
  if (result.state.status === null) throw new IncidentNotFoundError(command.type);
  return {
    incidentId: target.incidentId,
    streamId: streamIdOf(INCIDENT_CATEGORY, target.incidentId),
    incident: result.state,
    events: result.events,
    version: result.version,
    cursor: result.position,
  };
}

export interface DeclareIncidentInput {
  title: string;
  severity: Severity;
  services?: readonly string[] | null;
  summary?: string | null;
}

/** Declares a new incident under a fresh UUID v7 (ids sort by declaration time). */
export function declareIncident(
  store: EventStore,
  context: CommandContext,
  input: DeclareIncidentInput,
): Promise<IncidentCommandResult> {
  const incidentId = uuidv7();
  const { title, severity, services, summary } = input;
  // Version 0: the stream must not exist yet.
  return run(store, context, { incidentId, expectedVersion: 0 }, {
    type: 'DeclareIncident',
    data: { incidentId, title, severity, services: services ?? [], summary },
  });
}

export function acknowledgeIncident(
  store: EventStore,
  context: CommandContext,
  target: IncidentTarget,
): Promise<IncidentCommandResult> {
  return run(store, context, target, { type: 'AcknowledgeIncident', data: {} });
}

export function mitigateIncident(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { summary?: string | null },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'MitigateIncident', data: { summary: input.summary } });
}

export function resolveIncident(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { resolution: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'ResolveIncident', data: { resolution: input.resolution } });
}

export function reopenIncident(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { reason: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'ReopenIncident', data: { reason: input.reason } }, input.reason);
}

export function closeIncident(
  store: EventStore,
  context: CommandContext,
  target: IncidentTarget,
): Promise<IncidentCommandResult> {
  return run(store, context, target, { type: 'CloseIncident', data: {} });
}

export function changeIncidentSeverity(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { severity: Severity; reason?: string | null },
): Promise<IncidentCommandResult> {
  const data = { severity: input.severity, reason: input.reason };
  return run(store, context, input, { type: 'ChangeIncidentSeverity', data }, input.reason);
}

export function assignResponder(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { userId: string; role: ResponderRole },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'AssignResponder', data: { userId: input.userId, role: input.role } });
}

export function unassignResponder(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { userId: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'UnassignResponder', data: { userId: input.userId } });
}

export function addIncidentNote(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { text: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'AddIncidentNote', data: { text: input.text } });
}

export function postIncidentStatusUpdate(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { message: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'PostIncidentStatusUpdate', data: { message: input.message } });
}

/** Proposes a step under a fresh UUID v7, returned as `stepId` for the transitions that follow. */
export async function proposeRemediationStep(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { title: string; description?: string | null; command?: string | null },
): Promise<IncidentCommandResult & { stepId: string }> {
  const stepId = uuidv7();
  const data = { stepId, title: input.title, description: input.description, command: input.command };
  return { ...(await run(store, context, input, { type: 'ProposeRemediationStep', data })), stepId };
}

export function approveRemediationStep(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { stepId: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'ApproveRemediationStep', data: { stepId: input.stepId } });
}

export function startRemediationStep(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { stepId: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'StartRemediationStep', data: { stepId: input.stepId } });
}

export function recordRemediationStepSuccess(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { stepId: string; output?: string | null },
): Promise<IncidentCommandResult> {
  const data = { stepId: input.stepId, output: input.output };
  return run(store, context, input, { type: 'RecordRemediationStepSuccess', data });
}

export function recordRemediationStepFailure(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { stepId: string; error: string; output?: string | null },
): Promise<IncidentCommandResult> {
  const data = { stepId: input.stepId, error: input.error, output: input.output };
  return run(store, context, input, { type: 'RecordRemediationStepFailure', data });
}

export function skipRemediationStep(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { stepId: string; reason: string },
): Promise<IncidentCommandResult> {
  const data = { stepId: input.stepId, reason: input.reason };
  return run(store, context, input, { type: 'SkipRemediationStep', data }, input.reason);
}

export function linkAlertToIncident(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { fingerprint: string },
): Promise<IncidentCommandResult> {
  return run(store, context, input, { type: 'LinkAlertToIncident', data: { fingerprint: input.fingerprint } });
}

export function linkSuspectChange(
  store: EventStore,
  context: CommandContext,
  input: IncidentTarget & { changeId: string; reason?: string | null },
): Promise<IncidentCommandResult> {
  const data = { changeId: input.changeId, reason: input.reason };
  return run(store, context, input, { type: 'LinkSuspectChange', data });
}
