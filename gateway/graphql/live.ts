// Resolvers of live.graphql: the subscription hands queries/live-events.ts' iterator to graphql as it is, so that an
// unsubscribe reaches it at once; each event becomes an envelope in `resolve`.
import { ValidationError } from '../../domain/shared/errors.ts';
import { liveEvents, type LiveEvent } from '../../queries/live-events.ts';
import { requireRole } from '../auth/roles.ts';
import { eventEnvelope } from './base.ts';
import type { Resolvers } from './context.ts';

const MAX_STREAM_PREFIX_LENGTH = 256;
const MAX_TYPES = 100;

interface EventsArgs {
  after?: string | null;
  streamPrefix?: string | null;
  types?: string[] | null;
}

export const resolvers: Resolvers = {
  Subscription: {
    events: {
      subscribe(_root: unknown, { after, streamPrefix, types }: EventsArgs, context) {
        const { tenant } = requireRole(context, 'read');
        if (streamPrefix != null && streamPrefix.length > MAX_STREAM_PREFIX_LENGTH) {
          throw new ValidationError('streamPrefix', `is longer than ${MAX_STREAM_PREFIX_LENGTH} characters`);
        }
        if (types != null && types.length > MAX_TYPES) {
          throw new ValidationError('types', `lists ${types.length} types; at most ${MAX_TYPES} allowed`);
        }
        const { eventStore, bus } = context.services;
        return liveEvents({
          store: eventStore,
          bus,
          tenant,
          after: after ?? undefined,
          filter: { streamPrefix: streamPrefix ?? undefined, types: types ?? undefined },
        });
      },
      resolve: ({ event }: LiveEvent, _args: unknown, context) =>
        eventEnvelope(requireRole(context, 'read').tenant, event),
    },
  },
};
