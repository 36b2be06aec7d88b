// The instance's ingestion queue from configuration: JetStream when NATS_URL is set, otherwise direct (embedded).
import type { Config } from '../config.ts';
import { createDirectIngestQueue } from './direct.ts';
import { createJetStreamIngestQueue, type IngestLogger } from './jetstream.ts';
import type { IngestHandlers, IngestQueue } from './port.ts';

export async function openIngestQueue(
  config: Pick<Config, 'natsUrl' | 'natsSubjectPrefix'>,
  options: { handlers: IngestHandlers; name?: string; logger?: IngestLogger },
): Promise<IngestQueue> {
  const { handlers, name, logger } = options;
  if (config.natsUrl === undefined) return createDirectIngestQueue({ handlers });
  return createJetStreamIngestQueue({ url: config.natsUrl, subjectPrefix: config.natsSubjectPrefix, handlers, name, logger });
}
