// The append and read workloads, written once against a small target interface so that our stores and the peer
// (Emmett's PostgreSQL event store) run the same kind of events in the same pattern.
import type { NewEvent } from '../../../infra/eventstore/port.ts';
import { incidentEvents, incidentStream } from './events.ts';
import { timeBoxed, timed, type Sample } from './measure.ts';

export interface BenchTarget {
  /** Appends `events` to `streamId`, whose last revision is `revision` (-1n: the stream is new). */
  append(streamId: string, events: NewEvent[], revision: bigint): Promise<void>;
  /** Reads the whole log from the start, returning how many events it saw. */
  readAll(): Promise<number>;
}

/** Incidents get this many events before a writer moves on to a fresh stream, as a command handler would. */
const EVENTS_PER_STREAM = 20;

/** `writers` concurrent writers, each appending one event per call to its own streams, for `seconds`. */
export function appendSingle(target: BenchTarget, writers: number, seconds: number): Promise<Sample> {
  const cursors = Array.from({ length: writers }, () => ({ streamId: incidentStream(), revision: -1n }));
  return timeBoxed(writers, seconds, async (writer) => {
    const cursor = cursors[writer];
    if (cursor === undefined) throw new Error(`no cursor for writer ${writer}`);
    if (cursor.revision === BigInt(EVENTS_PER_STREAM - 1)) {
      cursor.streamId = incidentStream();
      cursor.revision = -1n;
    }
    await target.append(cursor.streamId, incidentEvents(1, Number(cursor.revision + 1n)), cursor.revision);
    cursor.revision++;
    return 1;
  });
}

/** `total` events appended `batchSize` per call, each call a new stream; the events are made before timing. */
export function appendBatches(target: BenchTarget, total: number, batchSize: number): Promise<Sample> {
  const batches = Array.from({ length: Math.ceil(total / batchSize) }, () => ({
    streamId: incidentStream(),
    events: incidentEvents(batchSize),
  }));
  return timed(async () => {
    for (const batch of batches) await target.append(batch.streamId, batch.events, -1n);
    return batches.length * batchSize;
  });
}

export function readAllOnce(target: BenchTarget): Promise<Sample> {
  return timed(() => target.readAll());
}
