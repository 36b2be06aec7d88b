// A minimal SQL port shared by read models, projections and the PostgreSQL-family event stores, so that the same
// SQL runs on a pg pool and on embedded PGlite.

export interface SqlResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>>;
}

export interface SqlDatabase extends SqlExecutor {
  /** Runs `work` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs `work` on one dedicated connection (session-level advisory locks, LISTEN). */
  withConnection<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
