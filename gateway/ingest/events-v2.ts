// POST /ingest/events/v2: PagerDuty's Events API v2 (`/v2/enqueue`), with its answers: 202 {status, message,
// dedup_key}, 400 {status: "invalid event", message, errors}. A trigger without dedup_key gets one, returned in the
// 202. The tenant comes from the bearer token (role ingest), never from `routing_key`, which is kept with the alert
// as the sender's group. Each POST is its own message: a trigger after a resolve must open a new alert even when
// its body is the same, and the alert's own rules make a retried trigger, acknowledge or resolve harmless.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { EVENTS_V2_KIND, type EventsV2Event } from '../../commands/ingest-handlers.ts';
import { FINGERPRINT_MAX, TEXT_MAX } from '../../domain/alert/index.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import { ingestMessage, requireParsableInstant, schemaError, type IngestRouteOptions } from './plugin.ts';

/** PagerDuty's limit on an event. */
const BODY_LIMIT = 512 * 1024;

const NON_BLANK = '\\S';
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: NON_BLANK });

const EVENT_SCHEMA = {
  type: 'object',
  required: ['routing_key', 'event_action'],
  properties: {
    routing_key: text(TEXT_MAX),
    event_action: { enum: ['trigger', 'acknowledge', 'resolve'] },
    dedup_key: text(FINGERPRINT_MAX),
    payload: {
      type: 'object',
      required: ['summary', 'source', 'severity'],
      properties: {
        // PagerDuty truncates a longer summary to 1024 characters, as ingestion does.
        summary: { type: 'string', minLength: 1, pattern: NON_BLANK },
        source: text(TEXT_MAX),
        severity: { enum: ['critical', 'error', 'warning', 'info'] },
        timestamp: { type: 'string' },
        component: { type: 'string', maxLength: TEXT_MAX },
        group: { type: 'string', maxLength: TEXT_MAX },
        class: { type: 'string', maxLength: TEXT_MAX },
      },
    },
    images: { type: 'array', items: { type: 'object' } },
    links: { type: 'array', items: { type: 'object' } },
    client: { type: 'string', maxLength: TEXT_MAX },
    client_url: { type: 'string', maxLength: TEXT_MAX },
  },
  // A trigger describes the alert; acknowledge and resolve name it.
  if: { properties: { event_action: { const: 'trigger' } } },
  then: { required: ['payload'] },
  else: { required: ['dedup_key'] },
} as const;

/** The gateway's error body (errors.ts), as this route's onSend hook receives it. */
interface ErrorBody {
  code: string;
  message: string;
}

/**
 * PagerDuty's 400 bodies in place of the gateway's (errors.ts still decides the status, counts the refusal and logs):
 * an event that breaks the rules, and a body that is no event at all. Other answers are left as they are.
 */
export async function pagerDutyBody(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode !== 400 || typeof payload !== 'string') return payload;
  const { code, message } = JSON.parse(payload) as ErrorBody;
  return JSON.stringify(
    code === 'BAD_USER_INPUT'
      ? { status: 'invalid event', message: 'Event object is invalid', errors: [message] }
      : { status: 'Unrecognized object', message: 'Event object format is unrecognized', errors: [message] },
  );
}

export async function eventsV2Routes(app: FastifyInstance, { queue }: IngestRouteOptions): Promise<void> {
  app.post(
    '/ingest/events/v2',
    {
      onRequest: app.authorize('ingest'),
      bodyLimit: BODY_LIMIT,
      schema: { body: EVENT_SCHEMA },
      schemaErrorFormatter: schemaError,
      onSend: pagerDutyBody,
    },
    async (request, reply) => {
      const event = request.body as EventsV2Event;
      const timestamp = event.payload?.timestamp;
      if (timestamp !== undefined) requireParsableInstant('payload.timestamp', timestamp);
      // As PagerDuty makes one: 32 hexadecimal digits.
      const dedupKey = event.dedup_key ?? randomUUID().replaceAll('-', '');
      const payload = { ...(request.body as JsonObject), dedup_key: dedupKey };
      await queue.submit(ingestMessage(request, EVENTS_V2_KIND, payload, uuidv7()));
      return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
    },
  );
}
