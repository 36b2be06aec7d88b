// The alerts read model: one row per alert (tenant, fingerprint) as its latest episode stands, from the alert streams'
// events, plus the incident it was last linked to (AlertLinkedToIncident, from the incident streams). SUPPRESSED is
// reserved for silences, which will set it; the alert streams themselves only fire and resolve.
import { ALERT_CATEGORY } from '../commands/alert.ts';
import { INCIDENT_CATEGORY } from '../commands/incident.ts';
import { ALERT_EVENT_TYPES, type AlertEvent } from '../domain/alert/index.ts';
import type { AlertLinkedToIncident } from '../domain/incident/index.ts';
import type { AlertSuppressed } from '../domain/silence/index.ts';
import type { StoredEvent } from '../infra/eventstore/port.ts';
import { streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import type { Projection } from './projection.ts';
import { ForeignStreamError, tenantStream } from './tenant-stream.ts';

export const ALERTS_PROJECTION = 'alerts';

// Fingerprints and positions compare byte-wise (COLLATE "C"), so keyset pages order the same on every server.
// `version` counts the alert stream's events applied: an event is applied only if its revision is not yet.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS alerts (
    tenant_id text NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    stream_id text NOT NULL,
    status text NOT NULL,
    source text NOT NULL,
    episode integer NOT NULL,
    labels jsonb NOT NULL,
    annotations jsonb NOT NULL,
    service text,
    severity text,
    summary text,
    group_key text,
    receiver text,
    generator_url text,
    details jsonb,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz,
    acknowledged_at timestamptz,
    incident_id text,
    version integer NOT NULL,
    updated_at timestamptz NOT NULL,
    last_position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, fingerprint)
  )`,
  // The list is newest episode first, optionally narrowed by status or service.
  'CREATE INDEX IF NOT EXISTS alerts_newest ON alerts (tenant_id, starts_at DESC, fingerprint DESC)',
  'CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (tenant_id, status, starts_at DESC, fingerprint DESC)',
  'CREATE INDEX IF NOT EXISTS alerts_by_service ON alerts (tenant_id, service, starts_at DESC, fingerprint DESC)',
];

const ALERT_PREFIX = streamIdOf(ALERT_CATEGORY, '');
const INCIDENT_PREFIX = streamIdOf(INCIDENT_CATEGORY, '');

/** $1 tenant, $2 fingerprint, $3 revision, $4 position, $5 recorded at; the event's own values follow. */
function applyAlertEvent(event: AlertEvent, stored: StoredEvent, tenantId: string, streamId: string, tx: SqlExecutor) {
  const envelope = [tenantId, event.data.fingerprint, stored.revision.toString(), stored.position, stored.recordedAt];
  const update = (assignments: string, values: readonly unknown[]) =>
    tx.query(
      `UPDATE alerts SET ${assignments}, version = $3::bigint + 1, updated_at = $5, last_position = $4
        WHERE tenant_id = $1 AND fingerprint = $2 AND version <= $3::bigint`,
      [...envelope, ...values],
    );
  switch (event.type) {
    case 'AlertFired': {
      const { source, episode, labels, annotations, service, severity, summary, groupKey, receiver, generatorURL, details } =
        event.data;
      // A new episode starts afresh; the incident link stays until the correlation links the alert anew.
      return tx.query(
        `INSERT INTO alerts (tenant_id, fingerprint, stream_id, status, source, episode, labels, annotations, service,
            severity, summary, group_key, receiver, generator_url, details, starts_at, ends_at, acknowledged_at, version,
            updated_at, last_position)
          VALUES ($1, $2, $6, 'FIRING', $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15, $16, $17::jsonb, $18,
            NULL, NULL, $3::bigint + 1, $5, $4)
          ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET status = 'FIRING', source = excluded.source,
            episode = excluded.episode, labels = excluded.labels, annotations = excluded.annotations,
            service = excluded.service, severity = excluded.severity, summary = excluded.summary,
            group_key = excluded.group_key, receiver = excluded.receiver, generator_url = excluded.generator_url,
            details = excluded.details, starts_at = excluded.starts_at, ends_at = NULL, acknowledged_at = NULL,
            version = excluded.version, updated_at = excluded.updated_at, last_position = excluded.last_position
          WHERE alerts.version <= $3::bigint`,
        [...envelope, streamId, source, episode, JSON.stringify(labels), JSON.stringify(annotations), service, severity,
          summary, groupKey, receiver, generatorURL, details === null ? null : JSON.stringify(details), event.data.startsAt],
      );
    }
    case 'AlertUpdated': {
      const { labels, annotations, service, severity, summary } = event.data;
      return update('labels = $6::jsonb, annotations = $7::jsonb, service = $8, severity = $9, summary = $10', [
        JSON.stringify(labels), JSON.stringify(annotations), service, severity, summary,
      ]);
    }
    case 'AlertAcknowledged':
      return update('acknowledged_at = $6', [event.data.acknowledgedAt]);
    case 'AlertResolved':
      return update(`status = 'RESOLVED', ends_at = $6`, [event.data.endsAt]);
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

export function alertsProjection(): Projection {
  return {
    name: ALERTS_PROJECTION,
    handles: [...ALERT_EVENT_TYPES, 'AlertLinkedToIncident', 'AlertSuppressed'],
    tables: ['alerts'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(stored, tx) {
      const { tenantId, streamId } = tenantStream(stored);
      if (stored.type === 'AlertSuppressed') {
        // A silence muted this firing (the correlation manager records it in the silence's stream, after the firing).
        const { fingerprint, episode } = (stored as StoredEvent & AlertSuppressed).data;
        await tx.query(
          `UPDATE alerts SET status = 'SUPPRESSED' WHERE tenant_id = $1 AND fingerprint = $2 AND episode = $3 AND status = 'FIRING'`,
          [tenantId, fingerprint, episode],
        );
        return;
      }
      if (stored.type === 'AlertLinkedToIncident') {
        if (!streamId.startsWith(INCIDENT_PREFIX)) throw new ForeignStreamError(stored, `${INCIDENT_PREFIX}* streams`);
        // Incident streams hold only what the incident decider emitted, so this is its event.
        const { fingerprint } = (stored as StoredEvent & AlertLinkedToIncident).data;
        // A link to an alert this model has not seen changes nothing: correlation links alerts after they fired.
        await tx.query('UPDATE alerts SET incident_id = $3 WHERE tenant_id = $1 AND fingerprint = $2', [
          tenantId, fingerprint, streamId.slice(INCIDENT_PREFIX.length),
        ]);
        return;
      }
      if (!streamId.startsWith(ALERT_PREFIX)) throw new ForeignStreamError(stored, `${ALERT_PREFIX}* streams`);
      // Alert streams hold only what the alert decider emitted, so their events are its events.
      await applyAlertEvent({ type: stored.type, data: stored.data } as AlertEvent, stored, tenantId, streamId, tx);
    },
  };
}
