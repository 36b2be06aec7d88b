// Configuration is read once, here, validated, and passed down. Nothing else reads process.env.

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  readDatabaseUrl?: string;
  eventStoreUrl?: string;
  natsUrl?: string;
  /** First token(s) of live-event subjects (default `events`); instances that share it see each other's events. */
  natsSubjectPrefix?: string;
  elasticsearchUrl?: string;
  jwtSecret?: string;
  jwtPublicKey?: string;
  otelEndpoint?: string;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function portNumber(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigError(`PORT must be 0..65535, got ${raw}`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const eventStoreUrl = optional(env, 'EVENTSTORE_URL');
  if (eventStoreUrl && !/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\//.test(eventStoreUrl)) {
    throw new ConfigError(`EVENTSTORE_URL must start with esdb:// or kurrentdb://, got ${eventStoreUrl}`);
  }
  const databaseUrl = optional(env, 'DATABASE_URL');
  return {
    port: portNumber(optional(env, 'PORT'), 4000),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    dataDir: optional(env, 'DATA_DIR') ?? './data',
    databaseUrl,
    readDatabaseUrl: optional(env, 'READ_DATABASE_URL') ?? databaseUrl,
    eventStoreUrl,
    natsUrl: optional(env, 'NATS_URL'),
    natsSubjectPrefix: optional(env, 'NATS_SUBJECT_PREFIX'),
    elasticsearchUrl: optional(env, 'ELASTICSEARCH_URL'),
    jwtSecret: optional(env, 'JWT_SECRET'),
    jwtPublicKey: optional(env, 'JWT_PUBLIC_KEY'),
    otelEndpoint: optional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    logLevel: optional(env, 'LOG_LEVEL') ?? 'info',
  };
}
