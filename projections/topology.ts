// The topology read model: the tenant's services (`services`) and who calls whom (`service_dependencies`), from the
// service streams' events. One statement per event, so the engine can pipeline a batch.
import { SERVICE_CATEGORY } from '../commands/service.ts';
import { SERVICE_EVENT_TYPES, type ServiceEvent } from '../domain/service/index.ts';
import { streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { Projection } from './projection.ts';
import { ForeignStreamError, tenantStream } from './tenant-stream.ts';

export const TOPOLOGY_PROJECTION = 'topology';

// Names and positions compare byte-wise (COLLATE "C"), so keyset pages order alike on every server. A dependency
// may name a service without a row in `services` (declared before, or without, its registration).
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS services (
    tenant_id text NOT NULL,
    name text COLLATE "C" NOT NULL,
    tier integer,
    owner text,
    runbook_url text,
    tags text[] NOT NULL,
    retired boolean NOT NULL,
    retirement_reason text,
    registered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    retired_at timestamptz,
    last_position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, name)
  )`,
  `CREATE TABLE IF NOT EXISTS service_dependencies (
    tenant_id text NOT NULL,
    from_service text COLLATE "C" NOT NULL,
    to_service text COLLATE "C" NOT NULL,
    declared_at timestamptz NOT NULL,
    position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, from_service, to_service)
  )`,
  // Who depends on a service (dependents, and whether an unregistered name is known at all).
  'CREATE INDEX IF NOT EXISTS service_dependencies_by_target ON service_dependencies (tenant_id, to_service, from_service)',
];

/**
 * The statement and parameters of one event; $1 is the tenant, $2 the event's position and, where a row takes a time,
 * $3 the event's own instant (the command's clock), so a rebuild reproduces every timestamp.
 */
function statementOf(event: ServiceEvent, tenantId: string, position: string): { sql: string; params: unknown[] } {
  const { at } = event.data;
  switch (event.type) {
    case 'ServiceRegistered': {
      const { name, tier, owner, runbookUrl, tags } = event.data;
      return {
        sql: `INSERT INTO services (tenant_id, name, tier, owner, runbook_url, tags, retired, registered_at, updated_at,
            last_position)
          VALUES ($1, $4, $5, $6, $7, $8::text[], false, $3, $3, $2)
          ON CONFLICT (tenant_id, name) DO NOTHING`,
        params: [tenantId, position, at, name, tier, owner, runbookUrl, tags],
      };
    }
    case 'ServiceUpdated': {
      const { name, tier, owner, runbookUrl, tags } = event.data;
      return {
        sql: `UPDATE services SET tier = $5, owner = $6, runbook_url = $7, tags = $8::text[], updated_at = $3,
            last_position = $2
          WHERE tenant_id = $1 AND name = $4 AND last_position < $2`,
        params: [tenantId, position, at, name, tier, owner, runbookUrl, tags],
      };
    }
    case 'ServiceDependencyDeclared':
      return {
        sql: `INSERT INTO service_dependencies (tenant_id, from_service, to_service, declared_at, position)
          VALUES ($1, $4, $5, $3, $2) ON CONFLICT (tenant_id, from_service, to_service) DO NOTHING`,
        params: [tenantId, position, at, event.data.from, event.data.to],
      };
    case 'ServiceDependencyRemoved':
      return {
        sql: `DELETE FROM service_dependencies
          WHERE tenant_id = $1 AND from_service = $3 AND to_service = $4 AND position < $2`,
        params: [tenantId, position, event.data.from, event.data.to],
      };
    case 'ServiceRetired':
      return {
        sql: `UPDATE services SET retired = true, retirement_reason = $5, retired_at = $3, updated_at = $3,
            last_position = $2
          WHERE tenant_id = $1 AND name = $4 AND last_position < $2`,
        params: [tenantId, position, at, event.data.name, event.data.reason],
      };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

const SERVICE_PREFIX = streamIdOf(SERVICE_CATEGORY, '');

export function topologyProjection(): Projection {
  return {
    name: TOPOLOGY_PROJECTION,
    handles: SERVICE_EVENT_TYPES,
    tables: ['service_dependencies', 'services'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(stored, tx) {
      const { tenantId, streamId } = tenantStream(stored);
      if (!streamId.startsWith(SERVICE_PREFIX)) throw new ForeignStreamError(stored, `${SERVICE_PREFIX}* streams`);
      // Service streams hold only what the service decider emitted, so their events are its events.
      const event = { type: stored.type, data: stored.data } as ServiceEvent;
      const { sql, params } = statementOf(event, tenantId, stored.position);
      await tx.query(sql, params);
    },
  };
}
