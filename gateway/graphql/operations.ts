// Resolvers of operations.graphql.
import { requireRole } from '../auth/roles.ts';
import type { Resolvers } from './context.ts';

export const resolvers: Resolvers = {
  Query: {
    async projections(_root, _args, context) {
      requireRole(context, 'operate');
      const statuses = await context.services.engine.status();
      return statuses.map((status) => ({ ...status, state: status.state.toUpperCase().replace('-', '_') }));
    },
  },
};
