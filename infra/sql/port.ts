// A minimal SQL port shared by read models, projections and the PostgreSQL-family event stores, so that the same
// SQL runs on a pg pool and on embedded PGlite.

export interface SqlResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>>;
}

export interface SqlTransactor {
  /** Runs `work` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/**
 * A connection leased until `release()`, for a long-lived holder of session state (a projection runner and its
 * advisory lock). Unlike `withConnection`, holding a session never makes others wait on embedded PGlite: its
 * statements and transactions queue with everyone else's, one at a time.
 *
 * Statements issued without awaiting the previous ones run in the order issued, and on PostgreSQL they are
 * pipelined (sent without waiting for the answers before), which saves a round trip per statement.
 */
export interface SqlSession extends SqlExecutor, SqlTransactor {
  /**
   * Takes a session-level advisory lock without waiting: true if this session now holds it (until
   * `advisoryUnlock` or the session ends), false if another session does. Take each key at most once.
   */
  tryAdvisoryLock(key: bigint): Promise<boolean>;
  advisoryUnlock(key: bigint): Promise<void>;
  /** Aborted when the connection is lost, and with it every lock the session held. */
  readonly lost: AbortSignal;
  /** Ends the session: its locks are released and its connection closed. */
  release(): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor, SqlTransactor {
  /** Runs `work` on one dedicated connection (LISTEN, short session state); on PGlite everyone else waits. */
  withConnection<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T>;
  /** Leases a dedicated session (see SqlSession). */
  session(): Promise<SqlSession>;
  close(): Promise<void>;
}
