// NATS subjects for live events: `<prefix>.<tenant>.<category>.<type>`, prefix `events` in production and a unique
// one per test run. Subject tokens cannot contain `.`, `*`, `>` or whitespace, so those become `_`.
import type { StoredEvent } from '../eventstore/port.ts';

export const DEFAULT_SUBJECT_PREFIX = 'events';

export function subjectToken(value: string): string {
  const token = value.replace(/[.*>\s\p{Cc}]/gu, '_');
  return token === '' ? '_' : token;
}

/** The tenant of a store-level stream id (`<tenant>/<category>-<id>`), or undefined for an unscoped stream. */
export function tenantOf(storeStreamId: string): string | undefined {
  const slash = storeStreamId.indexOf('/');
  return slash > 0 ? storeStreamId.slice(0, slash) : undefined;
}

function categoryOf(storeStreamId: string): string {
  const clientId = storeStreamId.slice(storeStreamId.indexOf('/') + 1);
  const dash = clientId.indexOf('-');
  return dash < 0 ? clientId : clientId.slice(0, dash);
}

export function eventSubject(prefix: string, tenant: string, event: StoredEvent): string {
  return `${prefix}.${subjectToken(tenant)}.${subjectToken(categoryOf(event.streamId))}.${subjectToken(event.type)}`;
}

export function tenantSubjects(prefix: string, tenant: string): string {
  return `${prefix}.${subjectToken(tenant)}.>`;
}

/** Tenant ids start with [a-z0-9] (stream-name.ts), so `_reset` can never be a tenant token. */
export function resetSubject(prefix: string): string {
  return `${prefix}._reset`;
}

export function isValidSubjectPrefix(prefix: string): boolean {
  return prefix.split('.').every((token) => token !== '' && subjectToken(token) === token);
}
