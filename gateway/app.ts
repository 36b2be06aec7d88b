// The gateway's one fastify instance: each concern is a plugin, registered here and only here. The services are
// created by the caller (gateway/compose.ts) and handed over: the app closes them once the server has stopped
// accepting connections and in-flight requests have finished.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { authPlugin } from './auth/plugin.ts';
import type { TokenVerifier } from './auth/token.ts';
import { httpErrorHandler } from './errors.ts';
import { graphqlPlugin, type GraphQLLimits } from './graphql/plugin.ts';
import { healthPlugin, type ReadinessLimits } from './health.ts';
import { ingestPlugin } from './ingest/plugin.ts';
import { metricsPlugin } from './metrics.ts';
import type { Services } from './services.ts';

export interface AppDependencies {
  services: Services;
  verifier: TokenVerifier;
  /** Stops and closes the services in dependency order; runs from the app's onClose. */
  closeServices: () => Promise<void>;
  /** A pino logger shared with the rest of the process; none means silent. */
  logger?: FastifyBaseLogger;
  graphql?: Partial<GraphQLLimits>;
  readiness?: Partial<ReadinessLimits>;
}

export function buildApp(dependencies: AppDependencies): FastifyInstance {
  const { services, verifier } = dependencies;
  const app: FastifyInstance = dependencies.logger
    ? Fastify({ loggerInstance: dependencies.logger })
    : Fastify({ logger: false });
  app.setErrorHandler(httpErrorHandler);
  app.addHook('onClose', () => dependencies.closeServices());

  // First: its hook times every route, and the error handler counts rejected inputs in its registry.
  app.register(metricsPlugin, { metrics: services.metrics });
  app.register(authPlugin, { verifier });
  app.register(healthPlugin, { services, limits: dependencies.readiness });
  app.register(graphqlPlugin, { services, verifier, limits: dependencies.graphql });
  app.register(ingestPlugin, { queue: services.ingest });
  return app;
}
