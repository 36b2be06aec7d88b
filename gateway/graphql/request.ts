// What resolvers of several modules take from a request: the command context of the caller (for commands that
// record who acted) and read-your-writes (`consistentWith`) over the read models they read.
import type { CommandContext } from '../../commands/context.ts';
import type { Position } from '../../infra/eventstore/port.ts';
import type { Principal } from '../auth/token.ts';
import type { GraphQLContext } from './context.ts';

/** W3C Trace Context; a malformed header is ignored, as the specification asks, rather than stored. */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
/** How long `consistentWith` waits for the read models before answering SERVICE_UNAVAILABLE. */
const CONSISTENCY_TIMEOUT_MS = 5_000;

/** The actor is the token's subject, always a user here; the tenant comes from the token and nowhere else. */
export function commandContext(principal: Principal, context: GraphQLContext): CommandContext {
  const header = context.reply?.request?.headers?.traceparent;
  const traceparent = typeof header === 'string' && TRACEPARENT.test(header) ? header : undefined;
  return {
    tenantId: principal.tenant,
    actor: { id: principal.sub, kind: 'user', roles: [...principal.roles] },
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}

/**
 * Read-your-writes: resolves once `projections` include `cursor` (ProjectionTimeoutError otherwise). A cursor that
 * is no position of this store is refused at once (InvalidReadError) rather than waited for in vain. The head of the
 * log cannot tell: a write just answered may not be visible to readers yet (an older transaction holds it back).
 */
export async function readModelsConsistentWith(
  context: GraphQLContext,
  cursor: Position,
  projections: readonly string[],
): Promise<void> {
  const { eventStore, engine } = context.services;
  // The store checks the position when it reads the first page; one event is the least it can be asked for.
  for await (const _event of eventStore.readAll({ after: cursor, maxCount: 1 })) break;
  await engine.waitForPosition(cursor, { timeoutMs: CONSISTENCY_TIMEOUT_MS, projections });
}
