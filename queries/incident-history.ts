// Incidents as they were: the stream folded with the incident decider's `evolve`, up to an instant (time travel,
// `incident(id, asOf)`), up to a version (what a command left), or one event at a time (the live feed). The read
// models only hold the present; the log holds every past. The result has the read models' shapes
// (queries/incidents.ts), so a caller treats an incident from either source alike.
import { INCIDENT_CATEGORY, incidentStreamId } from '../commands/incident.ts';
import {
  incidentDecider,
  type Incident as IncidentState,
  type IncidentEvent,
  type IncidentState as State,
} from '../domain/incident/index.ts';
import { START, type EventStore, type Position, type ReadStreamOptions, type StoredEvent } from '../infra/eventstore/port.ts';
import { streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { Incident, LinkedAlert, RemediationStep, Responder, SuspectChange } from './incidents.ts';

/** An incident's own fields, as a read-model row has them (without the row's bookkeeping). */
export type IncidentFields = Omit<Incident, 'updatedAt' | 'lastPosition'>;

export interface IncidentSnapshot {
  incident: IncidentFields;
  /** Cursor of the last event folded. */
  position: Position;
  responders: Responder[];
  remediationSteps: RemediationStep[];
  alerts: LinkedAlert[];
  suspectChanges: SuspectChange[];
}

/** Who did something and when, as the read models record it. */
interface Provenance {
  by: string;
  at: Date;
}

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED']);

export function incidentFields(state: IncidentState): IncidentFields {
  const date = (instant: string | null) => (instant === null ? null : new Date(instant));
  return {
    id: state.id,
    streamId: streamIdOf(INCIDENT_CATEGORY, state.id),
    title: state.title,
    status: state.status,
    severity: state.severity,
    services: [...state.services],
    summary: state.summary,
    version: state.version,
    declaredAt: new Date(state.declaredAt),
    acknowledgedAt: date(state.acknowledgedAt),
    mitigatedAt: date(state.mitigatedAt),
    resolvedAt: date(state.resolvedAt),
    closedAt: date(state.closedAt),
    resolution: state.resolution,
  };
}

/**
 * One incident's stream folded event by event. `evolve` decides what the incident is; beside it the fold keeps
 * who made each change (the domain state needs only the current status of a step, the read models show every
 * transition), so a snapshot has everything the read models would have had at that point.
 */
export class IncidentFold {
  state: State = incidentDecider.initialState();
  position: Position = START;
  private readonly assignedBy = new Map<string, string>();
  private readonly approved = new Map<string, Provenance>();
  private readonly started = new Map<string, Provenance>();
  private readonly alertLinks = new Map<string, Provenance>();
  private readonly changeLinks = new Map<string, Provenance & { reason: string | null }>();

  /** Number of events folded: the next event's revision. */
  get version(): number {
    return this.state.version;
  }

  apply(stored: StoredEvent): void {
    // A stream holds only what its own decider emitted, so its events are incident events.
    const event = { type: stored.type, data: stored.data } as IncidentEvent;
    this.state = incidentDecider.evolve(this.state, event);
    this.position = stored.position;
    const actor = stored.metadata.actor.id;
    switch (event.type) {
      case 'ResponderAssigned':
        this.assignedBy.set(event.data.userId, actor);
        break;
      case 'RemediationStepApproved':
        this.approved.set(event.data.stepId, { by: event.data.by, at: new Date(event.data.at) });
        break;
      case 'RemediationStepStarted':
        this.started.set(event.data.stepId, { by: event.data.by, at: new Date(event.data.at) });
        break;
      case 'AlertLinkedToIncident':
        this.alertLinks.set(event.data.fingerprint, { by: actor, at: new Date(event.data.at) });
        break;
      case 'SuspectChangeLinked':
        this.changeLinks.set(event.data.changeId, { by: actor, at: new Date(event.data.at), reason: event.data.reason });
        break;
      default:
        break;
    }
  }

  /** The incident as of the last event folded; null before it was declared. */
  snapshot(): IncidentSnapshot | null {
    const incident = this.state;
    if (incident.status === null) return null;
    const incidentId = incident.id;
    return {
      incident: incidentFields(incident),
      position: this.position,
      responders: incident.responders.map(({ userId, role, assignedAt }) => ({
        incidentId,
        userId,
        role,
        assignedAt: new Date(assignedAt),
        assignedBy: recorded(this.assignedBy, userId),
      })),
      remediationSteps: incident.remediationSteps.map((step) => {
        const approved = this.approved.get(step.stepId);
        const started = this.started.get(step.stepId);
        const finished = FINISHED.has(step.status);
        return {
          incidentId,
          stepId: step.stepId,
          title: step.title,
          description: step.description,
          command: step.command,
          status: step.status,
          proposedBy: step.proposedBy,
          proposedAt: new Date(step.proposedAt),
          approvedBy: approved?.by ?? null,
          approvedAt: approved?.at ?? null,
          startedBy: started?.by ?? null,
          startedAt: started?.at ?? null,
          finishedBy: finished ? step.updatedBy : null,
          finishedAt: finished ? new Date(step.updatedAt) : null,
          output: step.output,
          // The domain keeps a failure's error and a skip's reason in one field; the read models split them.
          error: step.status === 'FAILED' ? step.reason : null,
          reason: step.status === 'SKIPPED' ? step.reason : null,
        };
      }),
      alerts: incident.alertFingerprints.map((fingerprint) => {
        const { by, at } = recorded(this.alertLinks, fingerprint);
        return { incidentId, fingerprint, linkedAt: at, linkedBy: by };
      }),
      suspectChanges: incident.suspectChangeIds.map((changeId) => {
        const { by, at, reason } = recorded(this.changeLinks, changeId);
        return { incidentId, changeId, reason, linkedAt: at, linkedBy: by };
      }),
    };
  }
}

/** What the fold recorded beside an item of the state: there always is something, as both come from one event. */
function recorded<Value>(records: ReadonlyMap<string, Value>, key: string): Value {
  const value = records.get(key);
  if (value === undefined) throw new Error(`incident fold has no record of ${JSON.stringify(key)}`);
  return value;
}

/** Folds a store-level stream, from its start, while `take` accepts its events. */
export async function foldStream(
  store: EventStore,
  storeStreamId: string,
  options: Pick<ReadStreamOptions, 'toRevision'> = {},
  take: (event: StoredEvent) => boolean = () => true,
): Promise<IncidentFold> {
  const fold = new IncidentFold();
  for await (const event of store.readStream(storeStreamId, options)) {
    if (!take(event)) break;
    fold.apply(event);
  }
  return fold;
}

/**
 * The incident as it stood at `asOf`: every event recorded until then (inclusive), in stream order; null if it had
 * not been declared yet (or is not this tenant's).
 */
export async function incidentAsOf(
  store: EventStore,
  tenant: string,
  incidentId: string,
  asOf: Date,
): Promise<IncidentSnapshot | null> {
  // The first event recorded after `asOf` ends the fold, so the answer is always a prefix of the stream.
  const fold = await foldStream(store, incidentStreamId(tenant, incidentId), {}, (event) => event.recordedAt <= asOf);
  return fold.snapshot();
}

/** The incident after its first `version` events (what a command that left it at that version saw). */
export async function incidentAtVersion(
  store: EventStore,
  tenant: string,
  incidentId: string,
  version: number,
): Promise<IncidentSnapshot | null> {
  if (version < 1) return null;
  const fold = await foldStream(store, incidentStreamId(tenant, incidentId), { toRevision: BigInt(version - 1) });
  return fold.snapshot();
}

/** The incident's stream folded to its end: the truth the read models follow, with the version it is at. */
export async function currentIncident(store: EventStore, tenant: string, incidentId: string): Promise<IncidentFold> {
  return foldStream(store, incidentStreamId(tenant, incidentId));
}
