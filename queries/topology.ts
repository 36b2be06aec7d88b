// Reads over the topology read model (projections/topology.ts): services by name, the catalog page by page, and the
// walks over the dependency graph. Walks load the tenant's edges in one query and search them breadth-first in
// memory (domain/service/graph.ts): linear in the graph's size, safe on cycles, and a few milliseconds for a few
// thousand services, where a recursive CTE enumerating paths may grow exponentially on dense graphs.
import { DependencyGraph, type Reached } from '../domain/service/index.ts';
import type { Position } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { decodeCursor, encodeCursor, pageSize, QueryInputError, toConnection, type Connection } from './pagination.ts';

export interface ServiceRow {
  name: string;
  /** False for a name that only a dependency names: it has no description, and is not retired. */
  registered: boolean;
  tier: number | null;
  owner: string | null;
  runbookUrl: string | null;
  tags: string[];
  retired: boolean;
  retirementReason: string | null;
  registeredAt: Date | null;
  retiredAt: Date | null;
  /** Cursor of the service's last applied event; null for an unregistered name. */
  lastPosition: Position | null;
}

export type { Reached } from '../domain/service/index.ts';

/** Walks deeper than this are refused: no real call chain is that long, and the answer would be the whole graph. */
const MAX_DEPTH = 1000;

/** The description columns of `services` under the alias `table`. */
function serviceColumns(table: string): string {
  return `${table}.tier, ${table}.owner, ${table}.runbook_url AS "runbookUrl", ${table}.tags, ${table}.retired,
    ${table}.retirement_reason AS "retirementReason", ${table}.registered_at AS "registeredAt",
    ${table}.retired_at AS "retiredAt", ${table}.last_position AS "lastPosition"`;
}

/** A walk's depth as given: null or absent is unlimited, otherwise a whole number of edges from 1 to MAX_DEPTH. */
export function depthArgument(depth: number | null | undefined): number | undefined {
  if (depth === undefined || depth === null) return undefined;
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new QueryInputError('depth', `must be an integer from 1 to ${MAX_DEPTH} (or null for no limit), got ${depth}`);
  }
  return depth;
}

/**
 * The services with these names, in the order asked: registered ones (retired included) as the catalog describes
 * them, names that only a dependency names as unregistered services, and null for names the tenant never mentioned.
 */
export async function getServices(db: SqlExecutor, tenant: string, names: readonly string[]): Promise<(ServiceRow | null)[]> {
  if (names.length === 0) return [];
  const { rows } = await db.query<ServiceRow>(
    `SELECT asked.name, s.name IS NOT NULL AS registered, ${serviceColumns('s')}
       FROM (SELECT DISTINCT name FROM unnest($2::text[]) AS asked(name)) asked
       LEFT JOIN services s ON s.tenant_id = $1 AND s.name = asked.name
      WHERE s.name IS NOT NULL
         OR EXISTS (SELECT FROM service_dependencies d WHERE d.tenant_id = $1 AND d.to_service = asked.name)`,
    [tenant, names],
  );
  const byName = new Map(rows.map((row) => [row.name, { ...row, tags: row.tags ?? [], retired: row.retired ?? false }]));
  return names.map((name) => byName.get(name) ?? null);
}

export interface ListServicesArgs {
  /** Page size, 1 to MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  first?: number | null;
  /** The `endCursor` of the previous page. */
  after?: string | null;
}

/** Registered services (retired ones included) by name, keyset-paged. */
export async function listServices(db: SqlExecutor, tenant: string, args: ListServicesArgs = {}): Promise<Connection<ServiceRow>> {
  const first = pageSize(args.first);
  const after =
    args.after === undefined || args.after === null
      ? null
      : decodeCursor('after', args.after, ({ name }) => (typeof name === 'string' ? name : undefined));
  const { rows } = await db.query<ServiceRow>(
    `SELECT name, true AS registered, ${serviceColumns('services')} FROM services
      WHERE tenant_id = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3`,
    [tenant, after, first + 1],
  );
  return toConnection(rows, first, (row) => encodeCursor({ name: row.name }));
}

/** The tenant's whole dependency graph, from one query. */
export async function dependencyGraph(db: SqlExecutor, tenant: string): Promise<DependencyGraph> {
  const { rows } = await db.query<{ from: string; to: string }>(
    'SELECT from_service AS "from", to_service AS "to" FROM service_dependencies WHERE tenant_id = $1',
    [tenant],
  );
  return new DependencyGraph(rows);
}

/**
 * What the services depend on, transitively, up to `depth` edges away (unlimited when absent), nearest first; the
 * services themselves are never in the answer. For correlation: "the upstream dependencies of the affected services".
 */
export async function upstreamOf(
  db: SqlExecutor,
  tenant: string,
  services: readonly string[],
  depth?: number | null,
): Promise<Reached[]> {
  const limit = depthArgument(depth);
  return (await dependencyGraph(db, tenant)).upstream(services, limit);
}

/** What depends on the services, transitively, up to `depth` edges away (unlimited when absent), nearest first. */
export async function downstreamOf(
  db: SqlExecutor,
  tenant: string,
  services: readonly string[],
  depth?: number | null,
): Promise<Reached[]> {
  const limit = depthArgument(depth);
  return (await dependencyGraph(db, tenant)).downstream(services, limit);
}

/** A shortest chain of calls from `from` to `to`, both included; null when `from` does not reach `to`. */
export async function dependencyPath(db: SqlExecutor, tenant: string, from: string, to: string): Promise<string[] | null> {
  return (await dependencyGraph(db, tenant)).path(from, to);
}
