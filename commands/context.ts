// Who is asking, on whose behalf, in which request and why: the same for every command of a request, and turned into
// event metadata in one place, so every aggregate's events carry the audit fields the same way.
import type { Actor } from '../infra/eventstore/port.ts';
import type { CommandEventMetadata } from './handler.ts';

export interface CommandContext {
  tenantId: string;
  actor: Actor;
  /** Ties together everything one request or one alert caused; defaults to the command id. */
  correlationId?: string;
  /** The id of the event that triggered the command (policies); defaults to the command id. */
  causationId?: string;
  traceparent?: string;
  /** Why, for the audit trail; commands that carry their own reason (reopen, severity, skip) use it otherwise. */
  reason?: string;
  /** The command's clock; defaults to the current time. */
  now?: Date;
}

/** The metadata of a command's events: who, in which request (defaulting to `commandId`), and why. */
export function commandMetadata(context: CommandContext, commandId: string, reason?: string | null): CommandEventMetadata {
  const why = context.reason ?? (reason?.trim() ? reason : undefined);
  return {
    tenantId: context.tenantId,
    actor: context.actor,
    correlationId: context.correlationId ?? commandId,
    causationId: context.causationId ?? commandId,
    ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
    ...(why === undefined ? {} : { reason: why }),
  };
}

/** What `decide` needs of the context: the command's instant and who issues it. */
export function decisionMetadata(context: CommandContext): { now: string; actorId: string } {
  return { now: (context.now ?? new Date()).toISOString(), actorId: context.actor.id };
}
