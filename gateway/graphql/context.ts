// The contract between the GraphQL plugin and resolver modules (gateway/graphql/<name>.graphql + <name>.ts).
import type { IResolvers, MercuriusContext, MercuriusLoaders } from 'mercurius';
import type { Principal } from '../auth/token.ts';
import type { Services } from '../services.ts';

/** What the gateway adds to mercurius' context, over HTTP and WebSocket alike. */
export interface RequestContext {
  /** The verified caller; null only on a connection that is being refused. Resolvers go through requireRole. */
  auth: Principal | null;
  services: Services;
}

export type GraphQLContext = MercuriusContext & RequestContext;

/**
 * A module's `resolvers` export; Subscription fields are `{ subscribe, resolve? }`. The parent (`never` here) is
 * whatever the parent field returned: each resolver annotates the shape it expects.
 */
export type Resolvers = IResolvers<never, GraphQLContext>;

/** A module's `loaders` export: batched per request (`Type: { field: (queries, context) => results[] }`). */
export type Loaders = MercuriusLoaders<GraphQLContext>;
