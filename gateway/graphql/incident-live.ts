// incidentChanged: the live events of incident streams (queries/live-events.ts), each with the incident as that event
// left it. The incident is folded from its stream, not read from the read model: the read model knows only the
// present, so a replay from an old cursor would pair every past event with today's incident, and even a live event
// would need a wait for the projection before each message. Folds are kept per stream, so an event usually costs
// one `evolve`; an incident met for the first time (or out of step) is read from its stream once, up to that event.
import { INCIDENT_CATEGORY } from '../../commands/incident.ts';
import type { EventStore, Position, StoredEvent } from '../../infra/eventstore/port.ts';
import { streamIdOf, unqualify } from '../../infra/eventstore/stream-name.ts';
import type { BusSubscriber } from '../../infra/bus/port.ts';
import { foldStream, type IncidentFold } from '../../queries/incident-history.ts';
import { liveEvents, type LiveEvent } from '../../queries/live-events.ts';
import { nodeFromSnapshot, type IncidentNode } from './incident-node.ts';
import { liveChanges } from './live-changes.ts';

/** Incidents whose fold a subscription keeps; beyond it the least recently changed one is read again if it changes. */
const FOLDS_KEPT = 128;

export interface IncidentChangePayload {
  cursor: Position;
  event: StoredEvent;
  incident: IncidentNode;
}

export interface IncidentChangesOptions {
  store: EventStore;
  bus: BusSubscriber;
  tenant: string;
  after?: Position;
  /** One incident's changes only. */
  incidentId?: string;
}

/** Folds per store-level stream id, least recently changed first. */
class Folds {
  private readonly folds = new Map<string, IncidentFold>();

  constructor(private readonly store: EventStore) {}

  /** The fold of the event's stream including the event. */
  async including(event: StoredEvent): Promise<IncidentFold> {
    let fold = this.folds.get(event.streamId);
    this.folds.delete(event.streamId);
    if (fold !== undefined && BigInt(fold.version) === event.revision) {
      fold.apply(event);
    } else {
      fold = await foldStream(this.store, event.streamId, { toRevision: event.revision });
    }
    this.folds.set(event.streamId, fold);
    const oldest = this.folds.keys().next();
    if (this.folds.size > FOLDS_KEPT && !oldest.done) this.folds.delete(oldest.value);
    return fold;
  }
}

/** Each change of the tenant's incidents (or of one), with the incident as that event left it. */
export function incidentChanges(options: IncidentChangesOptions): AsyncIterableIterator<IncidentChangePayload> {
  const { store, bus, tenant, after, incidentId } = options;
  const category = streamIdOf(INCIDENT_CATEGORY, '');
  // A prefix also matches longer ids (`incident-1` matches `incident-12`): the stream is compared exactly below.
  const streamPrefix = incidentId === undefined ? category : streamIdOf(INCIDENT_CATEGORY, incidentId);
  const source = liveEvents({ store, bus, tenant, after, filter: { streamPrefix } });
  const folds = new Folds(store);

  async function change({ cursor, event }: LiveEvent): Promise<IncidentChangePayload | undefined> {
    if (incidentId !== undefined && unqualify(tenant, event.streamId) !== streamPrefix) return undefined;
    const snapshot = (await folds.including(event)).snapshot();
    return snapshot === null ? undefined : { cursor, event, incident: nodeFromSnapshot(snapshot) };
  }

  return liveChanges(source, change);
}
