// Wire format of a bus message: JSON of the stored event with its bigint revision as a decimal string and
// `recordedAt` as ISO 8601, plus `prevPosition`.
import type { EventMetadata, JsonObject, StoredEvent } from '../eventstore/port.ts';
import { MalformedBusMessageError, type BusMessage } from './port.ts';

interface WireEvent {
  id: string;
  type: string;
  streamId: string;
  revision: string;
  position: string;
  recordedAt: string;
  data: JsonObject;
  metadata: EventMetadata;
}

interface WireMessage {
  prevPosition: string;
  event: WireEvent;
}

export function encodeBusMessage({ event, prevPosition }: BusMessage): string {
  const wire: WireMessage = {
    prevPosition,
    event: { ...event, revision: event.revision.toString(), recordedAt: event.recordedAt.toISOString() },
  };
  return JSON.stringify(wire);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeBusMessage(text: string): BusMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MalformedBusMessageError('bus message is not JSON', { cause: error });
  }
  const event = isObject(parsed) ? parsed.event : undefined;
  if (
    !isObject(parsed) ||
    typeof parsed.prevPosition !== 'string' ||
    !isObject(event) ||
    !['id', 'type', 'streamId', 'revision', 'position', 'recordedAt'].every((key) => typeof event[key] === 'string') ||
    !/^\d+$/.test(event.revision as string) ||
    !isObject(event.data) ||
    !isObject(event.metadata)
  ) {
    throw new MalformedBusMessageError('bus message does not have the shape of a stored event');
  }
  const wire = parsed as unknown as WireMessage;
  const recordedAt = new Date(wire.event.recordedAt);
  if (Number.isNaN(recordedAt.getTime())) throw new MalformedBusMessageError('bus message has an invalid recordedAt');
  const decoded: StoredEvent = { ...wire.event, revision: BigInt(wire.event.revision), recordedAt };
  return { event: decoded, prevPosition: wire.prevPosition };
}
