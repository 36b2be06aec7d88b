// What every Incident field resolves from, whichever source the incident came from: a read-model row (`incident`,
// `incidents`) or a fold of its events (a mutation's result, `asOf`, a live change). The nested lists come from
// loaders, one batch per list and request, so a page of incidents costs one query per kind of list, not per incident.
import type { IncidentCommandResult } from '../../commands/incident.ts';
import { ValidationError } from '../../domain/shared/errors.ts';
import type { EventStore, Position } from '../../infra/eventstore/port.ts';
import { INCIDENTS_PROJECTION } from '../../projections/incidents.ts';
import {
  incidentAtVersion,
  incidentFields,
  type IncidentFields,
  type IncidentSnapshot,
} from '../../queries/incident-history.ts';
import {
  getRemediationSteps,
  getResponders,
  getTimelines,
  type Incident,
} from '../../queries/incidents.ts';
import type { SqlExecutor } from '../../infra/sql/port.ts';
import { requireRole } from '../auth/roles.ts';
import type { GraphQLContext, Loaders } from './context.ts';
import { readModelsConsistentWith } from './request.ts';

const MAX_ID_LENGTH = 255;

/**
 * An incident as the Incident type's fields read it. A folded one carries the snapshot of its nested lists at
 * `version` (read once, on demand); a read-model row has its lists read from the read models. `source` is plain
 * data so that loaders, which key their cache by the parent's JSON, never mix the two.
 */
export type IncidentNode = IncidentFields & {
  /** Cursor of the incident's last event. */
  position: Position;
} & ({ source: 'readModel' } | { source: 'events'; snapshot: () => Promise<IncidentSnapshot> });

/** An incident folded from its events. */
export type FoldedIncidentNode = Extract<IncidentNode, { source: 'events' }>;

export function nodeFromRow(row: Incident): IncidentNode {
  return { ...row, position: row.lastPosition, source: 'readModel' };
}

export function nodeFromSnapshot(snapshot: IncidentSnapshot): FoldedIncidentNode {
  return { ...snapshot.incident, position: snapshot.position, source: 'events', snapshot: () => Promise.resolve(snapshot) };
}

/**
 * The incident as the command left it (the read models may lag behind it). Its nested lists are the stream at the
 * command's version, read only if asked for: the command's state has no record of who made each change.
 */
export function nodeFromCommand(store: EventStore, tenant: string, result: IncidentCommandResult): FoldedIncidentNode {
  let loaded: Promise<IncidentSnapshot> | undefined;
  const load = async () => {
    const snapshot = await incidentAtVersion(store, tenant, result.incidentId, result.version);
    if (snapshot === null) throw new Error(`incident ${result.incidentId} has no events up to version ${result.version}`);
    return snapshot;
  };
  return {
    ...incidentFields(result.incident),
    position: result.cursor,
    source: 'events',
    snapshot: () => (loaded ??= load()),
  };
}

/** Read-your-writes over the incident read models (request.ts). */
export function incidentsConsistentWith(context: GraphQLContext, cursor: Position): Promise<void> {
  return readModelsConsistentWith(context, cursor, [INCIDENTS_PROJECTION]);
}

/** An id argument (incident, step): ids are what the commands handed out, so anything far from one is refused early. */
export function idArgument(argument: string, value: string): string {
  // Control characters (NUL above all) would reach SQL text parameters and stream ids.
  if (value.length === 0 || value.length > MAX_ID_LENGTH || /\p{Cc}/u.test(value)) {
    throw new ValidationError(argument, `must be 1 to ${MAX_ID_LENGTH} printable characters`);
  }
  return value;
}

interface NodeQuery {
  obj: IncidentNode;
}

type Batch<Row> = (db: SqlExecutor, tenant: string, ids: readonly string[]) => Promise<Row[][]>;

/** Each incident's rows of one list, from one batched query. */
async function readModelLists<Row>(
  db: SqlExecutor,
  tenant: string,
  ids: readonly string[],
  batch: Batch<Row>,
): Promise<Map<string, Row[]>> {
  const distinct = [...new Set(ids)];
  if (distinct.length === 0) return new Map();
  const lists = await batch(db, tenant, distinct);
  return new Map(distinct.map((id, index) => [id, lists[index] ?? []]));
}

/** A nested list loader: folded incidents answer from their snapshot, read-model ones from one batched query. */
function listLoader<Row, Item>(
  batch: Batch<Row>,
  fromSnapshot: (snapshot: IncidentSnapshot) => Row[],
  toItem: (row: Row) => Item,
) {
  return async (queries: NodeQuery[], context: GraphQLContext): Promise<Item[][]> => {
    const { tenant } = requireRole(context, 'read');
    const rowIds = queries.filter(({ obj }) => obj.source === 'readModel').map(({ obj }) => obj.id);
    const fromReadModel = await readModelLists(context.services.readDb, tenant, rowIds, batch);
    return Promise.all(
      queries.map(async ({ obj }) => {
        const rows = obj.source === 'events' ? fromSnapshot(await obj.snapshot()) : (fromReadModel.get(obj.id) ?? []);
        return rows.map(toItem);
      }),
    );
  };
}

const same = <Row>(row: Row) => row;

export const loaders: Loaders = {
  Incident: {
    async timeline(queries: NodeQuery[], context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      // The timeline lives only in the read models: a folded incident may be ahead of them, so wait for its last
      // event first. Each list stops at the incident's version, as the read models may have moved on since.
      const folded = queries.filter(({ obj }) => obj.source === 'events').map(({ obj }) => obj.position);
      if (folded.length > 0) await incidentsConsistentWith(context, folded.reduce((a, b) => (a > b ? a : b)));
      const ids = queries.map(({ obj }) => obj.id);
      const timelines = await readModelLists(context.services.readDb, tenant, ids, getTimelines);
      return queries.map(({ obj }) => (timelines.get(obj.id) ?? []).filter((entry) => entry.revision < obj.version));
    },
    responders: listLoader(getResponders, (snapshot) => snapshot.responders, same),
    remediationSteps: listLoader(getRemediationSteps, (snapshot) => snapshot.remediationSteps, same),
    // `alerts` is alert.ts': an incident's alerts are read with the alerts.
    // `suspectChanges` is change.ts': an incident's suspect changes are read with the changes.
  },
};
