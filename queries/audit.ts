// The audit trail (projections/audit-log.ts): a tenant's events oldest first, optionally narrowed to one stream,
// one actor or a time window, paged by log position. The cursor is the event's position itself, so the end of a
// page is also where a live `events(after:)` subscription can pick up.
import type { Actor, EventMetadata, JsonObject, Position } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { InvalidCursorError, pageSize, QueryInputError, toConnection, type Connection } from './pagination.ts';

export interface AuditEntry {
  /** The event's position. */
  cursor: Position;
  eventId: string;
  /** As clients see it (`incident-<id>`). */
  streamId: string;
  revision: number;
  type: string;
  recordedAt: Date;
  actor: Actor;
  data: JsonObject;
  /** As stored: tenant, actor, correlation and causation ids, trace, reason, schema version and hash chain. */
  metadata: EventMetadata;
}

export interface AuditTrailArgs {
  /** One stream, as clients see its id. */
  streamId?: string | null;
  /** Events of this actor id. */
  actor?: string | null;
  /** Recorded at or after this instant. */
  from?: Date | null;
  /** Recorded before this instant. */
  to?: Date | null;
  /** Page size, 1 to MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  first?: number | null;
  /** A position: the `endCursor` of the previous page, or any event's cursor. */
  after?: Position | null;
}

// Positions are opaque to the read side (each backend has its own format), so a cursor is only checked for being
// a plausible one; a made-up but well-formed position simply pages from wherever it sorts.
const POSITION = /^[\x21-\x7e]{1,256}$/;

function instant(argument: string, value: Date | null | undefined): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (Number.isNaN(value.getTime())) throw new QueryInputError(argument, 'is not a valid instant');
  return value;
}

interface AuditRow {
  cursor: string;
  eventId: string;
  streamId: string;
  revision: string | number | bigint;
  type: string;
  recordedAt: Date;
  actorId: string;
  actorKind: Actor['kind'];
  actorRoles: string[];
  data: JsonObject;
  metadata: EventMetadata;
}

export async function auditTrail(db: SqlExecutor, tenant: string, args: AuditTrailArgs = {}): Promise<Connection<AuditEntry>> {
  const first = pageSize(args.first);
  const from = instant('from', args.from);
  const to = instant('to', args.to);
  if (from !== undefined && to !== undefined && to < from) throw new QueryInputError('to', 'must not be before from');
  const params: unknown[] = [tenant];
  const where = ['tenant_id = $1'];
  const filters: [string, unknown][] = [
    ['stream_id =', args.streamId],
    ['actor_id =', args.actor],
    ['recorded_at >=', from],
    ['recorded_at <', to],
  ];
  for (const [condition, value] of filters) {
    if (value === undefined || value === null) continue;
    params.push(value);
    where.push(`${condition} $${params.length}`);
  }
  if (args.after !== undefined && args.after !== null) {
    if (!POSITION.test(args.after)) throw new InvalidCursorError('after', args.after);
    params.push(args.after);
    where.push(`position > $${params.length}`);
  }
  params.push(first + 1);
  const { rows } = await db.query<AuditRow>(
    `SELECT position AS cursor, event_id AS "eventId", stream_id AS "streamId", revision, type,
       recorded_at AS "recordedAt", actor_id AS "actorId", actor_kind AS "actorKind", actor_roles AS "actorRoles",
       data, metadata
       FROM audit_log WHERE ${where.join(' AND ')} ORDER BY position LIMIT $${params.length}`,
    params,
  );
  const entries = rows.map(({ revision, actorId, actorKind, actorRoles, ...entry }): AuditEntry => ({
    ...entry,
    revision: Number(revision),
    actor: { id: actorId, kind: actorKind, roles: actorRoles },
  }));
  return toConnection(entries, first, (entry) => entry.cursor);
}
