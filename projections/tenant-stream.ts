// Read-model rows are keyed by tenant and by the stream id clients see (`incident-<id>`), never by the store-level
// `<tenant>/…` id, so that a row can be handed out as it is and a query can only ever ask within one tenant.
import type { StoredEvent } from '../infra/eventstore/port.ts';
import { unqualify } from '../infra/eventstore/stream-name.ts';

/**
 * An event in a stream where it cannot be: outside its own tenant (the store refuses such appends) or outside the
 * category a projection expects. Either way the log holds what no command wrote, and projecting it would misfile it.
 */
export class ForeignStreamError extends Error {
  override name = 'ForeignStreamError';
  constructor(
    readonly event: Pick<StoredEvent, 'id' | 'type' | 'streamId'>,
    /** Where it belongs, e.g. "tenant acme" or "incident streams". */
    readonly expected: string,
  ) {
    super(`${event.type} ${event.id} is in stream ${event.streamId}, outside ${expected}`);
  }
}

export interface TenantStream {
  tenantId: string;
  /** The client-visible stream id. */
  streamId: string;
}

export function tenantStream(event: StoredEvent): TenantStream {
  const tenantId = event.metadata.tenantId;
  const streamId = unqualify(tenantId, event.streamId);
  if (streamId === undefined) throw new ForeignStreamError(event, `tenant ${tenantId}`);
  return { tenantId, streamId };
}
