// The audit log: every event as auditors page through it (who did what, when and why), one row per event,
// filterable by stream, actor and time and always in log order.
import { ALL_EVENT_TYPES, type Projection } from './projection.ts';
import { tenantStream } from './tenant-stream.ts';

export const AUDIT_LOG_PROJECTION = 'audit-log';

// Positions compare byte-wise (COLLATE "C"), as the store orders them. `metadata` is kept whole (correlation,
// causation, trace, reason, schema version and the hash chain), so an entry can be checked against the store.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit_log (
    tenant_id text NOT NULL,
    position text COLLATE "C" NOT NULL,
    stream_id text NOT NULL,
    revision bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    actor_id text NOT NULL,
    actor_kind text NOT NULL,
    actor_roles text[] NOT NULL,
    recorded_at timestamptz NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    PRIMARY KEY (tenant_id, position)
  )`,
  'CREATE INDEX IF NOT EXISTS audit_log_by_stream ON audit_log (tenant_id, stream_id, position)',
  'CREATE INDEX IF NOT EXISTS audit_log_by_actor ON audit_log (tenant_id, actor_id, position)',
  'CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (tenant_id, recorded_at, position)',
];

export function auditLogProjection(): Projection {
  return {
    name: AUDIT_LOG_PROJECTION,
    handles: ALL_EVENT_TYPES,
    tables: ['audit_log'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(event, tx) {
      const { tenantId, streamId } = tenantStream(event);
      const { actor } = event.metadata;
      await tx.query(
        `INSERT INTO audit_log (tenant_id, position, stream_id, revision, event_id, type, actor_id, actor_kind,
           actor_roles, recorded_at, data, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10, $11::jsonb, $12::jsonb)
         ON CONFLICT (tenant_id, position) DO NOTHING`,
        [tenantId, event.position, streamId, event.revision.toString(), event.id, event.type, actor.id, actor.kind,
          actor.roles, event.recordedAt, JSON.stringify(event.data), JSON.stringify(event.metadata)],
      );
    },
  };
}
