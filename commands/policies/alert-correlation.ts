// The alert correlation process manager: alert, incident and silence events in, incident and silence commands out.
//
// Exactly-once effects in two halves (a transactional outbox):
// 1. `correlationProjection` runs in the projection engine like any read model. Its apply folds the event into the
//    manager's state (groups, alerts, silences) with the pure rules of domain/correlation and writes the commands it
//    decided to an outbox table, all in the engine's transaction with the checkpoint: every event is decided exactly
//    once, and one runner per projection (the engine's lock) makes decisions serial, so concurrent duplicate alerts
//    never declare twice. No command runs inside that transaction: on embedded PGlite the store and the read models
//    share one connection, and an append from inside the transaction would wait for it for ever.
// 2. `startCorrelationDispatcher` drains the outbox in order and runs the commands. A command may run twice (a crash
//    between append and delete, two instances draining at once), so each is idempotent: the incident id derives from
//    the group and its first alert, event ids derive from the causing event, and linking deciders ignore repeats.
// Every command carries causationId = the causing event's id and correlationId = that event's correlationId.
import { setTimeout as sleep } from 'node:timers/promises';
import { v5 as uuidv5 } from 'uuid';
import { ALERT_EVENT_TYPES, type AlertFired, type AlertResolved } from '../../domain/alert/index.ts';
import {
  groupKeyOf,
  initialGroup,
  initialTrack,
  onAlertFired,
  onAlertResolved,
  onIncidentStatus,
  suspectReason,
  type AlertTrack,
  type CorrelationAction,
  type CorrelationSettings,
  type GroupState,
} from '../../domain/correlation/rules.ts';
import { incidentDecider, IncidentNotFoundError, type IncidentCommand } from '../../domain/incident/index.ts';
import { DomainError } from '../../domain/shared/errors.ts';
import { silences, type SilenceCreated, type SilenceExpired } from '../../domain/silence/index.ts';
import type { Actor, EventStore, Position, StoredEvent } from '../../infra/eventstore/port.ts';
import type { SqlDatabase, SqlExecutor } from '../../infra/sql/port.ts';
import { CHANGES_PROJECTION } from '../../projections/changes.ts';
import { ProjectionTimeoutError } from '../../projections/errors.ts';
import type { ProjectionEngine } from '../../projections/engine.ts';
import type { Projection } from '../../projections/projection.ts';
import { tenantStream } from '../../projections/tenant-stream.ts';
import { TOPOLOGY_PROJECTION } from '../../projections/topology.ts';
import { changesForServices } from '../../queries/changes.ts';
import { upstreamOf } from '../../queries/topology.ts';
import { handleCommand } from '../handler.ts';
import { incidentStreamId } from '../incident.ts';
import { recordSuppression } from '../silence.ts';

export const CORRELATION_PROJECTION = 'alert-correlation';
/** Who the manager's commands are by, in every event it causes. */
export const CORRELATION_ACTOR: Actor = { id: 'alert-correlation', kind: 'system', roles: [] };
/** The namespace of the manager's ids (UUID v5): fixed for ever, or a replay would declare anew. */
const ID_NAMESPACE = '5b0a4f0e-8d0c-4c36-9d55-2f4f0f7c1a63';

/** An effect the manager decided: a correlation action, or the record that a silence muted an alert. */
export type CorrelationEffect =
  | CorrelationAction
  | { type: 'suppress'; silenceId: string; fingerprint: string; episode: number };

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS correlation_groups (
    tenant_id text NOT NULL, group_key text NOT NULL, incident_id text, state jsonb NOT NULL,
    PRIMARY KEY (tenant_id, group_key))`,
  'CREATE INDEX IF NOT EXISTS correlation_groups_by_incident ON correlation_groups (tenant_id, incident_id)',
  `CREATE TABLE IF NOT EXISTS correlation_alerts (
    tenant_id text NOT NULL, fingerprint text NOT NULL, group_key text NOT NULL, suppressed boolean NOT NULL,
    track jsonb NOT NULL, PRIMARY KEY (tenant_id, fingerprint))`,
  `CREATE TABLE IF NOT EXISTS correlation_silences (
    tenant_id text NOT NULL, silence_id text NOT NULL, matchers jsonb NOT NULL, starts_at text NOT NULL,
    ends_at text NOT NULL, PRIMARY KEY (tenant_id, silence_id))`,
  `CREATE TABLE IF NOT EXISTS correlation_outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id text NOT NULL, event_id text NOT NULL,
    position text NOT NULL, correlation_id text NOT NULL, effect_index integer NOT NULL, effect jsonb NOT NULL)`,
];

const INCIDENT_STATUS_TYPES = ['IncidentResolved', 'IncidentReopened', 'IncidentClosed'] as const;

export function correlationProjection(settings: CorrelationSettings): Projection {
  return {
    name: CORRELATION_PROJECTION,
    handles: [...ALERT_EVENT_TYPES, ...INCIDENT_STATUS_TYPES, 'SilenceCreated', 'SilenceExpired'],
    tables: ['correlation_outbox', 'correlation_groups', 'correlation_alerts', 'correlation_silences'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(event, tx) {
      const { tenantId, streamId } = tenantStream(event);
      switch (event.type) {
        case 'AlertFired':
          return fired(tx, tenantId, event as StoredEvent & AlertFired, settings);
        case 'AlertResolved':
          return resolved(tx, tenantId, event as StoredEvent & AlertResolved, settings);
        case 'IncidentResolved':
        case 'IncidentClosed':
        case 'IncidentReopened': {
          const incidentId = streamId.slice('incident-'.length);
          const open = event.type === 'IncidentReopened';
          const { rows } = await tx.query<{ group_key: string; state: GroupState }>(
            'SELECT group_key, state FROM correlation_groups WHERE tenant_id = $1 AND incident_id = $2',
            [tenantId, incidentId],
          );
          for (const row of rows) await saveGroup(tx, tenantId, row.group_key, onIncidentStatus(row.state, open));
          return;
        }
        case 'SilenceCreated': {
          const { silenceId, matchers, startsAt, endsAt } = (event as StoredEvent & SilenceCreated).data;
          await tx.query(
            `INSERT INTO correlation_silences VALUES ($1, $2, $3::jsonb, $4, $5) ON CONFLICT DO NOTHING`,
            [tenantId, silenceId, JSON.stringify(matchers), startsAt, endsAt],
          );
          return;
        }
        case 'SilenceExpired': {
          const { at } = (event as StoredEvent & SilenceExpired).data;
          await tx.query('UPDATE correlation_silences SET ends_at = LEAST(ends_at, $3) WHERE tenant_id = $1 AND silence_id = $2', [
            tenantId, streamId.slice('silence-'.length), at,
          ]);
          return;
        }
        default:
          // AlertUpdated and AlertAcknowledged change nothing the correlation decides on.
          return;
      }
    },
  };
}

async function fired(tx: SqlExecutor, tenantId: string, event: StoredEvent & AlertFired, settings: CorrelationSettings) {
  const { fingerprint, episode, labels, service, severity, summary, groupKey, startsAt } = event.data;
  const key = groupKeyOf(service, groupKey);
  // Silences apply when we hear of the alert (as Alertmanager's apply at notification time), to the alert's labels
  // and its service, so that `service="checkout"` is a maintenance window of checkout whatever the label is called.
  const heardAt = event.recordedAt.toISOString();
  const matchable = service === null ? labels : { ...labels, service };
  const { rows: candidates } = await tx.query<{ silence_id: string; matchers: SilenceCreated['data']['matchers']; starts_at: string; ends_at: string }>(
    'SELECT silence_id, matchers, starts_at, ends_at FROM correlation_silences WHERE tenant_id = $1 AND starts_at <= $2 AND ends_at > $2 ORDER BY silence_id',
    [tenantId, heardAt],
  );
  const silence = candidates.find((row) =>
    silences({ matchers: row.matchers, startsAt: row.starts_at, endsAt: row.ends_at }, matchable, heardAt),
  );
  const track = await loadTrack(tx, tenantId, fingerprint);
  if (silence !== undefined) {
    await saveTrack(tx, tenantId, fingerprint, key, true, track);
    await enqueue(tx, tenantId, event, [{ type: 'suppress', silenceId: silence.silence_id, fingerprint, episode }]);
    return;
  }
  const group = await loadGroup(tx, tenantId, key);
  const title = summary ?? labels.alertname ?? fingerprint;
  const alert = { fingerprint, service, severity, title, summary, at: startsAt };
  const outcome = onAlertFired(group, track, alert, settings, (windowStart) =>
    uuidv5(`${tenantId}\n${key}\n${windowStart}`, ID_NAMESPACE),
  );
  await saveTrack(tx, tenantId, fingerprint, key, false, outcome.track);
  await saveGroup(tx, tenantId, key, outcome.group);
  await enqueue(tx, tenantId, event, outcome.actions);
}

async function resolved(tx: SqlExecutor, tenantId: string, event: StoredEvent & AlertResolved, settings: CorrelationSettings) {
  const { rows } = await tx.query<{ group_key: string; suppressed: boolean }>(
    'SELECT group_key, suppressed FROM correlation_alerts WHERE tenant_id = $1 AND fingerprint = $2',
    [tenantId, event.data.fingerprint],
  );
  const alert = rows[0];
  if (alert === undefined || alert.suppressed) return;
  const outcome = onAlertResolved(await loadGroup(tx, tenantId, alert.group_key), event.data.fingerprint, settings);
  await saveGroup(tx, tenantId, alert.group_key, outcome.group);
  await enqueue(tx, tenantId, event, outcome.actions);
}

async function loadGroup(tx: SqlExecutor, tenantId: string, key: string): Promise<GroupState> {
  const { rows } = await tx.query<{ state: GroupState }>(
    'SELECT state FROM correlation_groups WHERE tenant_id = $1 AND group_key = $2',
    [tenantId, key],
  );
  return rows[0]?.state ?? initialGroup();
}

function saveGroup(tx: SqlExecutor, tenantId: string, key: string, group: GroupState) {
  return tx.query(
    `INSERT INTO correlation_groups VALUES ($1, $2, $3, $4::jsonb)
      ON CONFLICT (tenant_id, group_key) DO UPDATE SET incident_id = excluded.incident_id, state = excluded.state`,
    [tenantId, key, group.incidentId, JSON.stringify(group)],
  );
}

async function loadTrack(tx: SqlExecutor, tenantId: string, fingerprint: string): Promise<AlertTrack> {
  const { rows } = await tx.query<{ track: AlertTrack }>(
    'SELECT track FROM correlation_alerts WHERE tenant_id = $1 AND fingerprint = $2',
    [tenantId, fingerprint],
  );
  return rows[0]?.track ?? initialTrack();
}

function saveTrack(tx: SqlExecutor, tenantId: string, fingerprint: string, key: string, suppressed: boolean, track: AlertTrack) {
  return tx.query(
    `INSERT INTO correlation_alerts VALUES ($1, $2, $3, $4, $5::jsonb)
      ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET group_key = excluded.group_key,
        suppressed = excluded.suppressed, track = excluded.track`,
    [tenantId, fingerprint, key, suppressed, JSON.stringify(track)],
  );
}

async function enqueue(tx: SqlExecutor, tenantId: string, event: StoredEvent, effects: readonly CorrelationEffect[]) {
  for (const [index, effect] of effects.entries()) {
    await tx.query(
      `INSERT INTO correlation_outbox (tenant_id, event_id, position, correlation_id, effect_index, effect)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
      [tenantId, event.id, event.position, event.metadata.correlationId, index, JSON.stringify(effect)],
    );
  }
}

interface OutboxRow {
  seq: string;
  tenant_id: string;
  event_id: string;
  position: Position;
  correlation_id: string;
  effect_index: number;
  effect: CorrelationEffect;
}

export interface CorrelationDispatcherOptions {
  store: EventStore;
  db: SqlDatabase;
  /** Suspect changes are looked up once the changes and topology read models have seen the causing event. */
  engine: Pick<ProjectionEngine, 'waitForPosition'>;
  settings: CorrelationSettings;
  /** How often an idle dispatcher looks at the outbox (default 100 ms). */
  pollMs?: number;
  /** A refused command (dropped) names its effect; a failure to reach the store or the outbox (retried) does not. */
  onError?: (error: unknown, effect?: CorrelationEffect) => void;
}

export interface CorrelationDispatcher {
  /** Finishes the command in hand and stops. */
  stop(): Promise<void>;
}

/** How long a suspect lookup waits for the changes read model before it links what is there. */
const READ_MODEL_WAIT_MS = 5_000;
const BATCH = 100;
const RETRY_MAX_MS = 10_000;

export function startCorrelationDispatcher(options: CorrelationDispatcherOptions): CorrelationDispatcher {
  const { db } = options;
  const pollMs = options.pollMs ?? 100;
  const stopping = new AbortController();

  async function drain(): Promise<boolean> {
    const { rows } = await db.query<OutboxRow>(
      'SELECT seq, tenant_id, event_id, position, correlation_id, effect_index, effect FROM correlation_outbox ORDER BY seq LIMIT $1',
      [BATCH],
    );
    for (const row of rows) {
      if (stopping.signal.aborted) return false;
      try {
        await execute(options, row);
      } catch (error) {
        // A refusal is final (the incident was closed meanwhile): retrying would refuse again and block the queue.
        if (!(error instanceof DomainError)) throw error;
        options.onError?.(error, row.effect);
      }
      await db.query('DELETE FROM correlation_outbox WHERE seq = $1', [row.seq]);
    }
    return rows.length === BATCH;
  }

  const loop = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      let more = false;
      try {
        more = await drain();
        failures = 0;
      } catch (error) {
        options.onError?.(error);
        failures += 1;
      }
      if (more) continue;
      const wait = failures === 0 ? pollMs : Math.min(RETRY_MAX_MS, pollMs * 2 ** failures);
      await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

async function execute(options: CorrelationDispatcherOptions, row: OutboxRow): Promise<void> {
  const { store, db, engine, settings } = options;
  const { tenant_id: tenantId, event_id: causationId, correlation_id: correlationId, effect } = row;
  const context = { tenantId, actor: CORRELATION_ACTOR, correlationId, causationId };
  const eventIds = (part: string) => (index: number) =>
    uuidv5(`${causationId}\n${row.effect_index}\n${part}\n${index}`, ID_NAMESPACE);

  const runIncident = async (incidentId: string, command: Omit<IncidentCommand, 'metadata'>, part = '') => {
    const full = { ...command, metadata: { now: new Date().toISOString(), actorId: CORRELATION_ACTOR.id } } as IncidentCommand;
    await handleCommand(store, incidentDecider, incidentStreamId(tenantId, incidentId), full, {
      metadata: { tenantId, actor: CORRELATION_ACTOR, correlationId, causationId },
      eventId: eventIds(part),
    });
  };

  switch (effect.type) {
    case 'declare': {
      const { incidentId, title, severity, services, summary } = effect;
      const declare = { type: 'DeclareIncident', data: { incidentId, title, severity, services, summary } } as const;
      try {
        await runIncident(incidentId, declare);
      } catch (error) {
        // Declared by an earlier run of this very effect: the id is the group's, so the incident is ours.
        if (!(error instanceof DomainError) || error instanceof IncidentNotFoundError) throw error;
      }
      return;
    }
    case 'link':
      return runIncident(effect.incidentId, { type: 'LinkAlertToIncident', data: { fingerprint: effect.fingerprint } });
    case 'note':
      return runIncident(effect.incidentId, { type: 'AddIncidentNote', data: { text: effect.text } });
    case 'resolve':
      return runIncident(effect.incidentId, { type: 'ResolveIncident', data: { resolution: effect.resolution } });
    case 'suppress': {
      const { silenceId, fingerprint, episode } = effect;
      await recordSuppression(store, context, { silenceId, fingerprint, episode }, eventIds(''));
      return;
    }
    case 'linkSuspects': {
      try {
        await engine.waitForPosition(row.position, {
          timeoutMs: READ_MODEL_WAIT_MS,
          projections: [CHANGES_PROJECTION, TOPOLOGY_PROJECTION],
        });
      } catch (error) {
        // A lagging read model links what it has; a later link of the group looks again.
        if (!(error instanceof ProjectionTimeoutError)) throw error;
      }
      const upstream = await upstreamOf(db, tenantId, effect.services);
      const services = [...effect.services, ...upstream.map((reached) => reached.service)];
      const firstAlert = new Date(effect.firstAlertAt);
      const from = new Date(firstAlert.getTime() - settings.suspectLookBackMs);
      const changes = await changesForServices(db, tenantId, services, from, firstAlert);
      for (const change of changes) {
        const reason = suspectReason({ ...change, at: change.at.toISOString() }, effect.firstAlertAt, effect.services);
        await runIncident(effect.incidentId, { type: 'LinkSuspectChange', data: { changeId: change.id, reason } }, change.id);
      }
      return;
    }
    default: {
      const unhandled: never = effect;
      return unhandled;
    }
  }
}
