// Reads over the alerts read model (projections/alerts.ts): the filtered list, newest episode first and keyset-paged,
// many alerts by fingerprint at once, and the alerts linked to many incidents at once, one query each, so GraphQL
// loaders never go N+1. An alert as a fold of its stream up to an event serves the live feed.
import { alertDecider, type AlertDetails, type AlertEvent, type AlertLabels, type AlertState } from '../domain/alert/index.ts';
import type { Severity } from '../domain/incident/index.ts';
import type { EventStore, Position } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { decodeCursor, encodeCursor, pageSize, toConnection, type Connection } from './pagination.ts';

export const ALERT_STATUSES = ['FIRING', 'RESOLVED', 'SUPPRESSED'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface Alert {
  fingerprint: string;
  /** As clients see it: `alert-<escaped fingerprint>`. */
  streamId: string;
  status: AlertStatus;
  source: string;
  episode: number;
  labels: AlertLabels;
  annotations: AlertLabels;
  service: string | null;
  severity: Severity | null;
  summary: string | null;
  groupKey: string | null;
  receiver: string | null;
  generatorURL: string | null;
  details: AlertDetails | null;
  startsAt: Date;
  endsAt: Date | null;
  acknowledgedAt: Date | null;
  /** The incident the alert was last linked to; null until the correlation links it. */
  incidentId: string | null;
  updatedAt: Date;
  /** Cursor of the alert's last applied event. */
  lastPosition: Position;
}

/** A link of an incident to an alert, with the alert as the read model has it (null if it has not seen it yet). */
export interface IncidentAlert {
  incidentId: string;
  fingerprint: string;
  linkedAt: Date;
  alert: Alert | null;
}

export interface ListAlertsArgs {
  /** Any of these statuses; absent or empty means any status. */
  status?: readonly AlertStatus[] | null;
  /** Alerts of this service. */
  service?: string | null;
  /** Page size, 1 to MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  first?: number | null;
  /** The `endCursor` of the previous page. */
  after?: string | null;
}

const ALERT_COLUMNS = `fingerprint, stream_id AS "streamId", status, source, episode, labels, annotations, service,
  severity, summary, group_key AS "groupKey", receiver, generator_url AS "generatorURL", details,
  starts_at AS "startsAt", ends_at AS "endsAt", acknowledged_at AS "acknowledgedAt", incident_id AS "incidentId",
  updated_at AS "updatedAt", last_position AS "lastPosition"`;

// Newest episode first, the fingerprint breaking ties: the cursor is that pair. Instants have millisecond precision
// (ingestion normalises them with Date#toISOString), so a Date carries them exactly.
function alertCursor(alert: Alert): string {
  return encodeCursor({ startsAt: alert.startsAt.toISOString(), fingerprint: alert.fingerprint });
}

function readAlertCursor(after: string): { startsAt: string; fingerprint: string } {
  return decodeCursor('after', after, ({ startsAt, fingerprint }) =>
    typeof startsAt === 'string' && !Number.isNaN(Date.parse(startsAt)) && typeof fingerprint === 'string'
      ? { startsAt, fingerprint }
      : undefined,
  );
}

export async function listAlerts(db: SqlExecutor, tenant: string, args: ListAlertsArgs = {}): Promise<Connection<Alert>> {
  const first = pageSize(args.first);
  const params: unknown[] = [tenant];
  const where = ['tenant_id = $1'];
  if (args.status !== undefined && args.status !== null && args.status.length > 0) {
    params.push(args.status);
    where.push(`status = ANY($${params.length}::text[])`);
  }
  if (args.service !== undefined && args.service !== null) {
    params.push(args.service);
    where.push(`service = $${params.length}`);
  }
  if (args.after !== undefined && args.after !== null) {
    const { startsAt, fingerprint } = readAlertCursor(args.after);
    params.push(startsAt, fingerprint);
    where.push(`(starts_at, fingerprint) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(first + 1);
  const { rows } = await db.query<Alert>(
    `SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where.join(' AND ')}
      ORDER BY starts_at DESC, fingerprint DESC LIMIT $${params.length}`,
    params,
  );
  return toConnection(rows, first, alertCursor);
}

/** The alerts with these fingerprints, in the order asked (null where there is none in this tenant). */
export async function getAlerts(db: SqlExecutor, tenant: string, fingerprints: readonly string[]): Promise<(Alert | null)[]> {
  if (fingerprints.length === 0) return [];
  const { rows } = await db.query<Alert>(
    `SELECT ${ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND fingerprint = ANY($2::text[])`,
    [tenant, fingerprints],
  );
  const byFingerprint = new Map(rows.map((alert) => [alert.fingerprint, alert]));
  return fingerprints.map((fingerprint) => byFingerprint.get(fingerprint) ?? null);
}

/** An alert as to_jsonb hands it over: instants as strings. */
type AlertJson = Omit<Alert, 'startsAt' | 'endsAt' | 'acknowledgedAt' | 'updatedAt'> & {
  startsAt: string;
  endsAt: string | null;
  acknowledgedAt: string | null;
  updatedAt: string;
};
/** Which of these fingerprints the read model has an alert for. */
export async function knownFingerprints(db: SqlExecutor, tenant: string, fingerprints: readonly string[]): Promise<Set<string>> {
  if (fingerprints.length === 0) return new Set();
  const { rows } = await db.query<{ fingerprint: string }>(
    'SELECT fingerprint FROM alerts WHERE tenant_id = $1 AND fingerprint = ANY($2::text[])',
    [tenant, fingerprints],
  );
  return new Set(rows.map((row) => row.fingerprint));
}

type IncidentAlertRow = Omit<IncidentAlert, 'alert'> & { alert: AlertJson | null };

/** Each incident's linked alerts, in the order they were linked; one statement for all the incidents. */
export async function getIncidentAlerts(db: SqlExecutor, tenant: string, incidentIds: readonly string[]): Promise<IncidentAlert[][]> {
  if (incidentIds.length === 0) return [];
  // The alert's columns as one JSON object (null when the alerts model has no row), named as ALERT_COLUMNS names them.
  const { rows } = await db.query<IncidentAlertRow>(
    `SELECT l.incident_id AS "incidentId", l.fingerprint, l.linked_at AS "linkedAt",
       CASE WHEN a.fingerprint IS NULL THEN NULL ELSE to_jsonb(a) END AS alert
       FROM incident_alerts l
       LEFT JOIN LATERAL (SELECT ${ALERT_COLUMNS} FROM alerts
         WHERE alerts.tenant_id = l.tenant_id AND alerts.fingerprint = l.fingerprint) a ON true
       WHERE l.tenant_id = $1 AND l.incident_id = ANY($2::text[]) ORDER BY l.incident_id, l.position`,
    [tenant, incidentIds],
  );
  const grouped = new Map<string, IncidentAlert[]>();
  for (const row of rows) {
    const link = { ...row, alert: row.alert === null ? null : fromJson(row.alert) };
    const group = grouped.get(row.incidentId);
    if (group === undefined) grouped.set(row.incidentId, [link]);
    else group.push(link);
  }
  return incidentIds.map((id) => grouped.get(id) ?? []);
}

function fromJson(alert: AlertJson): Alert {
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...alert,
    startsAt: new Date(alert.startsAt),
    endsAt: date(alert.endsAt),
    acknowledgedAt: date(alert.acknowledgedAt),
    updatedAt: new Date(alert.updatedAt),
  };
}

/** The alert as its stream (store-level id) stood after `revision` (inclusive), and how many events that is. */
export async function alertAtRevision(
  store: EventStore,
  storeStreamId: string,
  revision: bigint,
): Promise<{ state: AlertState; version: number }> {
  let state = alertDecider.initialState();
  let version = 0;
  for await (const stored of store.readStream(storeStreamId, { toRevision: revision })) {
    // Alert streams hold only what the alert decider emitted.
    state = alertDecider.evolve(state, { type: stored.type, data: stored.data } as AlertEvent);
    version += 1;
  }
  return { state, version };
}
