// POST/GET /graphql and WebSocket /graphql (graphql-transport-ws) through mercurius. Everything under /graphql needs
// a valid token: HTTP requests in the Authorization header (checked before the body is read), WebSocket clients in
// `connection_init`. Queries and mutations go over HTTP; the socket carries subscriptions.
import type { FastifyInstance } from 'fastify';
import mercurius, { type IResolvers } from 'mercurius';
import { graphqlErrorFormatter } from '../errors.ts';
import { observeOperations } from '../metrics/graphql.ts';
import type { TokenVerifier } from '../auth/token.ts';
import type { Services } from '../services.ts';
import {
  complexityRule,
  DEFAULT_COMPLEXITY_LIMITS,
  KnownOperationTypesRule,
  type ComplexityLimits,
} from './validation.ts';
import type { GraphQLContext, RequestContext } from './context.ts';
import { buildSchema, loadModules } from './schema.ts';
import { guardSubscriptions, validateSubscriptions } from './subscriptions.ts';
import { registerWebSocket } from './websocket.ts';

export interface GraphQLLimits extends ComplexityLimits {
  /** Bytes of an HTTP request body or a WebSocket message; larger ones are refused (413 / close 1009). */
  bodyLimit: number;
  /** Lexical tokens of a document; parsing stops beyond it. */
  maxTokens: number;
  /** WebSocket: time to send `connection_init`, and time clients get to answer the close frame at shutdown. */
  initTimeoutMs: number;
  closeTimeoutMs: number;
  /** WebSocket: interval of the server's pings, which keep idle connections open through proxies. */
  keepAliveMs: number;
}

export const DEFAULT_GRAPHQL_LIMITS: GraphQLLimits = {
  ...DEFAULT_COMPLEXITY_LIMITS,
  bodyLimit: 256 * 1024,
  maxTokens: 10_000,
  initTimeoutMs: 10_000,
  closeTimeoutMs: 5_000,
  keepAliveMs: 30_000,
};

export interface GraphQLPluginOptions {
  services: Services;
  verifier: TokenVerifier;
  limits?: Partial<GraphQLLimits>;
}

export async function graphqlPlugin(app: FastifyInstance, options: GraphQLPluginOptions): Promise<void> {
  const { services, verifier } = options;
  const limits = { ...DEFAULT_GRAPHQL_LIMITS, ...options.limits };
  const modules = await loadModules();
  const rules = [KnownOperationTypesRule, complexityRule(limits)];

  const principalOf = await registerWebSocket(app, {
    verifier,
    maxPayload: limits.bodyLimit,
    initTimeoutMs: limits.initTimeoutMs,
    closeTimeoutMs: limits.closeTimeoutMs,
  });
  // Hooks of this plugin apply only to its routes (/graphql). An upgrade request authenticates in connection_init,
  // since browsers cannot set headers on it.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.ws) await app.authenticate(request, reply);
  });

  await app.register(mercurius, {
    schema: buildSchema(modules),
    path: '/graphql',
    graphiql: false,
    errorFormatter: graphqlErrorFormatter,
    validationRules: rules,
    graphql: { parseOptions: { maxTokens: limits.maxTokens } },
    additionalRouteOptions: { bodyLimit: limits.bodyLimit },
    context: (request): RequestContext => ({ auth: request.auth, services }),
    subscription: {
      context: (socket): RequestContext => ({ auth: principalOf(socket), services }),
      keepAlive: limits.keepAliveMs,
    },
  });

  for (const module of modules) {
    // Our Resolvers type the parent as `never` so that each resolver declares the parent it expects; mercurius
    // takes any parent.
    if (module.resolvers) {
      const guarded = guardSubscriptions(module.resolvers, app.log, app.metrics.subscriptionsOpen);
      app.graphql.defineResolvers(guarded as IResolvers<unknown, GraphQLContext>);
    }
    if (module.loaders) app.graphql.defineLoaders(module.loaders);
  }
  app.graphql.addHook('preSubscriptionExecution', validateSubscriptions(rules, app.log));
  observeOperations(app.graphql, app.metrics);
}
