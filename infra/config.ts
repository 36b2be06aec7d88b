// Configuration is read once, here, validated, and passed down. Nothing else reads process.env.
import { DEFAULT_CORRELATION_SETTINGS, type CorrelationSettings } from '../domain/correlation/rules.ts';
import { SEVERITIES, type Severity } from '../domain/incident/events.ts';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  readDatabaseUrl?: string;
  eventStoreUrl?: string;
  natsUrl?: string;
  /**
   * First token(s) of live-event subjects (default `events`) and of the ingestion stream (`<prefix>_ingest`, subjects
   * `<prefix>._ingest.<kind>`); instances that share it see each other's events and share the ingestion work.
   */
  natsSubjectPrefix?: string;
  elasticsearchUrl?: string;
  jwtSecret?: string;
  jwtPublicKey?: string;
  otelEndpoint?: string;
  logLevel: string;
  /** Alert correlation (CORRELATION_*); defaults in DEFAULT_CORRELATION_SETTINGS. */
  correlation: CorrelationSettings;
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

/** A whole number of minutes, as milliseconds. */
function minutes(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallbackMs;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a whole number of minutes ≥ 1, got ${raw}`);
  return value * 60_000;
}

function correlationSettings(env: NodeJS.ProcessEnv): CorrelationSettings {
  const defaults = DEFAULT_CORRELATION_SETTINGS;
  const severity = optional(env, 'CORRELATION_DECLARE_SEVERITY') ?? defaults.declareAtOrAbove;
  const declareAtOrAbove = SEVERITIES.find((each): each is Severity => each === severity);
  if (declareAtOrAbove === undefined) {
    throw new ConfigError(`CORRELATION_DECLARE_SEVERITY must be one of ${SEVERITIES.join(', ')}, got ${severity}`);
  }
  const autoResolve = optional(env, 'CORRELATION_AUTO_RESOLVE') ?? String(defaults.autoResolve);
  if (autoResolve !== 'true' && autoResolve !== 'false') {
    throw new ConfigError(`CORRELATION_AUTO_RESOLVE must be true or false, got ${autoResolve}`);
  }
  const flapRaw = optional(env, 'CORRELATION_FLAP_THRESHOLD');
  const flapThreshold = flapRaw === undefined ? defaults.flapThreshold : Number(flapRaw);
  if (!Number.isInteger(flapThreshold) || flapThreshold < 1) {
    throw new ConfigError(`CORRELATION_FLAP_THRESHOLD must be a whole number ≥ 1, got ${flapRaw}`);
  }
  return {
    groupWindowMs: minutes(env, 'CORRELATION_WINDOW_MINUTES', defaults.groupWindowMs),
    declareAtOrAbove,
    autoResolve: autoResolve === 'true',
    flapThreshold,
    flapWindowMs: minutes(env, 'CORRELATION_FLAP_WINDOW_MINUTES', defaults.flapWindowMs),
    suspectLookBackMs: minutes(env, 'CORRELATION_SUSPECT_LOOKBACK_MINUTES', defaults.suspectLookBackMs),
  };
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
    correlation: correlationSettings(env),
  };
}
