// The silences read model: one row per silence as created, its end moved forward when someone expires it early.
// The status (PENDING, ACTIVE, EXPIRED) is not stored: it follows from the range and the clock, when read.
import { SILENCE_CATEGORY } from '../commands/silence.ts';
import type { SilenceCreated, SilenceExpired } from '../domain/silence/index.ts';
import type { StoredEvent } from '../infra/eventstore/port.ts';
import { streamIdOf } from '../infra/eventstore/stream-name.ts';
import type { Projection } from './projection.ts';
import { ForeignStreamError, tenantStream } from './tenant-stream.ts';

export const SILENCES_PROJECTION = 'silences';
const SILENCE_PREFIX = streamIdOf(SILENCE_CATEGORY, '');

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS silences (
    tenant_id text NOT NULL,
    silence_id text COLLATE "C" NOT NULL,
    matchers jsonb NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    created_by text NOT NULL,
    comment text,
    created_at timestamptz NOT NULL,
    expired_by text,
    last_position text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, silence_id)
  )`,
  'CREATE INDEX IF NOT EXISTS silences_by_end ON silences (tenant_id, ends_at)',
];

export function silencesProjection(): Projection {
  return {
    name: SILENCES_PROJECTION,
    handles: ['SilenceCreated', 'SilenceExpired'],
    tables: ['silences'],
    async setup(db) {
      for (const statement of SCHEMA) await db.query(statement);
    },
    async apply(stored, tx) {
      const { tenantId, streamId } = tenantStream(stored);
      if (!streamId.startsWith(SILENCE_PREFIX)) throw new ForeignStreamError(stored, `${SILENCE_PREFIX}* streams`);
      const silenceId = streamId.slice(SILENCE_PREFIX.length);
      // Silence streams hold only what the silence decider emitted, so their events are its events.
      if (stored.type === 'SilenceCreated') {
        const { matchers, startsAt, endsAt, createdBy, comment, createdAt } = (stored as StoredEvent & SilenceCreated).data;
        await tx.query(
          `INSERT INTO silences (tenant_id, silence_id, matchers, starts_at, ends_at, created_by, comment, created_at, last_position)
            VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
          [tenantId, silenceId, JSON.stringify(matchers), startsAt, endsAt, createdBy, comment, createdAt, stored.position],
        );
        return;
      }
      const { expiredBy, at } = (stored as StoredEvent & SilenceExpired).data;
      await tx.query(
        `UPDATE silences SET ends_at = LEAST(ends_at, $3::timestamptz), expired_by = $4, last_position = $5
          WHERE tenant_id = $1 AND silence_id = $2`,
        [tenantId, silenceId, at, expiredBy, stored.position],
      );
    },
  };
}
