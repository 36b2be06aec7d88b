// Reads over the changes read model (projections/changes.ts): the filtered list newest first and keyset-paged,
// changes by id (an incident's suspects), and the changes on a set of services within a time window, which is what
// the correlation of incidents with changes asks.
import type { ChangeKind, ChangeLink, JsonRecord } from '../domain/change/index.ts';
import type { Position } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import type { SuspectChange } from './incidents.ts';
import { decodeCursor, encodeCursor, pageSize, QueryInputError, toConnection, type Connection } from './pagination.ts';

export interface Change {
  id: string;
  service: string | null;
  kind: ChangeKind;
  summary: string;
  version: string | null;
  author: string | null;
  source: string | null;
  /** When the change happened. */
  at: Date;
  links: ChangeLink[];
  customDetails: JsonRecord;
  /** Who reported it (the token's subject of the sender or the user). */
  recordedBy: string;
  /** Cursor of the change's event. */
  position: Position;
}

export interface ListChangesArgs {
  service?: string | null;
  /** Changes at or after this instant. */
  from?: Date | null;
  /** Changes before this instant. */
  to?: Date | null;
  /** Page size, 1 to MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  first?: number | null;
  /** The `endCursor` of the previous page. */
  after?: string | null;
}

/** The columns of `changes` under the alias `table`, named as Change names them. */
function changeColumns(table: string): string {
  return `${table}.id, ${table}.service, ${table}.kind, ${table}.summary, ${table}.version, ${table}.author,
    ${table}.source, ${table}.at, ${table}.links, ${table}.custom_details AS "customDetails",
    ${table}.recorded_by AS "recordedBy", ${table}.position`;
}
const CHANGE_COLUMNS = changeColumns('changes');

function window(from: Date | null | undefined, to: Date | null | undefined): { from: Date | null; to: Date | null } {
  if (from && to && to < from) throw new QueryInputError('to', 'must not be before from');
  return { from: from ?? null, to: to ?? null };
}

// Newest first by the change's time, the id breaking ties: the cursor is that pair (instants have millisecond
// precision, as the domain takes them from Date#toISOString, so a Date carries them exactly).
function changeCursor(change: Change): string {
  return encodeCursor({ at: change.at.toISOString(), id: change.id });
}

function readChangeCursor(after: string): { at: string; id: string } {
  return decodeCursor('after', after, ({ at, id }) =>
    typeof at === 'string' && !Number.isNaN(Date.parse(at)) && typeof id === 'string' ? { at, id } : undefined,
  );
}

/** The tenant's changes newest first, on one service and within [from, to) when given. */
export async function listChanges(db: SqlExecutor, tenant: string, args: ListChangesArgs = {}): Promise<Connection<Change>> {
  const first = pageSize(args.first);
  const { from, to } = window(args.from, args.to);
  const cursor = args.after === undefined || args.after === null ? null : readChangeCursor(args.after);
  const { rows } = await db.query<Change>(
    `SELECT ${CHANGE_COLUMNS} FROM changes
      WHERE tenant_id = $1 AND ($2::text IS NULL OR service = $2)
        AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)
        AND ($5::timestamptz IS NULL OR (at, id) < ($5, $6::text))
      ORDER BY at DESC, id DESC LIMIT $7`,
    [tenant, args.service ?? null, from, to, cursor?.at ?? null, cursor?.id ?? null, first + 1],
  );
  return toConnection(rows, first, changeCursor);
}

/** The changes with these ids, in the order asked (null where there is none in this tenant). */
export async function getChanges(db: SqlExecutor, tenant: string, ids: readonly string[]): Promise<(Change | null)[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<Change>(
    `SELECT ${CHANGE_COLUMNS} FROM changes WHERE tenant_id = $1 AND id = ANY($2::text[])`,
    [tenant, ids],
  );
  const byId = new Map(rows.map((change) => [change.id, change]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * Every change on any of `services` at or after `from` and before `to` (no bound when null), newest first. For
 * correlation: "changes on the affected services or their upstream dependencies within the look-back window", the
 * services being the affected ones and their upstreamOf.
 */
export async function changesForServices(
  db: SqlExecutor,
  tenant: string,
  services: readonly string[],
  from: Date,
  to: Date | null,
): Promise<Change[]> {
  window(from, to);
  if (services.length === 0) return [];
  const { rows } = await db.query<Change>(
    `SELECT ${CHANGE_COLUMNS} FROM changes
      WHERE tenant_id = $1 AND service = ANY($2::text[]) AND at >= $3 AND ($4::timestamptz IS NULL OR at < $4)
      ORDER BY at DESC, id DESC`,
    [tenant, services, from, to],
  );
  return rows;
}

/** A change linked to an incident as a suspect, with the change itself (null until the change is recorded). */
export type IncidentSuspectChange = SuspectChange & { change: Change | null };

/** Each incident's suspect changes in the order they were linked, joined with the changes in one statement. */
export async function getIncidentSuspectChanges(
  db: SqlExecutor,
  tenant: string,
  incidentIds: readonly string[],
): Promise<IncidentSuspectChange[][]> {
  if (incidentIds.length === 0) return [];
  const { rows } = await db.query<SuspectChange & Partial<Change>>(
    `SELECT l.incident_id AS "incidentId", l.change_id AS "changeId", l.reason, l.linked_at AS "linkedAt",
       l.linked_by AS "linkedBy", ${changeColumns('c')}
       FROM incident_suspect_changes l
       LEFT JOIN changes c ON c.tenant_id = l.tenant_id AND c.id = l.change_id
      WHERE l.tenant_id = $1 AND l.incident_id = ANY($2::text[]) ORDER BY l.incident_id, l.position`,
    [tenant, incidentIds],
  );
  const grouped = new Map<string, IncidentSuspectChange[]>();
  for (const { incidentId, changeId, reason, linkedAt, linkedBy, ...change } of rows) {
    const link = { incidentId, changeId, reason, linkedAt, linkedBy, change: change.id === null ? null : (change as Change) };
    const group = grouped.get(incidentId);
    if (group === undefined) grouped.set(incidentId, [link]);
    else group.push(link);
  }
  return incidentIds.map((id) => grouped.get(id) ?? []);
}
