// The ingestion routes (DESIGN.md "Public contract"): one plugin per protocol, all behind a bearer token with the
// `ingest` role (checked before the body is read), JSON only, validated by the route's JSON schema, then submitted
// to the ingestion queue and answered 202 (infra/ingest/port.ts). Nothing reaches the store unless all of it passed.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { ValidationError } from '../../domain/shared/errors.ts';
import { canonicalJson, NotJsonError } from '../../infra/eventstore/canonical-json.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import type { IngestMessage, IngestQueue } from '../../infra/ingest/port.ts';
import { requireRole } from '../auth/roles.ts';
import { alertmanagerRoutes } from './alertmanager.ts';
import { changesRoutes } from './changes.ts';
import { eventsV2Routes } from './events-v2.ts';

/** What the plugin and each protocol's routes are given. */
export interface IngestRouteOptions {
  queue: IngestQueue;
}

/** `'alerts[0].fingerprint'` for ajv's `/alerts/0` and the missing property `fingerprint`. */
function fieldOf(error: FastifySchemaValidationError): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((step) => (/^\d+$/.test(step) ? `[${step}]` : `.${step.replaceAll('~1', '/').replaceAll('~0', '~')}`))
    .join('');
  const missing = error.keyword === 'required' ? `.${String(error.params.missingProperty)}` : '';
  return `${path}${missing}`.replace(/^\./, '') || 'body';
}

/**
 * The route's schema refused the body: a ValidationError naming the field (the gateway's error formatter answers it
 * as 400 BAD_USER_INPUT). The first error is the one reported, as fastify's ajv stops at it.
 */
export function schemaError(errors: FastifySchemaValidationError[]): Error {
  const [error] = errors;
  if (error === undefined) return new ValidationError('body', 'is invalid');
  const field = fieldOf(error);
  switch (error.keyword) {
    case 'required':
      return new ValidationError(field, 'is missing');
    case 'const':
      return new ValidationError(field, `must be ${JSON.stringify(error.params.allowedValue)}`);
    case 'enum': {
      const allowed = error.params.allowedValues as unknown[];
      return new ValidationError(field, `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`);
    }
    case 'pattern':
      // The ingestion schemas use patterns only to refuse blank text.
      return new ValidationError(field, 'must not be blank');
    default:
      return new ValidationError(field, error.message ?? 'is invalid');
  }
}

/** An instant the schema let through (RFC 3339) that must also be one JavaScript can compute with. */
export function requireParsableInstant(field: string, value: string): void {
  if (Number.isNaN(Date.parse(value))) throw new ValidationError(field, `${JSON.stringify(value)} is not an RFC 3339 date-time`);
}

/**
 * Builds the queue message of a validated body; refuses what the store could never hold (U+0000, lone surrogates,
 * nesting beyond its limit) now, rather than after the 202. `dedupKey` defaults to a hash of the body, so a retried
 * POST is one message.
 */
export function ingestMessage(request: FastifyRequest, kind: string, payload: JsonObject, dedupKey?: string): IngestMessage {
  let canonical: string;
  try {
    canonical = canonicalJson(payload, 'body');
  } catch (error) {
    if (error instanceof NotJsonError) throw new ValidationError(error.path, error.message.slice(error.path.length + 1));
    throw error;
  }
  const { sub, tenant, roles } = requireRole(request, 'ingest');
  return {
    kind,
    tenant,
    dedupKey: dedupKey ?? createHash('sha256').update(canonical).digest('hex'),
    actor: { id: sub, kind: 'service', roles: [...roles] },
    receivedAt: new Date().toISOString(),
    payload,
  };
}

export async function ingestPlugin(app: FastifyInstance, { queue }: IngestRouteOptions): Promise<void> {
  // JSON only, here: any other content type is a 415, not a string that then fails the schema.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  await app.register(alertmanagerRoutes, { queue });
  await app.register(eventsV2Routes, { queue });
  await app.register(changesRoutes, { queue });
}
