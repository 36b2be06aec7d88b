// The instance's bus from configuration: NATS when NATS_URL is set, otherwise in-process.
import type { Config } from '../config.ts';
import { createMemoryBus } from './memory.ts';
import { createNatsBus } from './nats.ts';
import type { Bus } from './port.ts';

export async function openBus(
  config: Pick<Config, 'natsUrl' | 'natsSubjectPrefix'>,
  options: { name?: string } = {},
): Promise<Bus> {
  if (config.natsUrl === undefined) return createMemoryBus();
  return createNatsBus({ url: config.natsUrl, subjectPrefix: config.natsSubjectPrefix, name: options.name });
}
