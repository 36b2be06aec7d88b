// Reads over the silences read model. A silence's status is computed from its range and the database clock, so a
// silence expires on time with nothing to update.
import { silenceStatus, type Matcher, type SilenceStatus } from '../domain/silence/index.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';

export interface SilenceRow {
  id: string;
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string | null;
  createdAt: Date;
  expiredBy: string | null;
  status: SilenceStatus;
}

const COLUMNS = `silence_id AS id, matchers, starts_at AS "startsAt", ends_at AS "endsAt", created_by AS "createdBy",
  comment, created_at AS "createdAt", expired_by AS "expiredBy", now() AS "now"`;

type Row = Omit<SilenceRow, 'status'> & { now: Date };

function withStatus({ now, ...row }: Row): SilenceRow {
  const range = { startsAt: row.startsAt.toISOString(), endsAt: row.endsAt.toISOString() };
  return { ...row, status: silenceStatus(range, new Date(now).toISOString()) };
}

/** The tenant's silences, newest first: only active ones (active true), only the others (false), or all (null). */
export async function listSilences(db: SqlExecutor, tenant: string, active: boolean | null): Promise<SilenceRow[]> {
  const activeNow = 'starts_at <= now() AND ends_at > now()';
  const filter = active === null ? 'true' : active ? activeNow : `NOT (${activeNow})`;
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM silences WHERE tenant_id = $1 AND ${filter} ORDER BY created_at DESC, silence_id DESC`,
    [tenant],
  );
  return rows.map(withStatus);
}
