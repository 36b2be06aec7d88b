// Reads over the incident read models (projections/incidents.ts): the filtered list, newest first and keyset-paged,
// and the detail of many incidents at once, one query per kind of detail, so GraphQL loaders never go N+1.
import {
  INCIDENT_STATUSES,
  SEVERITIES,
  type IncidentStatus,
  type RemediationStepStatus,
  type ResponderRole,
  type Severity,
} from '../domain/incident/index.ts';
import type { ActorKind, Position } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { decodeCursor, encodeCursor, pageSize, QueryInputError, toConnection, type Connection } from './pagination.ts';

export interface Incident {
  id: string;
  /** As clients see it: `incident-<id>`. */
  streamId: string;
  title: string;
  status: IncidentStatus;
  severity: Severity;
  services: string[];
  summary: string | null;
  /** Number of the incident's events applied, i.e. the version `expectedVersion` refers to. */
  version: number;
  declaredAt: Date;
  acknowledgedAt: Date | null;
  mitigatedAt: Date | null;
  resolvedAt: Date | null;
  closedAt: Date | null;
  resolution: string | null;
  updatedAt: Date;
  /** Cursor of the incident's last applied event. */
  lastPosition: Position;
}

export interface TimelineEntry {
  incidentId: string;
  /** The event's position. */
  cursor: Position;
  revision: number;
  eventId: string;
  at: Date;
  type: string;
  actor: { id: string; kind: ActorKind };
  /** One human-readable line, e.g. "Severity changed SEV3 → SEV1: customer impact". */
  text: string;
}

export interface Responder {
  incidentId: string;
  userId: string;
  role: ResponderRole;
  assignedAt: Date;
  assignedBy: string;
}

export interface RemediationStep {
  incidentId: string;
  stepId: string;
  title: string;
  description: string | null;
  command: string | null;
  status: RemediationStepStatus;
  proposedBy: string;
  proposedAt: Date;
  approvedBy: string | null;
  approvedAt: Date | null;
  startedBy: string | null;
  startedAt: Date | null;
  /** Who ended the step (succeeded, failed or skipped), and when. */
  finishedBy: string | null;
  finishedAt: Date | null;
  output: string | null;
  error: string | null;
  /** Why the step was skipped. */
  reason: string | null;
}

export interface LinkedAlert {
  incidentId: string;
  fingerprint: string;
  linkedAt: Date;
  linkedBy: string;
}

export interface SuspectChange {
  incidentId: string;
  changeId: string;
  reason: string | null;
  linkedAt: Date;
  linkedBy: string;
}

export interface ListIncidentsArgs {
  /** Any of these statuses; absent or empty means any status. */
  status?: readonly IncidentStatus[] | null;
  /** Any of these severities; absent or empty means any severity. */
  severity?: readonly Severity[] | null;
  /** Incidents affecting this service. */
  service?: string | null;
  /** Page size, 1 to MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  first?: number | null;
  /** The `endCursor` of the previous page. */
  after?: string | null;
}

const INCIDENT_COLUMNS = `id, stream_id AS "streamId", title, status, severity, services, summary, version,
  declared_at AS "declaredAt", acknowledged_at AS "acknowledgedAt", mitigated_at AS "mitigatedAt",
  resolved_at AS "resolvedAt", closed_at AS "closedAt", resolution, updated_at AS "updatedAt",
  last_position AS "lastPosition"`;

function checkedList<T extends string>(argument: string, values: readonly string[] | null | undefined, allowed: readonly T[]): T[] {
  return (values ?? []).map((value) => {
    const found = allowed.find((candidate) => candidate === value);
    if (found === undefined) throw new QueryInputError(argument, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
    return found;
  });
}

// Newest first by declaration time, the id breaking ties: the cursor is that pair. Declaration instants have
// millisecond precision (the domain takes them from Date#toISOString), so a Date carries them exactly.
function incidentCursor(incident: Incident): string {
  return encodeCursor({ declaredAt: incident.declaredAt.toISOString(), id: incident.id });
}

function readIncidentCursor(after: string): { declaredAt: string; id: string } {
  return decodeCursor('after', after, ({ declaredAt, id }) =>
    typeof declaredAt === 'string' && !Number.isNaN(Date.parse(declaredAt)) && typeof id === 'string'
      ? { declaredAt, id }
      : undefined,
  );
}

export async function listIncidents(db: SqlExecutor, tenant: string, args: ListIncidentsArgs = {}): Promise<Connection<Incident>> {
  const first = pageSize(args.first);
  const statuses = checkedList('status', args.status, INCIDENT_STATUSES);
  const severities = checkedList('severity', args.severity, SEVERITIES);
  const params: unknown[] = [tenant];
  const where = ['tenant_id = $1'];
  if (statuses.length > 0) {
    params.push(statuses);
    where.push(`status = ANY($${params.length}::text[])`);
  }
  if (severities.length > 0) {
    params.push(severities);
    where.push(`severity = ANY($${params.length}::text[])`);
  }
  if (args.service !== undefined && args.service !== null) {
    params.push([args.service]);
    where.push(`services @> $${params.length}::text[]`);
  }
  if (args.after !== undefined && args.after !== null) {
    const { declaredAt, id } = readIncidentCursor(args.after);
    params.push(declaredAt, id);
    where.push(`(declared_at, id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(first + 1);
  const { rows } = await db.query<Incident>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE ${where.join(' AND ')}
      ORDER BY declared_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return toConnection(rows, first, incidentCursor);
}

/**
 * For each of `services`, the incidents affecting it with any of `statuses`, newest first, at most `limit` each: one
 * statement for every service of a response (a service's open incidents).
 */
export async function incidentsOfServices(
  db: SqlExecutor,
  tenant: string,
  services: readonly string[],
  statuses: readonly IncidentStatus[],
  limit: number,
): Promise<Incident[][]> {
  if (services.length === 0) return [];
  const { rows } = await db.query<Incident & { affected: string }>(
    `SELECT asked.service AS affected, i.* FROM unnest($2::text[]) AS asked(service)
       CROSS JOIN LATERAL (SELECT ${INCIDENT_COLUMNS} FROM incidents
         WHERE tenant_id = $1 AND services @> ARRAY[asked.service] AND status = ANY($3::text[])
         ORDER BY declared_at DESC, id DESC LIMIT $4) i`,
    [tenant, services, statuses, limit],
  );
  const grouped = new Map<string, Incident[]>();
  for (const { affected, ...incident } of rows) {
    const group = grouped.get(affected);
    if (group === undefined) grouped.set(affected, [incident]);
    else group.push(incident);
  }
  return services.map((service) => grouped.get(service) ?? []);
}

/** The incidents with these ids, in the order asked (null where there is none in this tenant). */
export async function getIncidents(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<(Incident | null)[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<Incident>(
    `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = ANY($2::text[])`,
    [tenant, ids],
  );
  const byId = new Map(rows.map((incident) => [incident.id, incident]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Rows of one detail table for many incidents at once, grouped per incident in the order of `ids`. */
async function detailsOf<Row extends { incidentId: string }>(
  db: SqlExecutor,
  tenant: string,
  ids: readonly string[],
  select: string,
): Promise<Row[][]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<Row>(select, [tenant, ids]);
  const grouped = new Map<string, Row[]>();
  for (const row of rows) {
    const group = grouped.get(row.incidentId);
    if (group === undefined) grouped.set(row.incidentId, [row]);
    else group.push(row);
  }
  return ids.map((id) => grouped.get(id) ?? []);
}

type TimelineRow = Omit<TimelineEntry, 'revision' | 'actor'> & {
  revision: string | number | bigint;
  actorId: string;
  actorKind: ActorKind;
};

/** Each incident's timeline, oldest entry first. */
export async function getTimelines(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<TimelineEntry[][]> {
  const rows = await detailsOf<TimelineRow>(
    db,
    tenant,
    ids,
    `SELECT incident_id AS "incidentId", position AS cursor, revision, event_id AS "eventId", at, type,
       actor_id AS "actorId", actor_kind AS "actorKind", text
       FROM incident_timeline WHERE tenant_id = $1 AND incident_id = ANY($2::text[]) ORDER BY incident_id, revision`,
  );
  // int8 arrives as a string from pg (and may be a bigint elsewhere); revisions of one stream fit a number.
  return rows.map((entries) =>
    entries.map(({ actorId, actorKind, revision, ...entry }) => ({
      ...entry,
      revision: Number(revision),
      actor: { id: actorId, kind: actorKind },
    })),
  );
}

/** Each incident's current responders, in the order they took their current role. */
export function getResponders(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<Responder[][]> {
  return detailsOf<Responder>(
    db,
    tenant,
    ids,
    `SELECT incident_id AS "incidentId", user_id AS "userId", role, assigned_at AS "assignedAt",
       assigned_by AS "assignedBy"
       FROM incident_responders WHERE tenant_id = $1 AND incident_id = ANY($2::text[]) ORDER BY incident_id, position`,
  );
}

/** Each incident's remediation steps, in the order they were proposed. */
export function getRemediationSteps(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<RemediationStep[][]> {
  return detailsOf<RemediationStep>(
    db,
    tenant,
    ids,
    `SELECT incident_id AS "incidentId", step_id AS "stepId", title, description, command, status,
       proposed_by AS "proposedBy", proposed_at AS "proposedAt", approved_by AS "approvedBy",
       approved_at AS "approvedAt", started_by AS "startedBy", started_at AS "startedAt",
       finished_by AS "finishedBy", finished_at AS "finishedAt", output, error, reason
       FROM incident_remediation_steps WHERE tenant_id = $1 AND incident_id = ANY($2::text[])
       ORDER BY incident_id, position`,
  );
}

/** Fingerprints of the alerts linked to each incident, in the order they were linked. */
export function getLinkedAlerts(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<LinkedAlert[][]> {
  return detailsOf<LinkedAlert>(
    db,
    tenant,
    ids,
    `SELECT incident_id AS "incidentId", fingerprint, linked_at AS "linkedAt", linked_by AS "linkedBy"
       FROM incident_alerts WHERE tenant_id = $1 AND incident_id = ANY($2::text[]) ORDER BY incident_id, position`,
  );
}

/** The changes suspected of causing each incident, in the order they were linked. */
export function getSuspectChanges(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<SuspectChange[][]> {
  return detailsOf<SuspectChange>(
    db,
    tenant,
    ids,
    `SELECT incident_id AS "incidentId", change_id AS "changeId", reason, linked_at AS "linkedAt",
       linked_by AS "linkedBy"
       FROM incident_suspect_changes WHERE tenant_id = $1 AND incident_id = ANY($2::text[])
       ORDER BY incident_id, position`,
  );
}
