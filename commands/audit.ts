// Entry points for auditors' reads, called by the audit resolvers: verify a stream's hash chain, and record every
// read (the trail's pages and each verification) in the auditor's own stream `audit-<sub>` of the tenant, through
// the one generic handler. A read is answered only once its record is stored, so no look goes unlogged.
import { v7 as uuidv7 } from 'uuid';
import { auditDecider, type AuditCommand, type AuditTrailFilter } from '../domain/audit/index.ts';
import { NotFoundError } from '../domain/shared/errors.ts';
import { verifyStream, type StreamVerification } from '../infra/eventstore/hash-chain.ts';
import type { EventStore } from '../infra/eventstore/port.ts';
import { qualify, streamIdOf } from '../infra/eventstore/stream-name.ts';
import { handleCommand } from './handler.ts';
import { commandMetadata, decisionMetadata, type CommandContext } from './context.ts';

const AUDIT_CATEGORY = 'audit';

export class StreamNotFoundError extends NotFoundError {
  override name = 'StreamNotFoundError';
  constructor(readonly streamId: string) {
    super(`stream ${streamId} has no events`);
  }
}

/** The auditor's own stream: every read of one auditor (the token's `sub`) in one tenant. */
function auditStreamId(tenantId: string, auditorId: string): string {
  return qualify(tenantId, streamIdOf(AUDIT_CATEGORY, auditorId));
}

type CommandWithoutMetadata<C> = C extends AuditCommand ? Omit<C, 'metadata'> : never;

/** Appends the record of one read; resolves once it is stored. */
async function record(
  store: EventStore,
  context: CommandContext,
  command: CommandWithoutMetadata<AuditCommand>,
): Promise<void> {
  const full: AuditCommand = { ...command, metadata: decisionMetadata(context) };
  // No expected version: reads of one auditor in parallel are independent facts, so a conflict is just retried.
  await handleCommand(store, auditDecider, auditStreamId(context.tenantId, context.actor.id), full, {
    metadata: commandMetadata(context, uuidv7()),
  });
}

export interface AuditTrailPage {
  filter: AuditTrailFilter;
  returned: number;
  endCursor: string | null;
  hasNextPage: boolean;
}

/** Records that the auditor was handed one page of the audit trail. */
export function recordAuditTrailRead(store: EventStore, context: CommandContext, page: AuditTrailPage): Promise<void> {
  return record(store, context, { type: 'RecordAuditTrailRead', data: page });
}

/** Records that an auditor was shown one incident, now or as of an instant (time travel). */
export function recordIncidentRead(
  store: EventStore,
  context: CommandContext,
  read: { incidentId: string; asOf: Date | null; found: boolean },
): Promise<void> {
  const asOf = read.asOf === null ? null : read.asOf.toISOString();
  return record(store, context, { type: 'RecordIncidentRead', data: { ...read, asOf } });
}

/**
 * Checks the hash chain of one of the tenant's streams (`streamId` as clients see it) as the store holds it now,
 * and records the verification and its outcome. A stream without events is NOT_FOUND rather than vacuously ok.
 */
export async function verifyTenantStream(
  store: EventStore,
  context: CommandContext,
  streamId: string,
): Promise<StreamVerification> {
  const verification = await verifyStream(store.readStream(qualify(context.tenantId, streamId)));
  if (verification.events === 0) throw new StreamNotFoundError(streamId);
  await record(store, context, { type: 'RecordStreamVerification', data: { streamId, ...verification } });
  return verification;
}
