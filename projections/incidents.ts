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

// Every event is one statement: `gate` moves the incident to the event's version (or inserts it), and only if it
// did do the detail change and the timeline entry follow. So a stale re-delivery changes nothing, and, with no
// statement waiting on another's answer, the engine can pipeline a batch's events instead of one round trip each.
// Parameters $1..$9 are the same for every event (see `envelope`); an effect appends its own with `Params.add`.
const TIMELINE = `INSERT INTO incident_timeline (tenant_id, incident_id, revision, position, event_id, at, type, actor_id,
    actor_kind, text)`;

class Params {
  constructor(readonly values: unknown[]) {}
  /** The placeholder of a new parameter (cast it where PostgreSQL cannot infer a non-text type: a SELECT list). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** $1 tenant, $2 incident id, $3 revision, $4 position, $5 instant, $6 event id, $7 type, $8 actor id, $9 actor kind. */
function envelope(stored: StoredEvent, tenantId: string, incidentId: string, instant: string): Params {
  const { actor } = stored.metadata;
  return new Params([tenantId, incidentId, stored.revision.toString(), stored.position, instant, stored.id, stored.type, actor.id, actor.kind]);
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

/** `, column = $n, …` for the changed columns. */
function assignments(changes: Readonly<Record<string, string | null | undefined>>, params: Params): string {
  return Object.entries(changes)
    .map(([column, value]) => `, ${column} = ${params.add(value)}`)
    .join('');
}

interface Effect {
  /** Returns a row if the incident takes the event. */
  gate: string;
  /** A change of a detail table, made only if the gate returned a row; a step change returns the step's title. */
  detail?: string;
  /** SQL expression of the timeline line. */
  text: string;
}

/** The gate of every event but the declaration; the incident's version is the number of its events applied. */
function advance(params: Params, changes: IncidentChanges = {}): string {
  return `UPDATE incidents SET version = $3::bigint + 1, last_position = $4, updated_at = $5${assignments(changes, params)}
    WHERE tenant_id = $1 AND id = $2 AND version <= $3::bigint RETURNING 1`;
}

/** An effect on the incident and its timeline only. */
function simple(params: Params, line: string, changes?: IncidentChanges): Effect {
  return { gate: advance(params, changes), text: params.add(line) };
}

/** Moves a remediation step to `status`; the line names the step by title, or by id if it was never proposed. */
function stepChange(params: Params, stepId: string, status: RemediationStepStatus, changes: StepChanges, what: string): Effect {
  const gate = advance(params);
  const step = params.add(stepId);
  return {
    gate,
    detail: `UPDATE incident_remediation_steps SET status = ${params.add(status)}${assignments(changes, params)}
      WHERE tenant_id = $1 AND incident_id = $2 AND step_id = ${step} AND EXISTS (SELECT FROM gate) RETURNING title`,
    text: `concat('Remediation step "', coalesce((SELECT title FROM detail), ${step}), '" ', ${params.add(what)}::text)`,
  };
}

function withDetail(line: string, detail: string | null): string {
  return detail === null ? line : `${line}: ${detail}`;
}

function effectOf(event: IncidentEvent, params: Params, streamId: string): Effect {
  switch (event.type) {
    case 'IncidentDeclared': {
      const { title, severity, services, summary } = event.data;
      const line = `Declared ${severity}: ${title}`;
      return {
        gate: `INSERT INTO incidents (tenant_id, id, stream_id, title, status, severity, services, summary, version,
            declared_at, updated_at, last_position)
          VALUES ($1, $2, ${params.add(streamId)}, ${params.add(title)}, 'OPEN',
            ${params.add(severity)}, ${params.add(services)}::text[], ${params.add(summary)}, $3::bigint + 1, $5, $5, $4)
          ON CONFLICT (tenant_id, id) DO NOTHING RETURNING 1`,
        text: params.add(services.length === 0 ? line : `${line} (affects ${services.join(', ')})`),
      };
    }
    case 'IncidentAcknowledged':
      return simple(params, 'Acknowledged', { status: 'ACKNOWLEDGED', acknowledged_at: event.data.at });
    case 'IncidentMitigated':
      return simple(params, withDetail('Mitigated', event.data.summary), { status: 'MITIGATED', mitigated_at: event.data.at });
    case 'IncidentResolved': {
      const { resolution, at } = event.data;
      return simple(params, `Resolved: ${resolution}`, { status: 'RESOLVED', resolved_at: at, resolution });
    }
    case 'IncidentReopened':
      // As in the domain: the fix did not hold, so the incident is to be acknowledged and resolved anew.
      return simple(params, `Reopened: ${event.data.reason}`, {
        status: 'OPEN',
        acknowledged_at: null,
        mitigated_at: null,
        resolved_at: null,
        resolution: null,
      });
    case 'IncidentClosed':
      return simple(params, 'Closed', { status: 'CLOSED', closed_at: event.data.at });
    case 'IncidentSeverityChanged': {
      const { from, to, reason } = event.data;
      return simple(params, withDetail(`Severity changed ${from} → ${to}`, reason), { severity: to });
    }
    case 'ResponderAssigned': {
      const { userId, role, previousRole } = event.data;
      return {
        gate: advance(params),
        detail: `INSERT INTO incident_responders (tenant_id, incident_id, user_id, role, assigned_at, assigned_by, position)
          SELECT $1, $2, ${params.add(userId)}, ${params.add(role)}, $5::timestamptz, $8, $4 FROM gate
          ON CONFLICT (tenant_id, incident_id, user_id) DO UPDATE
            SET role = excluded.role, assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by,
                position = excluded.position`,
        text: params.add(previousRole === null ? `${userId} assigned as ${role}` : `${userId} changed role ${previousRole} → ${role}`),
      };
    }
    case 'ResponderUnassigned': {
      const { userId, role, handedOverTo } = event.data;
      return {
        gate: advance(params),
        detail: `DELETE FROM incident_responders
          WHERE tenant_id = $1 AND incident_id = $2 AND user_id = ${params.add(userId)} AND EXISTS (SELECT FROM gate)`,
        text: params.add(handedOverTo === null ? `${userId} removed as ${role}` : `${userId} handed ${role} over to ${handedOverTo}`),
      };
    }
    case 'IncidentNoteAdded':
      return simple(params, `Note: ${event.data.text}`);
    case 'IncidentStatusUpdatePosted':
      return simple(params, `Status update: ${event.data.message}`);
    case 'RemediationStepProposed': {
      const { stepId, title, description, command, by } = event.data;
      return {
        gate: advance(params),
        detail: `INSERT INTO incident_remediation_steps (tenant_id, incident_id, step_id, title, description, command,
            status, proposed_by, proposed_at, position)
          SELECT $1, $2, ${params.add(stepId)}, ${params.add(title)}, ${params.add(description)}::text,
            ${params.add(command)}::text, 'PROPOSED', ${params.add(by)}, $5::timestamptz, $4 FROM gate
          ON CONFLICT (tenant_id, incident_id, step_id) DO NOTHING`,
        text: params.add(`Remediation step "${title}" proposed`),
      };
    }
    case 'RemediationStepApproved': {
      const { stepId, by, at } = event.data;
      return stepChange(params, stepId, 'APPROVED', { approved_by: by, approved_at: at }, 'approved');
    }
    case 'RemediationStepStarted': {
      const { stepId, by, at } = event.data;
      return stepChange(params, stepId, 'IN_PROGRESS', { started_by: by, started_at: at }, 'started');
    }
    // Succeeded, failed and skipped are the final states: `finished_*` says who ended the step, and when.
    case 'RemediationStepSucceeded': {
      const { stepId, by, at, output } = event.data;
      return stepChange(params, stepId, 'SUCCEEDED', { finished_by: by, finished_at: at, output }, 'succeeded');
    }
    case 'RemediationStepFailed': {
      const { stepId, by, at, output, error } = event.data;
      return stepChange(params, stepId, 'FAILED', { finished_by: by, finished_at: at, output, error }, `failed: ${error}`);
    }
    case 'RemediationStepSkipped': {
      const { stepId, by, at, reason } = event.data;
      return stepChange(params, stepId, 'SKIPPED', { finished_by: by, finished_at: at, reason }, `skipped: ${reason}`);
    }
    case 'AlertLinkedToIncident': {
      const { fingerprint } = event.data;
      return {
        gate: advance(params),
        detail: `INSERT INTO incident_alerts (tenant_id, incident_id, fingerprint, linked_at, linked_by, position)
          SELECT $1, $2, ${params.add(fingerprint)}, $5::timestamptz, $8, $4 FROM gate
          ON CONFLICT (tenant_id, incident_id, fingerprint) DO NOTHING`,
        text: params.add(`Alert ${fingerprint} linked`),
      };
    }
    case 'SuspectChangeLinked': {
      const { changeId, reason } = event.data;
      return {
        gate: advance(params),
        detail: `INSERT INTO incident_suspect_changes (tenant_id, incident_id, change_id, reason, linked_at, linked_by, position)
          SELECT $1, $2, ${params.add(changeId)}, ${params.add(reason)}::text, $5::timestamptz, $8, $4 FROM gate
          ON CONFLICT (tenant_id, incident_id, change_id) DO NOTHING`,
        text: params.add(withDetail(`Suspect change ${changeId} linked`, reason)),
      };
    }
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

const INCIDENT_PREFIX = streamIdOf(INCIDENT_CATEGORY, '');

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
      const { tenantId, streamId } = tenantStream(stored);
      if (!streamId.startsWith(INCIDENT_PREFIX)) throw new ForeignStreamError(stored, `${INCIDENT_PREFIX}* streams`);
      // Incident streams hold only what the incident decider emitted, so their events are its events.
      const event = { type: stored.type, data: stored.data } as IncidentEvent;
      // The event's own instant (the command's clock), so a rebuild reproduces every timestamp.
      const instant = event.type === 'IncidentDeclared' ? event.data.declaredAt : event.data.at;
      const params = envelope(stored, tenantId, streamId.slice(INCIDENT_PREFIX.length), instant);
      const { gate, detail, text } = effectOf(event, params, streamId);
      await tx.query(
        `WITH gate AS (${gate})${detail === undefined ? '' : `, detail AS (${detail})`}
         ${TIMELINE} SELECT $1, $2, $3::bigint, $4, $6::uuid, $5::timestamptz, $7, $8, $9, ${text} FROM gate
         ON CONFLICT (tenant_id, incident_id, revision) DO NOTHING`,
        params.values,
      );
    },
  };
}
