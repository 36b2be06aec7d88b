// The JetStream stream of a test run's ingestion queue (infra/ingest/jetstream.ts) is created by the first gateway
// or queue of the run; CI reuses the NATS server, so the run deletes it afterwards.
import { jetstreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ingestStreamName } from '../../infra/ingest/jetstream.ts';

/** Deletes the run's stream (and with it its consumer); true if there was one. */
export async function deleteIngestStream(url: string, subjectPrefix: string): Promise<boolean> {
  const nats = await connect({ servers: url, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nats);
    return await jsm.streams.delete(ingestStreamName(subjectPrefix));
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) return false;
    throw error;
  } finally {
    await nats.close();
  }
}
