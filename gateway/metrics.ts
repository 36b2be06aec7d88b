// GET /metrics in Prometheus' text format, from a registry of this app's own (tests build several apps in a
// process). Like /healthz and /readyz it needs no token, as scrapers expect: it carries no tenant's data, only counts
// by route, GraphQL operation, event type and projection. Keep the port off the public network if operation names
// chosen by clients are sensitive.
//
//   http_request_duration_seconds{method,route,status_code}      histogram; _count is the request rate. `route` is
//                                                                the route pattern, `unmatched` for 404s
//   graphql_operation_duration_seconds{operation_type,operation_name,outcome}
//                                                                histogram, execution only; outcome success | error
//   graphql_subscriptions_open                                   gauge
//   events_appended_total{type}                                  counter, by the instance publishing live events
//   projection_lag_events{projection}, projection_lag_seconds{projection}
//   ingest_queue_depth                                           messages accepted and not yet appended
//   rejected_inputs_total{route,reason}                          4xx answers to what a client sent
//
// Rejected inputs: errors thrown by a route are counted by the error handler (gateway/errors.ts), with the reason
// it derives: `unauthenticated`, `forbidden`, `bad_user_input` (schema or domain validation), `malformed_body`,
// `body_too_large`, `unsupported_media_type`, `graphql_validation_failed`, `not_found`, `conflict`, `bad_request`. A route that answers a 4xx itself (e.g. PagerDuty's 400 shape)
// counts it: `request.server.metrics.rejectedInputs.inc({ route: routeOf(request), reason })`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestQueue } from '../infra/ingest/port.ts';
import type { ProjectionEngine } from '../projections/engine.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

/** Seconds; finer below 50 ms, where acknowledgements and most queries land. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly graphqlOperationDuration: Histogram<'operation_type' | 'operation_name' | 'outcome'>;
  readonly subscriptionsOpen: Gauge;
  readonly eventsAppended: Counter<'type'>;
  readonly rejectedInputs: Counter<'route' | 'reason'>;
  /** Reads projection lag and queue depth for a scrape; returns what could not be read (left out of it). */
  refresh(): Promise<unknown[]>;
}

export interface MetricSources {
  engine: Pick<ProjectionEngine, 'status'>;
  ingest: Pick<IngestQueue, 'depth'>;
}

export function createGatewayMetrics(sources: MetricSources): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const lagEvents = new Gauge({
    name: 'projection_lag_events',
    help: 'Events in the log not yet applied by the projection (capped by the engine’s count limit)',
    labelNames: ['projection'] as const,
    registers,
  });
  const lagSeconds = new Gauge({
    name: 'projection_lag_seconds',
    help: 'Age of the oldest event the projection has not applied yet; 0 when caught up',
    labelNames: ['projection'] as const,
    registers,
  });
  const queueDepth = new Gauge({
    name: 'ingest_queue_depth',
    help: 'Ingested messages accepted (202) and not yet appended to the store',
    registers,
  });

  // Both read at scrape time, once each, so a scrape costs one status query and one consumer lookup.
  async function readLag(): Promise<void> {
    lagEvents.reset();
    lagSeconds.reset();
    for (const { name, lag } of await sources.engine.status()) {
      lagEvents.set({ projection: name }, lag.events);
      lagSeconds.set({ projection: name }, lag.seconds);
    }
  }
  async function readDepth(): Promise<void> {
    queueDepth.reset();
    queueDepth.set(await sources.ingest.depth());
  }

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route pattern and status, with their latency',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    graphqlOperationDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'Executed GraphQL queries and mutations by operation and outcome, with their execution time',
      labelNames: ['operation_type', 'operation_name', 'outcome'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    subscriptionsOpen: new Gauge({
      name: 'graphql_subscriptions_open',
      help: 'GraphQL subscriptions currently open on this instance',
      registers,
    }),
    eventsAppended: new Counter({
      name: 'events_appended_total',
      help: 'Events appended to the log, by type (counted by the instance that publishes live events)',
      labelNames: ['type'] as const,
      registers,
    }),
    rejectedInputs: new Counter({
      name: 'rejected_inputs_total',
      help: 'Requests refused with a 4xx for what the client sent, by route pattern and reason',
      labelNames: ['route', 'reason'] as const,
      registers,
    }),
    async refresh() {
      const results = await Promise.allSettled([readLag(), readDepth()]);
      return results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    },
  };
}

/** The route pattern, never the raw URL: ids in paths would make a series per request. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** Decorates the app with `metrics`, times every request, and serves GET /metrics. */
export const metricsPlugin = fp<{ metrics: GatewayMetrics }>(
  async (app: FastifyInstance, { metrics }) => {
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpRequestDuration.observe(
        { method: request.method, route: routeOf(request), status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', async (request, reply) => {
      for (const error of await metrics.refresh()) request.log.warn({ err: error }, 'metric left out of this scrape');
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'metrics', fastify: '5.x' },
);
