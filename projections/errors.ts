// Typed errors of the projection engine; callers (the gateway's error formatter, health checks) tell them apart
// by class, never by message.
import type { Position, StoredEvent } from '../infra/eventstore/port.ts';

export class ProjectionEngineError extends Error {
  override name = 'ProjectionEngineError';
}

export class UnknownProjectionError extends ProjectionEngineError {
  override name = 'UnknownProjectionError';
  constructor(readonly projection: string) {
    super(`no projection named ${JSON.stringify(projection)} is registered with this engine`);
  }
}

/** `waitForPosition` gave up: these projections had not reached the position within the timeout. */
export class ProjectionTimeoutError extends ProjectionEngineError {
  override name = 'ProjectionTimeoutError';
  constructor(
    readonly position: Position,
    readonly timeoutMs: number,
    readonly behind: readonly { name: string; position: Position }[],
  ) {
    super(
      `read models not caught up with ${JSON.stringify(position)} after ${timeoutMs} ms: ${behind
        .map((projection) => `${projection.name} at ${JSON.stringify(projection.position)}`)
        .join(', ')}`,
    );
  }
}

/** A projection's `apply` threw; the batch that contained the event was rolled back. */
export class ProjectionApplyError extends ProjectionEngineError {
  override name = 'ProjectionApplyError';
  readonly eventId: string;
  readonly eventType: string;
  readonly position: Position;
  constructor(
    readonly projection: string,
    event: StoredEvent,
    cause: unknown,
  ) {
    super(
      `projection ${projection} failed to apply ${event.type} ${event.id} at ${JSON.stringify(event.position)}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.eventId = event.id;
    this.eventType = event.type;
    this.position = event.position;
  }
}

/** The checkpoint was not where the runner left it: something wrote it without holding the projection's lock. */
export class CheckpointMovedError extends ProjectionEngineError {
  override name = 'CheckpointMovedError';
  constructor(
    readonly projection: string,
    readonly expected: Position,
  ) {
    super(`checkpoint of ${projection} moved away from ${JSON.stringify(expected)} behind the runner's back`);
  }
}

/** A rebuild could not take the projection's lock: another process runs it. */
export class ProjectionLockedError extends ProjectionEngineError {
  override name = 'ProjectionLockedError';
  constructor(
    readonly projection: string,
    readonly waitedMs: number,
  ) {
    super(`projection ${projection} is run by another engine; its lock was not free within ${waitedMs} ms`);
  }
}

/** The engine stopped before a rebuild finished; the checkpoint records how far it got and a runner goes on. */
export class ProjectionStoppedError extends ProjectionEngineError {
  override name = 'ProjectionStoppedError';
  constructor(readonly projection: string) {
    super(`engine stopped before the rebuild of ${projection} finished`);
  }
}
