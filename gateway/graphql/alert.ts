// Resolvers of alert.graphql. Thin: lists and lookups read queries/alerts.ts; an incident's alerts and an alert's
// incident come from batched loaders (one statement per kind per request); alertChanged pairs each live event of the
// alert streams with the alert as that event left it, folded from its stream (the read model only knows the present).
import { ALERT_CATEGORY, alertClientStreamId } from '../../commands/alert.ts';
import { alertDecider, type Alert as FiredAlert, type AlertEvent, type AlertState } from '../../domain/alert/index.ts';
import type { BusSubscriber } from '../../infra/bus/port.ts';
import type { EventStore, Position, StoredEvent } from '../../infra/eventstore/port.ts';
import { streamIdOf, unqualify } from '../../infra/eventstore/stream-name.ts';
import { ALERTS_PROJECTION } from '../../projections/alerts.ts';
import {
  alertAtRevision,
  getAlerts,
  getIncidentAlerts,
  listAlerts,
  type Alert,
  type ListAlertsArgs,
} from '../../queries/alerts.ts';
import { getIncidents } from '../../queries/incidents.ts';
import { liveEvents, type LiveEvent } from '../../queries/live-events.ts';
import { requireRole } from '../auth/roles.ts';
import { eventEnvelope } from './base.ts';
import type { GraphQLContext, Loaders, Resolvers } from './context.ts';
import { idArgument, nodeFromRow as incidentNodeFromRow, type IncidentNode } from './incident-node.ts';
import { readModelsConsistentWith } from './request.ts';
import { liveChanges } from './live-changes.ts';

/** Alerts whose fold a subscription keeps; beyond it the least recently changed one is read again if it changes. */
const FOLDS_KEPT = 128;

/**
 * What the Alert type's fields read, from a read-model row or a fold of the stream. `incidentId` undefined means not
 * known here (a fold): the `incident` loader looks it up.
 */
export type AlertNode = Omit<Alert, 'incidentId' | 'updatedAt' | 'lastPosition'> & { incidentId?: string | null };

function nodeFromRow({ updatedAt: _updatedAt, lastPosition: _lastPosition, ...alert }: Alert): AlertNode {
  return alert;
}

function nodeFromState(state: FiredAlert): AlertNode {
  const date = (instant: string | null) => (instant === null ? null : new Date(instant));
  return {
    ...state,
    streamId: alertClientStreamId(state.fingerprint),
    startsAt: new Date(state.startsAt),
    endsAt: date(state.endsAt),
    acknowledgedAt: date(state.acknowledgedAt),
  };
}

/** An incident's alert that the alerts read model has not seen (yet): what the link knows. */
function linkedOnly(incidentId: string, fingerprint: string, linkedAt: Date): AlertNode {
  return {
    fingerprint,
    streamId: alertClientStreamId(fingerprint),
    status: 'FIRING',
    source: 'unknown',
    episode: 1,
    labels: {},
    annotations: {},
    service: null,
    severity: null,
    summary: null,
    groupKey: null,
    receiver: null,
    generatorURL: null,
    details: null,
    startsAt: linkedAt,
    endsAt: null,
    acknowledgedAt: null,
    incidentId,
  };
}

interface AlertChangePayload {
  cursor: Position;
  event: StoredEvent;
  alert: AlertNode;
}

interface AlertChangesOptions {
  store: EventStore;
  bus: BusSubscriber;
  tenant: string;
  after?: Position;
  /** One alert's changes only. */
  fingerprint?: string;
}

/** Each change of the tenant's alerts, with the alert as that event left it. Folds are kept per stream, so an event usually costs one `evolve`. */
function alertChanges(options: AlertChangesOptions): AsyncIterableIterator<AlertChangePayload> {
  const { store, bus, tenant, after, fingerprint } = options;
  // A prefix also matches longer ids (`alert-a` matches `alert-ab`): the stream is compared exactly below.
  const only = fingerprint === undefined ? undefined : alertClientStreamId(fingerprint);
  const streamPrefix = only ?? streamIdOf(ALERT_CATEGORY, '');
  const source = liveEvents({ store, bus, tenant, after, filter: { streamPrefix } });
  const folds = new Map<string, { state: AlertState; version: number }>();

  async function change({ cursor, event }: LiveEvent): Promise<AlertChangePayload | undefined> {
    if (only !== undefined && unqualify(tenant, event.streamId) !== only) return undefined;
    let fold = folds.get(event.streamId);
    folds.delete(event.streamId);
    if (fold !== undefined && BigInt(fold.version) === event.revision) {
      // Alert streams hold only what the alert decider emitted.
      const state = alertDecider.evolve(fold.state, { type: event.type, data: event.data } as AlertEvent);
      fold = { state, version: fold.version + 1 };
    } else {
      fold = await alertAtRevision(store, event.streamId, event.revision);
    }
    folds.set(event.streamId, fold);
    const oldest = folds.keys().next();
    if (folds.size > FOLDS_KEPT && !oldest.done) folds.delete(oldest.value);
    return fold.state.status === null ? undefined : { cursor, event, alert: nodeFromState(fold.state) };
  }

  return liveChanges(source, change);
}

const unique = <T>(items: readonly T[]) => [...new Set(items)];

/** The alerts with these fingerprints that the read model has, by fingerprint. */
async function alertsByFingerprint(context: GraphQLContext, tenant: string, fingerprints: readonly string[]) {
  const alerts = await getAlerts(context.services.readDb, tenant, unique(fingerprints));
  return new Map(alerts.flatMap((alert) => (alert === null ? [] : [[alert.fingerprint, alert] as const])));
}

function linkedAlert(link: { incidentId: string; fingerprint: string; linkedAt: Date }, alert: Alert | null | undefined) {
  return alert ? nodeFromRow(alert) : linkedOnly(link.incidentId, link.fingerprint, link.linkedAt);
}

export const loaders: Loaders = {
  Incident: {
    /**
     * Read-model incidents: their links joined with the alerts in one statement. Folded incidents (a mutation's
     * answer, `asOf`, a live change) know their links from the snapshot: their alerts are read in one more.
     */
    async alerts(queries: { obj: IncidentNode }[], context: GraphQLContext): Promise<AlertNode[][]> {
      const { tenant } = requireRole(context, 'read');
      const rowIds = unique(queries.flatMap(({ obj }) => (obj.source === 'readModel' ? [obj.id] : [])));
      const rowLinks = await getIncidentAlerts(context.services.readDb, tenant, rowIds);
      const ofRows = new Map(rowIds.map((id, index) => [id, rowLinks[index] ?? []]));
      const snapshots = await Promise.all(
        queries.map(({ obj }) => (obj.source === 'events' ? obj.snapshot() : undefined)),
      );
      const folded = snapshots.flatMap((snapshot) => snapshot?.alerts ?? []);
      const known = await alertsByFingerprint(context, tenant, folded.map((link) => link.fingerprint));
      return queries.map(({ obj }, index) => {
        const snapshot = snapshots[index];
        if (snapshot !== undefined) return snapshot.alerts.map((link) => linkedAlert(link, known.get(link.fingerprint)));
        return (ofRows.get(obj.id) ?? []).map((link) => linkedAlert(link, link.alert));
      });
    },
  },
  Alert: {
    async incident(queries: { obj: AlertNode }[], context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      // A folded alert does not know its incident: the read model does.
      const unknown = queries.flatMap(({ obj }) => (obj.incidentId === undefined ? [obj.fingerprint] : []));
      const looked = await alertsByFingerprint(context, tenant, unknown);
      const incidentIds = queries.map(({ obj }) =>
        obj.incidentId === undefined ? (looked.get(obj.fingerprint)?.incidentId ?? null) : obj.incidentId,
      );
      const wanted = unique(incidentIds.filter((id): id is string => id !== null));
      const rows = await getIncidents(context.services.readDb, tenant, wanted);
      const incidents = new Map(rows.flatMap((row) => (row === null ? [] : [[row.id, row] as const])));
      return incidentIds.map((id) => {
        const row = id === null ? undefined : incidents.get(id);
        return row === undefined ? null : incidentNodeFromRow(row);
      });
    },
  },
};

interface AlertsArgs extends ListAlertsArgs {
  consistentWith?: string | null;
}

export const resolvers: Resolvers = {
  Query: {
    async alerts(_root: unknown, { consistentWith, ...args }: AlertsArgs, context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      if (consistentWith !== undefined && consistentWith !== null) {
        await readModelsConsistentWith(context, consistentWith, [ALERTS_PROJECTION]);
      }
      const { edges, pageInfo } = await listAlerts(context.services.readDb, tenant, args);
      return { edges: edges.map(({ cursor, node }) => ({ cursor, node: nodeFromRow(node) })), pageInfo };
    },

    async alert(_root: unknown, args: { fingerprint: string; consistentWith?: string | null }, context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      const fingerprint = idArgument('fingerprint', args.fingerprint);
      if (args.consistentWith !== undefined && args.consistentWith !== null) {
        await readModelsConsistentWith(context, args.consistentWith, [ALERTS_PROJECTION]);
      }
      const [row] = await getAlerts(context.services.readDb, tenant, [fingerprint]);
      return row ? nodeFromRow(row) : null;
    },
  },

  Subscription: {
    alertChanged: {
      subscribe(_root: unknown, args: { after?: string | null; fingerprint?: string | null }, context: GraphQLContext) {
        const { tenant } = requireRole(context, 'read');
        const { eventStore, bus } = context.services;
        return alertChanges({
          store: eventStore,
          bus,
          tenant,
          after: args.after ?? undefined,
          fingerprint: args.fingerprint == null ? undefined : idArgument('fingerprint', args.fingerprint),
        });
      },
      resolve: ({ cursor, alert, event }: AlertChangePayload, _args: unknown, context: GraphQLContext) => ({
        cursor,
        alert,
        event: eventEnvelope(requireRole(context, 'read').tenant, event),
      }),
    },
  },
};
