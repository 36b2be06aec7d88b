// Tenant scoping lives in the stream id: `<tenant>/<category>-<id>`. Clients only ever see `<category>-<id>`;
// a tenant's whole log is the prefix `<tenant>/`, which every backend can filter on server-side.

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export class InvalidTenantError extends Error {
  override name = 'InvalidTenantError';
}

export function assertTenant(tenantId: string): void {
  if (!TENANT.test(tenantId)) throw new InvalidTenantError(`invalid tenant id: ${JSON.stringify(tenantId)}`);
}

export function tenantPrefix(tenantId: string): string {
  assertTenant(tenantId);
  return `${tenantId}/`;
}

export function qualify(tenantId: string, clientStreamId: string): string {
  return tenantPrefix(tenantId) + clientStreamId;
}

/** The client-visible id, or undefined if the stream does not belong to this tenant. */
export function unqualify(tenantId: string, storeStreamId: string): string | undefined {
  const prefix = tenantPrefix(tenantId);
  return storeStreamId.startsWith(prefix) ? storeStreamId.slice(prefix.length) : undefined;
}

export function streamIdOf(category: string, id: string): string {
  return `${category}-${id}`;
}
