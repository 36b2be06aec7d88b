// The incident read models: the list (`incidents`) and the detail around it (timeline, responders, remediation
// steps, linked alerts and suspect changes), all from the incident stream's events, all keyed by tenant first.
import { INCIDENT_CATEGORY } from '../commands/incident.ts';
import {
  INCIDENT_EVENT_TYPES,
  type IncidentEvent,
  type IncidentStatus,
  type RemediationStepStatus,
  type Severity,
} from '../domain/incident/index.ts';
import type { StoredEvent } from '../infra/eventstore/port.ts';
import { streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import type { Projection } from './projection.ts';
import { ForeignStreamError, tenantStream } from './tenant-stream.ts';

export const INCIDENTS_PROJECTION = 'incidents';

// Ids and positions compare byte-wise (COLLATE "C") so that keyset pages and cursors order the same way on every
// server whatever its locale. Instants come from the events' own clocks, so a rebuild reproduces them exactly.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS incidents (
    tenant_id text NOT NULL,
    id text COLLATE "C" NOT NULL,
    stream_id text NOT NULL,
    title text NOT NULL,
    status text NOT NULL,
    severity text NOT NULL,
    services text[] NOT NULL,
    summary text,
    version integer NOT NULL,
    declared_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    mitigated_at timestamptz,
    resolved_at timestamptz,
    closed_at timestamptz,
    resolution text,
    updated_at timestamptz NOT NULL,
    last_position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
  )`,
  // The list is newest first, optionally narrowed by status or severity; services are matched with @>.
  'CREATE INDEX IF NOT EXISTS incidents_newest ON incidents (tenant_id, declared_at DESC, id DESC)',
  'CREATE INDEX IF NOT EXISTS incidents_by_status ON incidents (tenant_id, status, declared_at DESC, id DESC)',
  'CREATE INDEX IF NOT EXISTS incidents_by_severity ON incidents (tenant_id, severity, declared_at DESC, id DESC)',
  'CREATE INDEX IF NOT EXISTS incidents_by_service ON incidents USING gin (services)',
  `CREATE TABLE IF NOT EXISTS incident_timeline (
    tenant_id text NOT NULL,
    incident_id text COLLATE "C" NOT NULL,
    revision bigint NOT NULL,
    position text COLLATE "C" NOT NULL,
    event_id uuid NOT NULL,
    at timestamptz NOT NULL,
    type text NOT NULL,
    actor_id text NOT NULL,
    actor_kind text NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, revision)
  )`,
  `CREATE TABLE IF NOT EXISTS incident_responders (
    tenant_id text NOT NULL,
    incident_id text COLLATE "C" NOT NULL,
    user_id text NOT NULL,
    role text NOT NULL,
    assigned_at timestamptz NOT NULL,
    assigned_by text NOT NULL,
    position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, user_id)
  )`,
  `CREATE TABLE IF NOT EXISTS incident_remediation_steps (
    tenant_id text NOT NULL,
    incident_id text COLLATE "C" NOT NULL,
    step_id text NOT NULL,
    title text NOT NULL,
    description text,
    command text,
    status text NOT NULL,
    proposed_by text NOT NULL,
    proposed_at timestamptz NOT NULL,
    approved_by text,
    approved_at timestamptz,
    started_by text,
    started_at timestamptz,
    finished_by text,
    finished_at timestamptz,
    output text,
    error text,
    reason text,
    position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, step_id)
  )`,
  `CREATE TABLE IF NOT EXISTS incident_alerts (
    tenant_id text NOT NULL,
    incident_id text COLLATE "C" NOT NULL,
    fingerprint text NOT NULL,
    linked_at timestamptz NOT NULL,
    linked_by text NOT NULL,
    position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, fingerprint)
  )`,
  // An alert's page shows the incident it belongs to.
  'CREATE INDEX IF NOT EXISTS incident_alerts_by_fingerprint ON incident_alerts (tenant_id, fingerprint)',
  `CREATE TABLE IF NOT EXISTS incident_suspect_changes (
    tenant_id text NOT NULL,
    incident_id text COLLATE "C" NOT NULL,
    change_id text NOT NULL,
    reason text,
    linked_at timestamptz NOT NULL,
    linked_by text NOT NULL,
    position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, change_id)
  )`,
  'CREATE INDEX IF NOT EXISTS incident_suspect_changes_by_change ON incident_suspect_changes (tenant_id, change_id)',
];

/** Where one event lands: its tenant and incident, and the envelope fields rows record. */
interface Target {
  tenantId: string;
  incidentId: string;
  streamId: string;
  stored: StoredEvent;
}

// Column changes as an event makes them; the keys become column names, so they are only ever written in code.
type IncidentChanges = {
  status?: IncidentStatus;
  severity?: Severity;
  acknowledged_at?: string | null;
  mitigated_at?: string | null;
  resolved_at?: string | null;
  closed_at?: string | null;
  resolution?: string | null;
};
type StepChanges = {
  approved_by?: string;
  approved_at?: string;
  started_by?: string;
  started_at?: string;
  finished_by?: string;
  finished_at?: string;
  output?: string | null;
  error?: string;
  reason?: string;
};

const INCIDENT_PREFIX = streamIdOf(INCIDENT_CATEGORY, '');

function target(stored: StoredEvent): Target {
  const { tenantId, streamId } = tenantStream(stored);
  if (!streamId.startsWith(INCIDENT_PREFIX)) throw new ForeignStreamError(stored, `${INCIDENT_PREFIX}* streams`);
  return { tenantId, incidentId: streamId.slice(INCIDENT_PREFIX.length), streamId, stored };
}

/** `column = $n, …` for the changed columns, with their values appended to `params`. */
function assignments(changes: Readonly<Record<string, string | null | undefined>>, params: unknown[]): string {
  return Object.entries(changes)
    .map(([column, value]) => {
      params.push(value);
      return `${column} = $${params.length}`;
    })
    .join(', ');
}

/** Inserts the incident; false if it is already there (the declaration was applied before). */
async function declare(tx: SqlExecutor, at: Target, data: Extract<IncidentEvent, { type: 'IncidentDeclared' }>['data']): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO incidents (tenant_id, id, stream_id, title, status, severity, services, summary, version, declared_at,
       updated_at, last_position)
     VALUES ($1, $2, $3, $4, 'OPEN', $5, $6::text[], $7, $8, $9, $9, $10)
     ON CONFLICT (tenant_id, id) DO NOTHING`,
    [at.tenantId, at.incidentId, at.streamId, data.title, data.severity, data.services, data.summary,
      Number(at.stored.revision) + 1, data.declaredAt, at.stored.position],
  );
  return rowCount === 1;
}

/**
 * Moves the incident to this event's version and applies `changes`; false if the incident has already seen the
 * event (a re-delivery) or was never declared, in which case nothing else of the event is applied either.
 */
async function advance(
  tx: SqlExecutor,
  at: Target,
  instant: string,
  changes: IncidentChanges = {},
): Promise<boolean> {
  const params: unknown[] = [at.tenantId, at.incidentId, at.stored.revision.toString(), at.stored.position, instant];
  const set = assignments(changes, params);
  const { rowCount } = await tx.query(
    `UPDATE incidents SET version = $3::bigint + 1, last_position = $4, updated_at = $5${set === '' ? '' : `, ${set}`}
      WHERE tenant_id = $1 AND id = $2 AND version <= $3::bigint`,
    params,
  );
  return rowCount === 1;
}

/** Moves a remediation step to `status`; returns its title for the timeline (undefined if it was never proposed). */
async function updateStep(
  tx: SqlExecutor,
  at: Target,
  stepId: string,
  status: RemediationStepStatus,
  changes: StepChanges,
): Promise<string | undefined> {
  const params: unknown[] = [at.tenantId, at.incidentId, stepId, status];
  const { rows } = await tx.query<{ title: string }>(
    `UPDATE incident_remediation_steps SET status = $4, ${assignments(changes, params)}
      WHERE tenant_id = $1 AND incident_id = $2 AND step_id = $3 RETURNING title`,
    params,
  );
  return rows[0]?.title;
}

/** The event's own instant (the command's clock). */
function instantOf(event: IncidentEvent): string {
  return event.type === 'IncidentDeclared' ? event.data.declaredAt : event.data.at;
}

function withDetail(line: string, detail: string | null): string {
  return detail === null ? line : `${line}: ${detail}`;
}

function stepLine(title: string | undefined, stepId: string, what: string): string {
  return `Remediation step ${JSON.stringify(title ?? stepId)} ${what}`;
}

/**
 * Applies everything but the declaration to the incident and its detail tables; returns the timeline line, or
 * undefined when the incident had already seen the event.
 */
async function applyChange(tx: SqlExecutor, at: Target, event: Exclude<IncidentEvent, { type: 'IncidentDeclared' }>): Promise<string | undefined> {
  const instant = event.data.at;
  const actorId = at.stored.metadata.actor.id;
  const key = [at.tenantId, at.incidentId];
  switch (event.type) {
    case 'IncidentAcknowledged':
      return (await advance(tx, at, instant, { status: 'ACKNOWLEDGED', acknowledged_at: instant })) ? 'Acknowledged' : undefined;
    case 'IncidentMitigated':
      if (!(await advance(tx, at, instant, { status: 'MITIGATED', mitigated_at: instant }))) return undefined;
      return withDetail('Mitigated', event.data.summary);
    case 'IncidentResolved': {
      const changes: IncidentChanges = { status: 'RESOLVED', resolved_at: instant, resolution: event.data.resolution };
      return (await advance(tx, at, instant, changes)) ? `Resolved: ${event.data.resolution}` : undefined;
    }
    case 'IncidentReopened': {
      // As in the domain: the fix did not hold, so the incident is to be acknowledged and resolved anew.
      const changes: IncidentChanges = { status: 'OPEN', acknowledged_at: null, mitigated_at: null, resolved_at: null, resolution: null };
      return (await advance(tx, at, instant, changes)) ? `Reopened: ${event.data.reason}` : undefined;
    }
    case 'IncidentClosed':
      return (await advance(tx, at, instant, { status: 'CLOSED', closed_at: instant })) ? 'Closed' : undefined;
    case 'IncidentSeverityChanged': {
      const { from, to, reason } = event.data;
      if (!(await advance(tx, at, instant, { severity: to }))) return undefined;
      return withDetail(`Severity changed ${from} → ${to}`, reason);
    }
    case 'ResponderAssigned': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { userId, role, previousRole } = event.data;
      await tx.query(
        `INSERT INTO incident_responders (tenant_id, incident_id, user_id, role, assigned_at, assigned_by, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, incident_id, user_id) DO UPDATE
           SET role = excluded.role, assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by,
               position = excluded.position`,
        [...key, userId, role, instant, actorId, at.stored.position],
      );
      return previousRole === null ? `${userId} assigned as ${role}` : `${userId} changed role ${previousRole} → ${role}`;
    }
    case 'ResponderUnassigned': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { userId, role, handedOverTo } = event.data;
      await tx.query('DELETE FROM incident_responders WHERE tenant_id = $1 AND incident_id = $2 AND user_id = $3', [...key, userId]);
      return handedOverTo === null ? `${userId} removed as ${role}` : `${userId} handed ${role} over to ${handedOverTo}`;
    }
    case 'IncidentNoteAdded':
      return (await advance(tx, at, instant)) ? `Note: ${event.data.text}` : undefined;
    case 'IncidentStatusUpdatePosted':
      return (await advance(tx, at, instant)) ? `Status update: ${event.data.message}` : undefined;
    case 'RemediationStepProposed': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { stepId, title, description, command, by } = event.data;
      await tx.query(
        `INSERT INTO incident_remediation_steps (tenant_id, incident_id, step_id, title, description, command, status,
           proposed_by, proposed_at, position)
         VALUES ($1, $2, $3, $4, $5, $6, 'PROPOSED', $7, $8, $9)
         ON CONFLICT (tenant_id, incident_id, step_id) DO NOTHING`,
        [...key, stepId, title, description, command, by, instant, at.stored.position],
      );
      return stepLine(title, stepId, 'proposed');
    }
    case 'RemediationStepApproved': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { stepId, by } = event.data;
      const title = await updateStep(tx, at, stepId, 'APPROVED', { approved_by: by, approved_at: instant });
      return stepLine(title, stepId, 'approved');
    }
    case 'RemediationStepStarted': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { stepId, by } = event.data;
      const title = await updateStep(tx, at, stepId, 'IN_PROGRESS', { started_by: by, started_at: instant });
      return stepLine(title, stepId, 'started');
    }
    // Succeeded, failed and skipped are the final states: `finished_*` says who ended the step, and when.
    case 'RemediationStepSucceeded': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { stepId, by, output } = event.data;
      const title = await updateStep(tx, at, stepId, 'SUCCEEDED', { finished_by: by, finished_at: instant, output });
      return stepLine(title, stepId, 'succeeded');
    }
    case 'RemediationStepFailed': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { stepId, by, output, error } = event.data;
      const title = await updateStep(tx, at, stepId, 'FAILED', { finished_by: by, finished_at: instant, output, error });
      return stepLine(title, stepId, `failed: ${error}`);
    }
    case 'RemediationStepSkipped': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { stepId, by, reason } = event.data;
      const title = await updateStep(tx, at, stepId, 'SKIPPED', { finished_by: by, finished_at: instant, reason });
      return stepLine(title, stepId, `skipped: ${reason}`);
    }
    case 'AlertLinkedToIncident': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { fingerprint } = event.data;
      await tx.query(
        `INSERT INTO incident_alerts (tenant_id, incident_id, fingerprint, linked_at, linked_by, position)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, incident_id, fingerprint) DO NOTHING`,
        [...key, fingerprint, instant, actorId, at.stored.position],
      );
      return `Alert ${fingerprint} linked`;
    }
    case 'SuspectChangeLinked': {
      if (!(await advance(tx, at, instant))) return undefined;
      const { changeId, reason } = event.data;
      await tx.query(
        `INSERT INTO incident_suspect_changes (tenant_id, incident_id, change_id, reason, linked_at, linked_by, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, incident_id, change_id) DO NOTHING`,
        [...key, changeId, reason, instant, actorId, at.stored.position],
      );
      return withDetail(`Suspect change ${changeId} linked`, reason);
    }
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

function declaredLine(data: Extract<IncidentEvent, { type: 'IncidentDeclared' }>['data']): string {
  const line = `Declared ${data.severity}: ${data.title}`;
  return data.services.length === 0 ? line : `${line} (affects ${data.services.join(', ')})`;
}

export function incidentsProjection(): Projection {
  return {
    name: INCIDENTS_PROJECTION,
    handles: INCIDENT_EVENT_TYPES,
    tables: [
      'incidents',
      'incident_timeline',
      'incident_responders',
      'incident_remediation_steps',
      'incident_alerts',
      'incident_suspect_changes',
    ],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(stored, tx) {
      // Incident streams hold only what the incident decider emitted, so their events are its events.
      const event = { type: stored.type, data: stored.data } as IncidentEvent;
      const at = target(stored);
      let line: string | undefined;
      if (event.type === 'IncidentDeclared') {
        line = (await declare(tx, at, event.data)) ? declaredLine(event.data) : undefined;
      } else {
        line = await applyChange(tx, at, event);
      }
      if (line === undefined) return;
      const { actor } = stored.metadata;
      await tx.query(
        `INSERT INTO incident_timeline (tenant_id, incident_id, revision, position, event_id, at, type, actor_id,
           actor_kind, text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant_id, incident_id, revision) DO NOTHING`,
        [at.tenantId, at.incidentId, stored.revision.toString(), stored.position, stored.id, instantOf(event),
          stored.type, actor.id, actor.kind, line],
      );
    },
  };
}
