// Resolvers of base.graphql: the shared scalars, `viewer`, and the shapes other modules build on.
import type { Actor, StoredEvent } from '../../infra/eventstore/port.ts';
import { unqualify } from '../../infra/eventstore/stream-name.ts';
import { requireRole } from '../auth/roles.ts';
import type { Resolvers } from './context.ts';
import { Cursor, DateTime, JSONScalar } from './scalars.ts';

/** The EventEnvelope of a stored event of `tenant` (its stream id without the tenant). */
export function eventEnvelope(tenant: string, event: StoredEvent) {
  return {
    cursor: event.position,
    streamId: unqualify(tenant, event.streamId) ?? event.streamId,
    revision: Number(event.revision),
    type: event.type,
    occurredAt: event.recordedAt,
    actor: event.metadata.actor,
    data: event.data,
    reason: event.metadata.reason ?? null,
  };
}

export const resolvers: Resolvers = {
  Cursor,
  DateTime,
  JSON: JSONScalar,
  Actor: {
    kind: (actor: Pick<Actor, 'kind'>) => actor.kind.toUpperCase(),
  },
  Query: {
    viewer(_root, _args, context) {
      const { sub, tenant, roles } = requireRole(context, 'read');
      return { id: sub, tenant, roles: roles.map((role) => role.toUpperCase()) };
    },
  },
};
