// Entry point for alert commands, called by the ingestion handlers: one observation of a source, run through the one
// generic handler against the alert's stream `alert-<fingerprint>`. Event ids derive from the message that carried
// the observation, so a message delivered again appends nothing, even after the stream has moved on.
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { alertDecider, type AlertCommand, type AlertState } from '../domain/alert/index.ts';
import type { EventStore } from '../infra/eventstore/port.ts';
import { qualify, streamIdOf } from '../infra/eventstore/stream-name.ts';
import { handleCommand, type HandleOptions, type HandleResult } from './handler.ts';
import { commandMetadata, decisionMetadata, type CommandContext } from './context.ts';

export const ALERT_CATEGORY = 'alert';

/** The namespace of alert event ids (UUID v5): fixed forever, or redelivered messages would append again. */
const EVENT_ID_NAMESPACE = 'c90f5fc9-f743-4262-acea-44d2be608e30';

/**
 * The fingerprint as a stream id part. Alertmanager's fingerprints (hex) stay as they are; a dedup_key may hold any
 * character, so it is percent-encoded: printable, without `/`, and one id per fingerprint. One longer than 200
 * characters (the store takes ids of 512, tenant included) is hashed instead; the `:` marks the hash, since
 * percent-encoding never leaves one.
 */
export function alertStreamPart(fingerprint: string): string {
  const escaped = encodeURIComponent(fingerprint);
  if (escaped.length <= 200) return escaped;
  return `sha256:${createHash('sha256').update(fingerprint).digest('hex')}`;
}

/** As clients see it: `alert-<escaped fingerprint>`. */
export function alertClientStreamId(fingerprint: string): string {
  return streamIdOf(ALERT_CATEGORY, alertStreamPart(fingerprint));
}

export function alertStreamId(tenantId: string, fingerprint: string): string {
  return qualify(tenantId, alertClientStreamId(fingerprint));
}

type CommandWithoutMetadata<C> = C extends AlertCommand ? Omit<C, 'metadata'> : never;
/** An alert command as ingestion builds it; the clock and actor come from the message. */
export type AlertCommandData = CommandWithoutMetadata<AlertCommand>;

export interface Observation {
  command: AlertCommandData;
  /** Unique per observation and stable across redeliveries: the message's dedup key and the alert's place in it. */
  key: string;
}

/**
 * Runs one observation; `context.now` is when the message was received, so a redelivery decides the same. `options`
 * may say that the alert is probably new (its stream is then not read first) and that no read-back is wanted.
 */
export function observeAlert(
  store: EventStore,
  context: CommandContext & { now: Date },
  { command, key }: Observation,
  options: Pick<HandleOptions, 'assumeNew' | 'readBack'> = {},
): Promise<HandleResult<AlertState>> {
  const storeStreamId = alertStreamId(context.tenantId, command.data.fingerprint);
  const full: AlertCommand = { ...command, metadata: decisionMetadata(context) };
  return handleCommand(store, alertDecider, storeStreamId, full, {
    metadata: commandMetadata(context, key),
    eventId: (index) => uuidv5(`${storeStreamId}\n${key}\n${index}`, EVENT_ID_NAMESPACE),
    ...options,
  });
}
