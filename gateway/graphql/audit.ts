// Resolvers of audit.graphql: thin over queries/audit.ts (the trail) and commands/audit.ts (verification, and the
// record of every read, stored before the answer leaves).
import { recordAuditTrailRead, verifyTenantStream } from '../../commands/audit.ts';
import type { StoredEvent } from '../../infra/eventstore/port.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';
import { AUDIT_LOG_PROJECTION } from '../../projections/audit-log.ts';
import { auditTrail, type AuditEntry, type AuditTrailArgs } from '../../queries/audit.ts';
import { requireRole } from '../auth/roles.ts';
import { eventEnvelope } from './base.ts';
import type { Resolvers } from './context.ts';
import { commandContext, readModelsConsistentWith } from './request.ts';

interface AuditTrailArguments extends AuditTrailArgs {
  consistentWith?: string | null;
}

/** The audit log keeps each event whole, so an entry becomes the very envelope the live feed sends for it. */
function storedEvent(tenant: string, entry: AuditEntry): StoredEvent {
  const { eventId, cursor, streamId, revision, type, recordedAt, data, metadata } = entry;
  return {
    id: eventId,
    type,
    streamId: qualify(tenant, streamId),
    revision: BigInt(revision),
    position: cursor,
    recordedAt,
    data,
    metadata,
  };
}

export const resolvers: Resolvers = {
  Query: {
    async auditTrail(_root, args: AuditTrailArguments, context) {
      const auditor = requireRole(context, 'audit:read');
      const { consistentWith, ...filter } = args;
      if (consistentWith !== undefined && consistentWith !== null) {
        await readModelsConsistentWith(context, consistentWith, [AUDIT_LOG_PROJECTION]);
      }
      const page = await auditTrail(context.services.readDb, auditor.tenant, filter);
      await recordAuditTrailRead(context.services.eventStore, commandContext(auditor, context), {
        filter: {
          streamId: filter.streamId ?? null,
          actor: filter.actor ?? null,
          from: filter.from?.toISOString() ?? null,
          to: filter.to?.toISOString() ?? null,
          first: filter.first ?? null,
          after: filter.after ?? null,
        },
        returned: page.edges.length,
        endCursor: page.pageInfo.endCursor,
        hasNextPage: page.pageInfo.hasNextPage,
      });
      const { tenant } = auditor;
      const edges = page.edges.map(({ cursor, node }) => ({ cursor, node: eventEnvelope(tenant, storedEvent(tenant, node)) }));
      return { edges, pageInfo: page.pageInfo };
    },

    verifyStream(_root, { streamId }: { streamId: string }, context) {
      const auditor = requireRole(context, 'audit:read');
      return verifyTenantStream(context.services.eventStore, commandContext(auditor, context), streamId);
    },
  },
};
