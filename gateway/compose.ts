// The composition root as a module, so that main.ts and end-to-end tests start the very same server: configuration
// in, backends chosen, services started, app listening.
//   no DATABASE_URL / EVENTSTORE_URL  embedded: events and read models in one PGlite under DATA_DIR
//   DATABASE_URL                      PostgreSQL event store; read models in READ_DATABASE_URL (default the same)
//   EVENTSTORE_URL                    KurrentDB event store; read models in PostgreSQL (READ_DATABASE_URL)
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { correlationProjection, startCorrelationDispatcher } from '../commands/policies/alert-correlation.ts';
import { changeIngestHandlers } from '../commands/change.ts';
import { alertIngestHandlers } from '../commands/ingest-handlers.ts';
import { ConfigError, type Config } from '../infra/config.ts';
import { openBus } from '../infra/bus/open.ts';
import { startPublisher, type PublisherOptions } from '../infra/bus/publisher.ts';
import { createEmbeddedEventStore, openEmbeddedDatabase } from '../infra/eventstore/embedded.ts';
import { createKurrentDBEventStore } from '../infra/eventstore/kurrentdb.ts';
import type { EventStore } from '../infra/eventstore/port.ts';
import { createPostgresEventStore } from '../infra/eventstore/postgres.ts';
import { openIngestQueue } from '../infra/ingest/open.ts';
import type { IngestHandlers } from '../infra/ingest/port.ts';
import { createPgDatabase } from '../infra/sql/pg.ts';
import type { SqlDatabase } from '../infra/sql/port.ts';
import { createProjectionEngine, type ProjectionEngineOptions } from '../projections/engine.ts';
import { allProjections } from '../projections/index.ts';
import { buildApp, type AppDependencies } from './app.ts';
import { resolveKey, type ResolvedKey } from './auth/keys.ts';
import { createTokenVerifier } from './auth/token.ts';
import { createGatewayMetrics } from './metrics.ts';
import type { Services } from './services.ts';

type Close = () => Promise<void>;

/** Runs every close, last opened first, even when one fails. */
async function closeAll(closes: readonly Close[]): Promise<void> {
  const failures: unknown[] = [];
  for (const close of [...closes].reverse()) {
    try {
      await close();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, 'some services failed to close');
}

interface Backends {
  eventStore: EventStore;
  readDb: SqlDatabase;
  /** Where instances sharing a database elect the one live publisher; none when only one process can run. */
  election?: PublisherOptions['election'];
}

async function openBackends(config: Config, opened: Close[]): Promise<Backends> {
  const application = { applicationName: 'incident-platform' };
  if (config.eventStoreUrl !== undefined) {
    if (config.readDatabaseUrl === undefined) {
      throw new ConfigError('EVENTSTORE_URL needs READ_DATABASE_URL (or DATABASE_URL) for the read models');
    }
    const readDb = createPgDatabase(config.readDatabaseUrl, application);
    opened.push(() => readDb.close());
    const eventStore = createKurrentDBEventStore(config.eventStoreUrl);
    opened.push(() => eventStore.close());
    return { eventStore, readDb, election: { db: readDb } };
  }
  if (config.databaseUrl !== undefined) {
    const eventsDb = createPgDatabase(config.databaseUrl, application);
    opened.push(() => eventsDb.close());
    const eventStore = await createPostgresEventStore(eventsDb);
    opened.push(() => eventStore.close());
    let readDb = eventsDb;
    if (config.readDatabaseUrl !== undefined && config.readDatabaseUrl !== config.databaseUrl) {
      readDb = createPgDatabase(config.readDatabaseUrl, application);
      opened.push(() => readDb.close());
    }
    return { eventStore, readDb, election: { db: eventsDb } };
  }
  const db = await openEmbeddedDatabase(config.dataDir);
  opened.push(() => db.close());
  const eventStore = await createEmbeddedEventStore(db);
  opened.push(() => eventStore.close());
  return { eventStore, readDb: db };
}

export interface OpenedServices {
  services: Services;
  /** Stops the publisher and the engine, then closes the bus, the store and the databases. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: FastifyBaseLogger;
  /** Engine tuning (tests poll faster); the store, database and projections are chosen here. */
  engine?: Omit<ProjectionEngineOptions, 'store' | 'db' | 'projections' | 'logger'>;
}

export async function openServices(config: Config, options: ServiceOptions = {}): Promise<OpenedServices> {
  const { logger } = options;
  const opened: Close[] = [];
  try {
    const { eventStore, readDb, election } = await openBackends(config, opened);
    const bus = await openBus(config, { name: 'incident-platform' });
    opened.push(() => bus.close());
    const engine = createProjectionEngine({
      ...options.engine,
      store: eventStore,
      db: readDb,
      projections: [...allProjections(), correlationProjection(config.correlation)],
      logger: logger?.child({ component: 'projections' }),
    });
    await engine.start();
    opened.push(() => engine.stop());
    const correlation = startCorrelationDispatcher({
      store: eventStore,
      db: readDb,
      engine,
      settings: config.correlation,
      ...(options.engine?.idlePollMs === undefined ? {} : { pollMs: options.engine.idlePollMs }),
      onError: (error, effect) => logger?.error({ err: error, effect }, 'alert correlation command failed'),
    });
    opened.push(() => correlation.stop());
    // Closed before the store: its last batch is appended and acked first.
    const handlers: IngestHandlers = { ...alertIngestHandlers(eventStore, readDb), ...changeIngestHandlers(eventStore) };
    const ingest = await openIngestQueue(config, {
      handlers,
      name: 'incident-platform',
      logger: logger?.child({ component: 'ingest' }),
    });
    opened.push(() => ingest.close());
    const metrics = createGatewayMetrics({ engine, ingest });
    const publisher = startPublisher({
      store: eventStore,
      bus,
      election,
      onError: (error) => logger?.error({ err: error }, 'live publisher failed; retrying'),
      onPublish: (event) => metrics.eventsAppended.inc({ type: event.type }),
    });
    opened.push(() => publisher.stop());
    return { services: { eventStore, readDb, bus, engine, ingest, metrics }, close: () => closeAll(opened) };
  } catch (error) {
    await closeAll(opened).catch(() => undefined);
    throw error;
  }
}

export interface ServerOptions extends ServiceOptions, Pick<AppDependencies, 'graphql' | 'readiness'> {}

export interface RunningServer {
  app: FastifyInstance;
  /** The running services, for tooling and tests that act beside the API (append, inspect the engine). */
  services: Services;
  /** http://host:port of the listening server. */
  url: string;
  key: ResolvedKey;
  /** Graceful: stops accepting, closes WebSockets with 1001, lets in-flight requests finish, closes the services. */
  close(): Promise<void>;
}

/** Starts the whole platform on `config.host:config.port` (port 0 picks a free one). */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const key = await resolveKey(config);
  const { services, close } = await openServices(config, options);
  // Once: a failed start closes the app, whose onClose may or may not have run depending on where it failed.
  let closing: Promise<void> | undefined;
  const closeServices = () => (closing ??= close());
  const app = buildApp({
    services,
    verifier: createTokenVerifier(key.key),
    closeServices,
    logger: options.logger,
    graphql: options.graphql,
    readiness: options.readiness,
  });
  try {
    const url = await app.listen({ host: config.host, port: config.port });
    return { app, services, url, key, close: () => app.close() };
  } catch (error) {
    await app.close().catch(() => undefined);
    await closeServices().catch(() => undefined);
    throw error;
  }
}
