// In-process bus, used when NATS_URL is not set (one process: the publisher and every subscriber live here).
import { tenantOf } from './subject.ts';
import { TenantFanout } from './fanout.ts';
import { BusError, type Bus } from './port.ts';

export function createMemoryBus(): Bus {
  const fanout = new TenantFanout();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new BusError('bus is closed');
  };
  return {
    async subscribe(tenant, listener) {
      assertOpen();
      fanout.add(tenant, listener);
      return {
        async close() {
          fanout.remove(tenant, listener);
        },
      };
    },
    publish(message) {
      assertOpen();
      const tenant = tenantOf(message.event.streamId);
      if (tenant !== undefined) fanout.deliver(tenant, message);
    },
    publishReset() {
      assertOpen();
      fanout.resetAll();
    },
    async close() {
      closed = true;
      fanout.clear();
    },
  };
}
