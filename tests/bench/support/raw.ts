// The raw limits our store is measured against: the same rows written by plain `INSERT … SELECT unnest(…)` into a
// copy of the events table, and read by one plain SELECT. The copy is made from the catalog (LIKE … INCLUDING ALL:
// columns, defaults, constraints, indexes), so it cannot drift from the store's schema.
import type { SqlExecutor } from '../../../infra/sql/port.ts';
import { measure } from './measure.ts';

interface Column {
  name: string;
  type: string;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Columns a writer supplies: those without a default, identity or generation (the rest fill themselves in). */
async function suppliedColumns(db: SqlExecutor, table: string): Promise<Column[]> {
  const { rows } = await db.query<Column>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type
       FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
        AND NOT atthasdef AND attidentity = '' AND attgenerated = ''
      ORDER BY attnum`,
    [table],
  );
  return rows;
}

/** Re-inserts `rowCount` rows of `table` into a fresh copy, `batchSize` rows per statement, and returns the rate. */
export async function rawInsertBatch(db: SqlExecutor, table: string, rowCount: number, batchSize: number) {
  const copy = `bench_raw_${table.replace(/\W/g, '_')}`;
  await db.query(`DROP TABLE IF EXISTS ${copy}`);
  await db.query(`CREATE TABLE ${copy} (LIKE ${table} INCLUDING ALL)`);
  try {
    const columns = await suppliedColumns(db, table);
    const names = columns.map((column) => quoteIdent(column.name));
    // Values travel as text and are cast by the server, as a store sending JSON text does.
    const { rows } = await db.query<Record<string, string | null>>(
      `SELECT ${names.map((name) => `${name}::text AS ${name}`).join(', ')} FROM ${table} LIMIT ${rowCount}`,
    );
    const insert = `INSERT INTO ${copy} (${names.join(', ')}) SELECT * FROM unnest(${columns
      .map((column, index) => `$${index + 1}::${column.type}[]`)
      .join(', ')})`;
    const statements: (string | null)[][][] = [];
    for (let start = 0; start < rows.length; start += batchSize) {
      const chunk = rows.slice(start, start + batchSize);
      statements.push(columns.map((column) => chunk.map((row) => row[column.name] ?? null)));
    }
    return await measure(async () => {
      for (const params of statements) await db.query(insert, params);
      return rows.length;
    });
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${copy}`);
  }
}

/** One plain SELECT of every row of `table`, rows parsed by the driver as any reader's would be. */
export function rawSelect(db: SqlExecutor, table: string) {
  return measure(async () => (await db.query(`SELECT * FROM ${table}`)).rows.length);
}
