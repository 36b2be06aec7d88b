// Resolvers of base.graphql: the shared scalars and `viewer`.
import { requireRole } from '../auth/roles.ts';
import type { Resolvers } from './context.ts';
import { Cursor, DateTime, JSONScalar } from './scalars.ts';

export const resolvers: Resolvers = {
  Cursor,
  DateTime,
  JSON: JSONScalar,
  Query: {
    viewer(_root, _args, context) {
      const { sub, tenant, roles } = requireRole(context, 'read');
      return { id: sub, tenant, roles: roles.map((role) => role.toUpperCase()) };
    },
  },
};
