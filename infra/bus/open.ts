// The instance's bus from configuration: NATS when NATS_URL is set, otherwise in-process.
import type { Config } from '../config.ts';
import { createMemoryBus } from './memory.ts';
import { createNatsBus } from './nats.ts';
import type { Bus } from './port.ts';

export async function openBus(config: Pick<Config, 'natsUrl'>, options: { name?: string } = {}): Promise<Bus> {
  return config.natsUrl === undefined ? createMemoryBus() : createNatsBus({ url: config.natsUrl, name: options.name });
}
