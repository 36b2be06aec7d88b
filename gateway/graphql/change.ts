// Resolvers of change.graphql. Thin: `changes` reads queries/changes.ts, `recordChange` runs commands/change.ts, and
// an incident's suspect changes (Incident.suspectChanges) are read with the changes, one statement per request.
import { recordChange, type ChangeCommandResult } from '../../commands/change.ts';
import type { JsonRecord } from '../../domain/change/index.ts';
import { CHANGES_PROJECTION } from '../../projections/changes.ts';
import { getChanges, getIncidentSuspectChanges, listChanges, type Change, type ListChangesArgs } from '../../queries/changes.ts';
import type { SuspectChange } from '../../queries/incidents.ts';
import { requireRole } from '../auth/roles.ts';
import type { GraphQLContext, Loaders, Resolvers } from './context.ts';
import type { IncidentNode } from './incident-node.ts';
import { commandContext, readModelsConsistentWith } from './request.ts';

/** What the Change type's fields read, from the read model or from a command's result. */
export type ChangeNode = Omit<Change, 'kind' | 'recordedBy' | 'position'> & { kind: string | null; recordedBy: string | null };

interface RecordChangeArgs {
  input: {
    id?: string | null;
    service?: string | null;
    kind?: string | null;
    summary: string;
    version?: string | null;
    author?: string | null;
    source?: string | null;
    at?: Date | null;
    links?: { href: string; text?: string | null }[] | null;
    customDetails?: unknown;
  };
}

interface ChangesArgs extends ListChangesArgs {
  consistentWith?: string | null;
}

function nodeFromCommand(result: ChangeCommandResult, recordedBy: string): ChangeNode {
  const { changeId, at, ...fields } = result.change;
  return { ...fields, id: changeId, at: new Date(at), recordedBy };
}

/** An incident's suspect change as its link knows it, until (or unless) the change itself is in the read model. */
function linkedOnly(link: SuspectChange): ChangeNode {
  return {
    id: link.changeId,
    service: null,
    kind: null,
    summary: link.reason ?? `change ${link.changeId}`,
    version: null,
    author: null,
    source: null,
    at: link.linkedAt,
    links: [],
    customDetails: {},
    recordedBy: null,
  };
}

export const loaders: Loaders = {
  Incident: {
    /**
     * Read-model incidents: their links joined with the changes in one statement. Folded incidents (a mutation's
     * answer, `asOf`, a live change) know their links from the snapshot: their changes are read in one more.
     */
    async suspectChanges(queries: { obj: IncidentNode }[], context: GraphQLContext): Promise<ChangeNode[][]> {
      const { tenant } = requireRole(context, 'read');
      const db = context.services.readDb;
      const rowIds = [...new Set(queries.flatMap(({ obj }) => (obj.source === 'readModel' ? [obj.id] : [])))];
      const rows = new Map((await getIncidentSuspectChanges(db, tenant, rowIds)).map((links, index) => [rowIds[index], links]));
      const snapshots = await Promise.all(queries.map(({ obj }) => (obj.source === 'events' ? obj.snapshot() : undefined)));
      const ids = [...new Set(snapshots.flatMap((snapshot) => snapshot?.suspectChanges.map((link) => link.changeId) ?? []))];
      const known = new Map((await getChanges(db, tenant, ids)).flatMap((change) => (change ? [[change.id, change] as const] : [])));
      return queries.map(({ obj }, index) => {
        const snapshot = snapshots[index];
        if (snapshot === undefined) return (rows.get(obj.id) ?? []).map((link) => link.change ?? linkedOnly(link));
        return snapshot.suspectChanges.map((link) => known.get(link.changeId) ?? linkedOnly(link));
      });
    },
  },
};

export const resolvers: Resolvers = {
  Query: {
    async changes(_root: unknown, { consistentWith, ...args }: ChangesArgs, context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      if (consistentWith !== undefined && consistentWith !== null) {
        await readModelsConsistentWith(context, consistentWith, [CHANGES_PROJECTION]);
      }
      return listChanges(context.services.readDb, tenant, args);
    },
  },

  Mutation: {
    async recordChange(_root: unknown, { input }: RecordChangeArgs, context: GraphQLContext) {
      const principal = requireRole(context, 'change:record');
      const { at, customDetails, author, ...fields } = input;
      const result = await recordChange(context.services.eventStore, commandContext(principal, context), {
        ...fields,
        author: author ?? principal.sub,
        at: at?.toISOString() ?? null,
        // The JSON scalar passes any value; the domain refuses anything but an object.
        customDetails: customDetails as JsonRecord | null | undefined,
      });
      return { change: nodeFromCommand(result, principal.sub), cursor: result.cursor };
    },
  },
};
