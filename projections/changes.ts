// The changes read model: one row per recorded change, for `changes(service, from, to)`, a service's recent changes
// and the correlation of incidents with the changes made shortly before them.
import { CHANGE_CATEGORY } from '../commands/change.ts';
import { CHANGE_EVENT_TYPES, type ChangeEvent } from '../domain/change/index.ts';
import { streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { Projection } from './projection.ts';
import { ForeignStreamError, tenantStream } from './tenant-stream.ts';

export const CHANGES_PROJECTION = 'changes';

// Ids and positions compare byte-wise (COLLATE "C"), so keyset pages order alike on every server.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS changes (
    tenant_id text NOT NULL,
    id text COLLATE "C" NOT NULL,
    service text COLLATE "C",
    kind text NOT NULL,
    summary text NOT NULL,
    version text,
    author text,
    source text,
    at timestamptz NOT NULL,
    links jsonb NOT NULL,
    custom_details jsonb NOT NULL,
    recorded_by text NOT NULL,
    position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
  )`,
  // Newest first, for the tenant and per service (the correlation asks for a few services within a window).
  'CREATE INDEX IF NOT EXISTS changes_newest ON changes (tenant_id, at DESC, id DESC)',
  'CREATE INDEX IF NOT EXISTS changes_by_service ON changes (tenant_id, service, at DESC, id DESC)',
];

const CHANGE_PREFIX = streamIdOf(CHANGE_CATEGORY, '');

export function changesProjection(): Projection {
  return {
    name: CHANGES_PROJECTION,
    handles: CHANGE_EVENT_TYPES,
    tables: ['changes'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(stored, tx) {
      const { tenantId, streamId } = tenantStream(stored);
      if (!streamId.startsWith(CHANGE_PREFIX)) throw new ForeignStreamError(stored, `${CHANGE_PREFIX}* streams`);
      // Change streams hold only what the change decider emitted.
      const { data } = { type: stored.type, data: stored.data } as ChangeEvent;
      await tx.query(
        `INSERT INTO changes (tenant_id, id, service, kind, summary, version, author, source, at, links, custom_details,
           recorded_by, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13)
         ON CONFLICT (tenant_id, id) DO NOTHING`,
        [tenantId, data.changeId, data.service, data.kind, data.summary, data.version, data.author, data.source, data.at,
          JSON.stringify(data.links), JSON.stringify(data.customDetails), stored.metadata.actor.id, stored.position],
      );
    },
  };
}
