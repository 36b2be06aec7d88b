// What the gateway's plugins and resolvers use, created once by the composition root (gateway/compose.ts) and
// handed to buildApp; resolvers reach it as `context.services`.
import type { Bus } from '../infra/bus/port.ts';
import type { EventStore } from '../infra/eventstore/port.ts';
import type { IngestQueue } from '../infra/ingest/port.ts';
import type { SqlDatabase } from '../infra/sql/port.ts';
import type { ProjectionEngine } from '../projections/engine.ts';
import type { GatewayMetrics } from './metrics.ts';

export interface Services {
  eventStore: EventStore;
  /** The read models (PostgreSQL, or the embedded PGlite that also holds the events). */
  readDb: SqlDatabase;
  /** Live delivery: NATS, or the in-process bus. */
  bus: Bus;
  engine: ProjectionEngine;
  /** Where ingestion routes submit what they accepted (JetStream, or straight to the handlers embedded). */
  ingest: IngestQueue;
  /** This instance's Prometheus registry, served at /metrics. */
  metrics: GatewayMetrics;
}
