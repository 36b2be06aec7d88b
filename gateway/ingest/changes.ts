// POST /ingest/changes: PagerDuty's Change Events (`/v2/change/enqueue`: routing_key, payload { summary, timestamp,
// source, custom_details }, links), with its answers: 202 {status, message}, 400 {status, message, errors}. Beyond
// PagerDuty, a sender may say which catalog service changed, the kind of change, the version and the author, either
// at the top level or in `payload.custom_details` (the top level wins). The tenant comes from the bearer token (role
// ingest), never from `routing_key`. A change is identified by its body: a retried POST is the same message and the
// same change (a sender that means two changes with identical bodies gives them different timestamps).
import type { FastifyInstance } from 'fastify';
import { CHANGE_INGEST_KIND, ingestedChange, type ChangeIngestPayload } from '../../commands/change.ts';
import { CHANGE_KINDS, changeDecider, SUMMARY_MAX, type JsonRecord } from '../../domain/change/index.ts';
import { ValidationError } from '../../domain/shared/errors.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import { pagerDutyBody } from './events-v2.ts';
import { ingestMessage, requireParsableInstant, schemaError, type IngestRouteOptions } from './plugin.ts';

/** PagerDuty's limit on an event. */
const BODY_LIMIT = 512 * 1024;
const TEXT_MAX = 255;
const URL_MAX = 2048;
const LINKS_MAX = 20;

const NON_BLANK = '\\S';
const text = (maxLength: number) => ({ type: 'string', maxLength });

const CHANGE_SCHEMA = {
  type: 'object',
  required: ['routing_key', 'payload'],
  properties: {
    routing_key: { type: 'string', minLength: 1, maxLength: TEXT_MAX, pattern: NON_BLANK },
    payload: {
      type: 'object',
      required: ['summary'],
      properties: {
        summary: { type: 'string', minLength: 1, maxLength: SUMMARY_MAX, pattern: NON_BLANK },
        timestamp: { type: 'string' },
        source: text(TEXT_MAX),
        custom_details: { type: 'object' },
      },
    },
    links: {
      type: 'array',
      maxItems: LINKS_MAX,
      items: { type: 'object', required: ['href'], properties: { href: text(URL_MAX), text: text(1024) } },
    },
    service: text(TEXT_MAX),
    kind: { enum: CHANGE_KINDS },
    version: text(TEXT_MAX),
    author: text(TEXT_MAX),
  },
} as const;

interface ChangeEventBody {
  routing_key: string;
  payload: { summary: string; timestamp?: string; source?: string; custom_details?: JsonRecord };
  links?: { href: string; text?: string }[];
  service?: string;
  kind?: string;
  version?: string;
  author?: string;
}

/** A top-level extension field, or the same in custom_details (which the schema does not type, so it is checked). */
function extension(body: ChangeEventBody, field: 'service' | 'kind' | 'version' | 'author'): string | null {
  const top = body[field];
  if (top !== undefined) return top;
  const detail = body.payload.custom_details?.[field];
  if (detail === undefined || detail === null) return null;
  if (typeof detail !== 'string') throw new ValidationError(`payload.custom_details.${field}`, 'must be a string');
  return detail;
}

/** The change a body describes, as the ingestion handler records it. */
function changeOf(body: ChangeEventBody): ChangeIngestPayload {
  const { summary, timestamp, source, custom_details: customDetails } = body.payload;
  if (timestamp !== undefined) requireParsableInstant('payload.timestamp', timestamp);
  return {
    service: extension(body, 'service'),
    kind: extension(body, 'kind'),
    summary,
    version: extension(body, 'version'),
    author: extension(body, 'author'),
    source: source ?? null,
    // PagerDuty's examples write offsets as +0000; the domain keeps instants as UTC ISO strings.
    at: timestamp === undefined ? null : new Date(timestamp).toISOString(),
    links: (body.links ?? []).map((link) => ({ href: link.href, text: link.text ?? null })),
    customDetails: customDetails ?? {},
  };
}

export async function changesRoutes(app: FastifyInstance, { queue }: IngestRouteOptions): Promise<void> {
  app.post(
    '/ingest/changes',
    {
      onRequest: app.authorize('ingest'),
      bodyLimit: BODY_LIMIT,
      schema: { body: CHANGE_SCHEMA },
      schemaErrorFormatter: schemaError,
      onSend: pagerDutyBody,
    },
    async (request, reply) => {
      // The dedup key is the body's hash: a retried POST is the same message, hence the same change.
      const message = ingestMessage(request, CHANGE_INGEST_KIND, changeOf(request.body as ChangeEventBody) as unknown as JsonObject);
      // The change's own rules (service names, URLs, sizes) are checked now: nothing is accepted that would not be
      // recorded.
      changeDecider.decide(ingestedChange(message), changeDecider.initialState());
      await queue.submit(message);
      return reply.code(202).send({ status: 'success', message: 'Change event processed' });
    },
  );
}
