// The one shape of a read-model builder (STYLE.md). The engine owns checkpoints, transactions, batching, locking
// and rebuilds; a projection only knows its tables and how one event changes them.
import type { StoredEvent } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';

/** For read models of the whole log (the audit log): every event, including types that do not exist yet. */
export const ALL_EVENT_TYPES = 'all';

export interface Projection {
  /** Stable name: the checkpoint and advisory-lock key. */
  readonly name: string;
  /** Event types this projection applies, or ALL_EVENT_TYPES; others only advance its checkpoint. */
  readonly handles: readonly string[] | typeof ALL_EVENT_TYPES;
  /** Tables emptied by a rebuild, in an order that respects foreign keys. */
  readonly tables: readonly string[];
  /** Idempotent DDL (CREATE TABLE IF NOT EXISTS …), run before the first event. */
  setup(db: SqlExecutor): Promise<void>;
  /** Applies one event inside the engine's transaction, which also stores the checkpoint. */
  apply(event: StoredEvent, tx: SqlExecutor): Promise<void>;
  /**
   * Optional: applies a whole batch (the handled events, in log order) in the same transaction, for read models that
   * can fold a batch into a few statements (counters, append-only logs); `apply` is then not called by the engine.
   */
  applyBatch?(events: readonly StoredEvent[], tx: SqlExecutor): Promise<void>;
}
