// The raw limits our store is measured against: the same rows it wrote, re-inserted by plain
// `INSERT … SELECT unnest(…)` into a copy of its events table, and one plain SELECT of every row. The copy is made
// from the catalog (LIKE … INCLUDING ALL: columns, defaults, constraints, indexes), so it cannot drift from the schema.
import type { SqlExecutor } from '../../../infra/sql/port.ts';
import { timed, type Sample } from './measure.ts';

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

export interface RawCopy {
  /**
   * Re-inserts the next `count` rows of the events table (in the order they were written) into the copy,
   * `batchSize` rows per statement; only the inserts are timed.
   */
  insertNext(count: number, batchSize: number): Promise<Sample>;
  /** One plain SELECT of every row of the events table. */
  selectAll(): Promise<Sample>;
  drop(): Promise<void>;
}

export async function createRawCopy(db: SqlExecutor, table: string): Promise<RawCopy> {
  const copy = `bench_raw_${table.replace(/\W/g, '_')}`;
  await db.query(`DROP TABLE IF EXISTS ${copy}`);
  await db.query(`CREATE TABLE ${copy} (LIKE ${table} INCLUDING ALL)`);
  const columns = await suppliedColumns(db, table);
  const names = columns.map((column) => quoteIdent(column.name));
  const insert = `INSERT INTO ${copy} (${names.join(', ')}) SELECT * FROM unnest(${columns
    .map((column, index) => `$${index + 1}::${column.type}[]`)
    .join(', ')})`;
  let copied = 0;
  return {
    async insertNext(count, batchSize) {
      // Values travel as text and are cast by the server, as the store's own JSON text is. Rows come in the log's
      // order (DESIGN.md: the tuple transaction_id, global_position); heap order is not write order under a pool.
      const { rows } = await db.query<Record<string, string | null>>(
        `SELECT ${names.map((name) => `${name}::text AS ${name}`).join(', ')} FROM ${table}
          ORDER BY transaction_id, global_position OFFSET ${copied} LIMIT ${count}`,
      );
      copied += rows.length;
      const statements: (string | null)[][][] = [];
      for (let start = 0; start < rows.length; start += batchSize) {
        const chunk = rows.slice(start, start + batchSize);
        statements.push(columns.map((column) => chunk.map((row) => row[column.name] ?? null)));
      }
      return timed(async () => {
        for (const params of statements) await db.query(insert, params);
        return rows.length;
      });
    },
    selectAll: () => timed(async () => (await db.query(`SELECT * FROM ${table}`)).rows.length),
    async drop() {
      await db.query(`DROP TABLE IF EXISTS ${copy}`);
    },
  };
}
