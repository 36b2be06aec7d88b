// The checkpoint table: where each projection is in the log. Written only in the same transaction as the read
// model it describes (or, for `last_error`, after that transaction rolled back), so it never runs ahead of it.
import { createHash } from 'node:crypto';
import type { Position } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { CheckpointMovedError } from './errors.ts';

export interface Checkpoint {
  name: string;
  position: Position;
  updatedAt: Date;
  lastError?: { message: string; at: Date };
}

/** Advisory-lock key of a projection's runner (and of the schema setup, under a name no projection can clash with). */
export function advisoryKey(scope: 'projection' | 'schema', name: string): bigint {
  return createHash('sha256').update(`${scope}:${name}`).digest().readBigInt64BE(0);
}

// COLLATE "C": positions order by plain string comparison, which a locale collation would not respect.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name text PRIMARY KEY,
    position text COLLATE "C" NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    last_error_at timestamptz
  )`;

export async function createCheckpoints(tx: SqlExecutor, names: readonly string[]): Promise<void> {
  await tx.query(SCHEMA);
  await tx.query('INSERT INTO projection_checkpoints (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [
    names,
  ]);
}

interface CheckpointRow {
  name: string;
  position: string;
  updated_at: Date;
  last_error: string | null;
  last_error_at: Date | null;
}

export async function readCheckpoints(db: SqlExecutor, names: readonly string[]): Promise<Map<string, Checkpoint>> {
  const { rows } = await db.query<CheckpointRow>(
    'SELECT name, position, updated_at, last_error, last_error_at FROM projection_checkpoints WHERE name = ANY($1::text[])',
    [names],
  );
  return new Map(
    rows.map((row) => [
      row.name,
      {
        name: row.name,
        position: row.position,
        updatedAt: row.updated_at,
        ...(row.last_error === null ? {} : { lastError: { message: row.last_error, at: row.last_error_at ?? row.updated_at } }),
      },
    ]),
  );
}

export async function readPosition(db: SqlExecutor, name: string): Promise<Position> {
  const { rows } = await db.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [name]);
  return rows[0]?.position ?? '';
}

/**
 * Moves the checkpoint from `from` to `to` and clears the last error. Compare-and-set: if the row is not at `from`,
 * the runner's view is stale (someone bypassed the lock) and the whole batch must roll back.
 */
export async function advanceCheckpoint(tx: SqlExecutor, name: string, from: Position, to: Position): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE projection_checkpoints SET position = $3, updated_at = now(), last_error = NULL, last_error_at = NULL
      WHERE name = $1 AND position = $2`,
    [name, from, to],
  );
  if (rowCount !== 1) throw new CheckpointMovedError(name, from);
}

export async function resetCheckpoint(tx: SqlExecutor, name: string): Promise<void> {
  await tx.query(
    `UPDATE projection_checkpoints SET position = '', updated_at = now(), last_error = NULL, last_error_at = NULL
      WHERE name = $1`,
    [name],
  );
}

/** Makes a failing projection visible to `status()` in every process, not only in the one running it. */
export async function recordFailure(db: SqlExecutor, name: string, message: string): Promise<void> {
  await db.query('UPDATE projection_checkpoints SET last_error = $2, last_error_at = now() WHERE name = $1', [name, message]);
}
