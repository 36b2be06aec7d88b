// The one projection engine (DESIGN.md "Projections"): a runner per projection following $all from its checkpoint,
// a watcher of the store's head that wakes idle runners, and the read side's view of it all: status, lag and
// waitForPosition (read-your-writes for `consistentWith: Cursor`).
import { START, type EventStore, type Position } from '../infra/eventstore/port.ts';
import type { SqlDatabase } from '../infra/sql/port.ts';
import { advisoryKey, createCheckpoints, readCheckpoints, type Checkpoint } from './checkpoints.ts';
import { ProjectionEngineError, ProjectionTimeoutError, UnknownProjectionError } from './errors.ts';
import type { Projection } from './projection.ts';
import { ProjectionRunner, type ProjectionLogger, type RebuildResult, type RunnerState } from './runner.ts';
import { Wakeup } from './wakeup.ts';

export type { ProjectionLogger, RebuildResult, RunnerState } from './runner.ts';

export interface ProjectionEngineOptions {
  store: EventStore;
  /** Where the read models and checkpoints live: a PostgreSQL database, or the embedded PGlite of the events. */
  db: SqlDatabase;
  projections: readonly Projection[];
  /** Events per transaction (default 500). */
  batchSize?: number;
  /** How often the engine looks for new events when idle, and how often a waiter re-reads checkpoints (default 100). */
  idlePollMs?: number;
  /** How often a standby runner tries to take over the lock (default 1000). */
  lockPollMs?: number;
  /** How long `rebuild` waits for a lock held by another engine before giving up (default 10 000). */
  rebuildLockTimeoutMs?: number;
  /** Backoff of a failing batch: doubles from `retryInitialMs` (default 200) up to `retryMaxMs` (default 30 000). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** `lag().events` counts at most this many events (default 10 000); beyond it `exact` is false. */
  lagCountLimit?: number;
  /** pino-compatible; by default errors go to stderr and the rest is dropped. */
  logger?: ProjectionLogger;
}

export interface Lag {
  /** Events in the store after the checkpoint, up to its head. */
  events: number;
  /** Age of the oldest of them, 0 when caught up. */
  seconds: number;
  /** False when more than `lagCountLimit` events are behind: `events` is then that limit. */
  exact: boolean;
}

export interface ProjectionStatus {
  name: string;
  /** What this engine's runner does; the committed position and last error are the same in every engine. */
  state: RunnerState;
  position: Position;
  updatedAt: Date | undefined;
  lastError?: { message: string; at: Date; attempts?: number };
  lag: Lag;
}

export interface WaitForPositionOptions {
  timeoutMs: number;
  /** Projections that must have caught up (default: all of this engine's). */
  projections?: readonly string[];
}

export interface ProjectionEngine {
  /** Creates the checkpoint table and the read models' tables, then runs every projection that is not run elsewhere. */
  start(): Promise<void>;
  /** Graceful: each runner finishes the batch in hand, commits it and releases its lock. */
  stop(): Promise<void>;
  /** Truncates the projection's tables and replays the log into them; resolves when caught up with the head. */
  rebuild(name: string): Promise<RebuildResult>;
  status(): Promise<ProjectionStatus[]>;
  lag(name: string): Promise<Lag>;
  /** Resolves once the projections have applied (or passed) `position`; rejects with ProjectionTimeoutError. */
  waitForPosition(position: Position, options: WaitForPositionOptions): Promise<void>;
}

const defaultLogger: ProjectionLogger = {
  info: () => undefined,
  error: (details, message) => console.error(message, details),
};

export function createProjectionEngine(options: ProjectionEngineOptions): ProjectionEngine {
  const { store, db, projections } = options;
  const idlePollMs = options.idlePollMs ?? 100;
  const lagCountLimit = options.lagCountLimit ?? 10_000;
  const rebuildLockTimeoutMs = options.rebuildLockTimeoutMs ?? 10_000;
  const logger = options.logger ?? defaultLogger;
  const names = projections.map((projection) => projection.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new ProjectionEngineError(`two projections are named ${duplicate}`);

  const stopping = new AbortController();
  const progress = new Wakeup();
  const lookNow = new Wakeup();
  const settings = {
    store,
    db,
    batchSize: options.batchSize ?? 500,
    lockPollMs: options.lockPollMs ?? 1_000,
    retryInitialMs: options.retryInitialMs ?? 200,
    retryMaxMs: options.retryMaxMs ?? 30_000,
    logger,
    onProgress: () => progress.fire(),
  };
  const runners = new Map(
    projections.map((projection) => [projection.name, new ProjectionRunner(projection, settings, stopping.signal)]),
  );
  const rebuilds = new Set<Promise<unknown>>();
  let watcher: Promise<void> | undefined;
  let prepared: Promise<void> | undefined;

  function runner(name: string): ProjectionRunner {
    const found = runners.get(name);
    if (found === undefined) throw new UnknownProjectionError(name);
    return found;
  }

  // DDL from several engines at once can collide in the catalog (CREATE TABLE IF NOT EXISTS is not atomic), so
  // the setup runs under one transaction-scoped lock.
  function prepare(): Promise<void> {
    prepared ??= db
      .transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey('schema', 'projections').toString()]);
        await createCheckpoints(tx, names);
        for (const projection of projections) await projection.setup(tx);
      })
      .catch((error: unknown) => {
        prepared = undefined;
        throw error;
      });
    return prepared;
  }

  async function watchHead(): Promise<void> {
    let failing = false;
    while (!stopping.signal.aborted) {
      try {
        const head = await store.headPosition();
        for (const each of runners.values()) each.noticeHead(head);
        failing = false;
      } catch (error) {
        if (!failing) logger.error({ err: error }, 'projection engine cannot read the store head');
        failing = true;
      }
      await lookNow.wait(idlePollMs, stopping.signal);
    }
  }

  async function checkpointsOf(selected: readonly string[]): Promise<Map<string, Checkpoint>> {
    await prepare();
    return readCheckpoints(db, selected);
  }

  /** Positions of the selected projections that are before `position`; a runner we hold answers from memory. */
  async function behind(selected: readonly ProjectionRunner[], position: Position): Promise<{ name: string; position: Position }[]> {
    const known = new Map<string, Position>();
    for (const each of selected) if (each.heldPosition !== undefined) known.set(each.name, each.heldPosition);
    const elsewhere = selected.filter((each) => !known.has(each.name)).map((each) => each.name);
    if (elsewhere.length > 0) for (const checkpoint of (await checkpointsOf(elsewhere)).values()) known.set(checkpoint.name, checkpoint.position);
    return selected
      .map((each) => ({ name: each.name, position: known.get(each.name) ?? START }))
      .filter((each) => each.position < position);
  }

  async function measureLag(checkpoint: Position, head: Position): Promise<Lag> {
    if (checkpoint >= head) return { events: 0, seconds: 0, exact: true };
    let events = 0;
    let oldest: Date | undefined;
    for await (const event of store.readAll({ after: checkpoint, maxCount: lagCountLimit + 1 })) {
      if (event.position > head) break;
      oldest ??= event.recordedAt;
      events += 1;
    }
    const seconds = oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.getTime()) / 1000);
    return { events: Math.min(events, lagCountLimit), seconds, exact: events <= lagCountLimit };
  }

  return {
    async start() {
      if (stopping.signal.aborted) throw new ProjectionEngineError('a stopped projection engine cannot start again');
      if (watcher !== undefined) return;
      await prepare();
      for (const each of runners.values()) each.start();
      watcher = watchHead();
    },

    async stop() {
      stopping.abort();
      await Promise.allSettled([watcher, ...[...runners.values()].map((each) => each.finished()), ...rebuilds]);
    },

    async rebuild(name) {
      const target = runner(name);
      await prepare();
      const rebuild = target.rebuild(rebuildLockTimeoutMs);
      rebuilds.add(rebuild);
      try {
        return await rebuild;
      } finally {
        rebuilds.delete(rebuild);
      }
    },

    async status() {
      const [checkpoints, head] = await Promise.all([checkpointsOf(names), store.headPosition()]);
      return Promise.all(
        [...runners.values()].map(async (each): Promise<ProjectionStatus> => {
          const checkpoint = checkpoints.get(each.name);
          const position = checkpoint?.position ?? START;
          const failure = each.failure;
          const lastError =
            failure === undefined
              ? checkpoint?.lastError
              : { message: failure.error.message, at: failure.at, attempts: failure.attempts };
          return {
            name: each.name,
            state: each.state,
            position,
            updatedAt: checkpoint?.updatedAt,
            ...(lastError === undefined ? {} : { lastError }),
            lag: await measureLag(position, head),
          };
        }),
      );
    },

    async lag(name) {
      runner(name);
      const [checkpoints, head] = await Promise.all([checkpointsOf([name]), store.headPosition()]);
      return measureLag(checkpoints.get(name)?.position ?? START, head);
    },

    async waitForPosition(position, { timeoutMs, projections: only }) {
      const selected = (only ?? names).map(runner);
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const late = await behind(selected, position);
        if (late.length === 0) return;
        const remaining = deadline - performance.now();
        if (remaining <= 0) throw new ProjectionTimeoutError(position, timeoutMs, late);
        // Our runners look for the new event now rather than at the next idle poll.
        lookNow.fire();
        await progress.wait(Math.min(remaining, idlePollMs));
      }
    },
  };
}
