// One projection's runner: takes the projection's advisory lock (one active runner across processes), follows the
// log from the checkpoint in batches, and retries a failing batch with backoff instead of skipping it.
import { START, type EventStore, type Position, type StoredEvent } from '../infra/eventstore/port.ts';
import type { SqlDatabase, SqlSession } from '../infra/sql/port.ts';
import { applyBatch, applyPipelined, applySequentially, OutOfOrderStatement } from './apply.ts';
import { chunks, readAhead } from './batches.ts';
import { advanceCheckpoint, advisoryKey, readPosition, recordFailure, resetCheckpoint } from './checkpoints.ts';
import { ProjectionLockedError, ProjectionStoppedError } from './errors.ts';
import { ALL_EVENT_TYPES, type Projection } from './projection.ts';
import { pause, Wakeup } from './wakeup.ts';

/** What this engine's runner of a projection is doing; `standby` means another session holds the lock. */
export type RunnerState = 'stopped' | 'standby' | 'catching-up' | 'live' | 'retrying' | 'rebuilding';

export interface ProjectionLogger {
  info(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export interface RunnerSettings {
  store: EventStore;
  db: SqlDatabase;
  batchSize: number;
  lockPollMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  logger: ProjectionLogger;
  /** Called after every commit, so that waiters for a position look again at once. */
  onProgress(): void;
}

export interface RebuildResult {
  name: string;
  /** Events replayed: the whole log, handled or not (what a rate against the store's read speed counts). */
  events: number;
  /** Of those, the events the projection handles and applied. */
  applied: number;
  /** The checkpoint reached: the last event in the log when the replay ended. */
  position: Position;
  durationMs: number;
}

export interface RunnerFailure {
  error: Error;
  at: Date;
  attempts: number;
}

// How long an idle runner waits for the engine's head watcher before looking at the store itself: a safety net.
const IDLE_RECHECK_MS = 5_000;

interface Progress {
  events: number;
  applied: number;
  /** False when interrupted between two batches. */
  complete: boolean;
}

interface PendingRebuild {
  resolve(result: RebuildResult): void;
  reject(error: unknown): void;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export class ProjectionRunner {
  state: RunnerState = 'stopped';
  failure: RunnerFailure | undefined;
  readonly #key: bigint;
  readonly #handles: (type: string) => boolean;
  /** The newest head the engine has seen, kept even while busy: a pass that read before it must not go idle. */
  #latestHead: Position = START;
  /** Until the projection shows that its statements depend on each other (see apply.ts). */
  #pipelined = true;
  /** The committed checkpoint; meaningful only while the lock is held. */
  #position: Position = START;
  /** Who in this engine holds the lock: the following loop, or a rebuild started while the loop did not. */
  #holder: 'runner' | 'rebuild' | undefined;
  readonly #wakeup = new Wakeup();
  readonly #rebuilds: PendingRebuild[] = [];
  #loop: Promise<void> | undefined;

  constructor(
    readonly projection: Projection,
    private readonly settings: RunnerSettings,
    /** Aborted when the engine stops: waits end, and loops end after the batch in hand. */
    private readonly stopping: AbortSignal,
  ) {
    this.#key = advisoryKey('projection', projection.name);
    const { handles } = projection;
    if (handles === ALL_EVENT_TYPES) this.#handles = () => true;
    else {
      const types = new Set(handles);
      this.#handles = (type) => types.has(type);
    }
  }

  get name(): string {
    return this.projection.name;
  }

  /** The checkpoint if this engine holds the projection's lock (it is then the only writer), else undefined. */
  get heldPosition(): Position | undefined {
    return this.#holder === undefined ? undefined : this.#position;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async finished(): Promise<void> {
    await this.#loop;
  }

  /** The store's head is at `head`: an idle runner behind it goes to work. */
  noticeHead(head: Position): void {
    if (head > this.#latestHead) this.#latestHead = head;
    if (this.#holder === 'runner' && this.state === 'live' && head > this.#position) this.#wakeup.fire();
  }

  /** Truncates the read model and replays the log into it, under the projection's lock. */
  async rebuild(lockTimeoutMs: number): Promise<RebuildResult> {
    const deadline = performance.now() + lockTimeoutMs;
    let session: SqlSession | undefined;
    try {
      for (;;) {
        // If our own runner holds the lock, it does the rebuild between two batches.
        if (this.#holder === 'runner') return await this.#requestRebuild();
        session ??= await this.settings.db.session();
        if (await session.tryAdvisoryLock(this.#key)) break;
        const remaining = deadline - performance.now();
        if (remaining <= 0) throw new ProjectionLockedError(this.name, lockTimeoutMs);
        await pause(Math.min(remaining, this.settings.lockPollMs), this.stopping);
        if (this.stopping.aborted) throw new ProjectionStoppedError(this.name);
      }
      const state = this.state;
      this.#holder = 'rebuild';
      try {
        this.#position = await readPosition(session, this.name);
        return await this.#replay(session);
      } finally {
        this.#holder = undefined;
        this.state = state;
      }
    } finally {
      await session?.release();
    }
  }

  #requestRebuild(): Promise<RebuildResult> {
    return new Promise((resolve, reject) => {
      this.#rebuilds.push({ resolve, reject });
      this.#wakeup.fire();
    });
  }

  async #run(): Promise<void> {
    while (!this.stopping.aborted) {
      this.state = 'standby';
      const session = await this.#acquire();
      if (session === undefined) break;
      this.#holder = 'runner';
      let failed = false;
      try {
        await this.#follow(session);
      } catch (error) {
        this.settings.logger.error({ projection: this.name, err: asError(error) }, 'projection runner session failed');
        failed = true;
      } finally {
        this.#holder = undefined;
        await session.release();
      }
      // The session failed (and with it the lock): stand by again, a little later.
      if (failed) await pause(this.settings.lockPollMs, this.stopping);
    }
    this.state = 'stopped';
    for (const pending of this.#rebuilds.splice(0)) pending.reject(new ProjectionStoppedError(this.name));
  }

  async #acquire(): Promise<SqlSession | undefined> {
    let session: SqlSession | undefined;
    while (!this.stopping.aborted) {
      try {
        session ??= await this.settings.db.session();
        if (await session.tryAdvisoryLock(this.#key)) return session;
      } catch (error) {
        this.settings.logger.error({ projection: this.name, err: asError(error) }, 'could not try the projection lock');
        await session?.release();
        session = undefined;
      }
      await pause(this.settings.lockPollMs, this.stopping);
    }
    await session?.release();
    return undefined;
  }

  async #follow(session: SqlSession): Promise<void> {
    const ended = AbortSignal.any([this.stopping, session.lost]);
    this.#position = await readPosition(session, this.name);
    this.settings.logger.info({ projection: this.name, position: this.#position }, 'projection runner took the lock');
    let attempts = 0;
    while (!ended.aborted) {
      const rebuild = this.#rebuilds.shift();
      if (rebuild !== undefined) {
        await this.#replay(session).then(rebuild.resolve, rebuild.reject);
        continue;
      }
      try {
        this.state = 'catching-up';
        await this.#catchUp(session, () => ended.aborted || this.#rebuilds.length > 0);
        attempts = 0;
        this.failure = undefined;
        this.state = 'live';
        // The engine's head watcher wakes us when there is something new; the timeout is only a safety net.
        if (this.#rebuilds.length === 0 && this.#latestHead <= this.#position) await this.#wakeup.wait(IDLE_RECHECK_MS, ended);
      } catch (error) {
        if (session.lost.aborted) throw error;
        attempts += 1;
        await this.#retryLater(session, asError(error), attempts, ended);
      }
    }
  }

  async #retryLater(session: SqlSession, error: Error, attempts: number, ended: AbortSignal): Promise<void> {
    this.state = 'retrying';
    this.failure = { error, at: new Date(), attempts };
    const backoffMs = Math.min(this.settings.retryMaxMs, this.settings.retryInitialMs * 2 ** (attempts - 1));
    this.settings.logger.error(
      { projection: this.name, err: error, attempts, retryInMs: backoffMs },
      'projection batch rolled back; retrying',
    );
    await recordFailure(session, this.name, error.message).catch(() => undefined);
    await this.#wakeup.wait(backoffMs, ended);
    // Start again from what is committed, which is also how a CheckpointMovedError heals.
    if (!ended.aborted) this.#position = await readPosition(session, this.name);
  }

  async #replay(session: SqlSession): Promise<RebuildResult> {
    const started = performance.now();
    this.state = 'rebuilding';
    const { name, tables } = this.projection;
    await session.transaction(async (tx) => {
      if (tables.length > 0) await tx.query(`TRUNCATE ${tables.join(', ')}`);
      await resetCheckpoint(tx, name);
    });
    this.#position = START;
    const { events, applied, complete } = await this.#catchUp(session, () => this.stopping.aborted);
    if (!complete) throw new ProjectionStoppedError(name);
    return { name, events, applied, position: this.#position, durationMs: performance.now() - started };
  }

  /** Applies everything after the checkpoint up to the end of the log, one transaction per batch. */
  async #catchUp(session: SqlSession, interrupted: () => boolean): Promise<Progress> {
    const progress: Progress = { events: 0, applied: 0, complete: false };
    // The whole log rather than a types filter, on purpose: the store has no index on type, so a filtered read scans
    // past every non-matching row on each page and a long replay can turn quadratic, while this stays linear. It
    // also moves the checkpoint past unhandled events, without which waitForPosition on one would never resolve.
    const source = this.settings.store.readAll({ after: this.#position });
    for await (const batch of readAhead(chunks(source, this.settings.batchSize))) {
      const handled = batch.filter((event) => this.#handles(event.type));
      await this.#commit(session, handled, (batch[batch.length - 1] as StoredEvent).position);
      progress.events += batch.length;
      progress.applied += handled.length;
      if (interrupted()) return progress;
    }
    progress.complete = true;
    return progress;
  }

  /** The read-model changes of a batch and the checkpoint move commit together: exactly-once in effect. */
  async #commit(session: SqlSession, batch: readonly StoredEvent[], to: Position): Promise<void> {
    const { projection } = this;
    const from = this.#position;
    const pipelined = this.#pipelined;
    try {
      await session.transaction(async (tx) => {
        // A read model is derived: a crash may lose the last commits, but only read model and checkpoint together,
        // which the next runner replays. Not waiting for the WAL flush makes each batch markedly cheaper.
        await tx.query('SET LOCAL synchronous_commit = off');
        const apply = projection.applyBatch ? applyBatch : pipelined ? applyPipelined : applySequentially;
        await apply(projection, batch, tx);
        await advanceCheckpoint(tx, projection.name, from, to);
      });
    } catch (error) {
      if (!(error instanceof OutOfOrderStatement)) throw error;
      this.settings.logger.info({ projection: projection.name }, 'projection issues several dependent statements per event; applying one event at a time');
      this.#pipelined = false;
      return this.#commit(session, batch, to);
    }
    this.#position = to;
    this.settings.onProgress();
  }
}
