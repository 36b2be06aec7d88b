// One upstream subscription per tenant per instance, fanned out in-process to every live query of that tenant:
// a thousand GraphQL subscribers cost one NATS subscription, not a thousand.
import type { BusListener, BusMessage } from './port.ts';

export class TenantFanout {
  private readonly byTenant = new Map<string, Set<BusListener>>();

  /** True when this is the tenant's first listener: the bus then opens the tenant's upstream subscription. */
  add(tenant: string, listener: BusListener): boolean {
    const listeners = this.byTenant.get(tenant);
    if (listeners !== undefined) {
      listeners.add(listener);
      return false;
    }
    this.byTenant.set(tenant, new Set([listener]));
    return true;
  }

  /** True when the tenant has no listener left: the bus then closes the upstream subscription. */
  remove(tenant: string, listener: BusListener): boolean {
    const listeners = this.byTenant.get(tenant);
    if (listeners === undefined || !listeners.delete(listener) || listeners.size > 0) return false;
    this.byTenant.delete(tenant);
    return true;
  }

  deliver(tenant: string, message: BusMessage): void {
    const listeners = this.byTenant.get(tenant);
    if (listeners === undefined) return;
    for (const listener of listeners) listener.onMessage(message);
  }

  resetAll(): void {
    for (const listeners of this.byTenant.values()) for (const listener of listeners) listener.onReset();
  }

  clear(): void {
    this.byTenant.clear();
  }
}
