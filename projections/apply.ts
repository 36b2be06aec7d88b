// Applying a batch inside its transaction. One round trip per statement would cap a simple projection far below the
// store's read speed, so events are applied pipelined: the next event's apply starts as soon as the current one is
// waiting on the database, and its statements queue behind the current one's on the session (in the order issued).
// That is the same order as one event after another, unless an apply issues another statement after a later
// event's went out; then the batch is out of order, is rolled back, and the runner goes one event at a time.
import type { StoredEvent } from '../infra/eventstore/port.ts';
import type { SqlExecutor, SqlResult } from '../infra/sql/port.ts';
import { ProjectionApplyError } from './errors.ts';
import type { Projection } from './projection.ts';

/** Control flow, never surfaced: the pipelined batch must be redone one event at a time. */
export class OutOfOrderStatement extends Error {
  override name = 'OutOfOrderStatement';
}

/** The projection's own batch apply; a failure names the batch's first event, since the projection saw them all. */
export async function applyBatch(projection: Projection, events: readonly StoredEvent[], tx: SqlExecutor): Promise<void> {
  const [first] = events;
  if (projection.applyBatch === undefined || first === undefined) return;
  try {
    await projection.applyBatch(events, tx);
  } catch (cause) {
    throw new ProjectionApplyError(projection.name, first, cause);
  }
}

export async function applySequentially(projection: Projection, events: readonly StoredEvent[], tx: SqlExecutor): Promise<void> {
  for (const event of events) {
    try {
      await projection.apply(event, tx);
    } catch (cause) {
      throw new ProjectionApplyError(projection.name, event, cause);
    }
  }
}

/** Throws OutOfOrderStatement when the projection's statements could not keep event order (see above). */
export async function applyPipelined(projection: Projection, events: readonly StoredEvent[], tx: SqlExecutor): Promise<void> {
  let latest = -1;
  let outOfOrder = false;
  const applies: Promise<void>[] = [];
  for (const [index, event] of events.entries()) {
    let waitingOrDone!: () => void;
    const next = new Promise<void>((resolve) => (waitingOrDone = resolve));
    const ordered: SqlExecutor = {
      query<Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
        if (latest > index) {
          // Flagged as well as thrown, in case the projection catches it.
          outOfOrder = true;
          return Promise.reject(new OutOfOrderStatement(`${projection.name} issued a statement out of event order`));
        }
        latest = index;
        const result = tx.query<Row>(text, params);
        waitingOrDone();
        return result;
      },
    };
    const apply = (async () => {
      try {
        await projection.apply(event, ordered);
      } catch (cause) {
        throw new ProjectionApplyError(projection.name, event, cause);
      } finally {
        waitingOrDone();
      }
    })();
    // Observed below with allSettled; until then a rejection must not count as unhandled.
    apply.catch(() => undefined);
    applies.push(apply);
    await next;
  }
  // Every statement has been answered before the caller commits or rolls back.
  const settled = await Promise.allSettled(applies);
  if (outOfOrder) throw new OutOfOrderStatement(`${projection.name} issued a statement out of event order`);
  // The first failure in event order is the cause; later ones may only echo it (an aborted transaction).
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
