// POST /ingest/alertmanager: Alertmanager's webhook (notify/webhook, payload version "4"), configured as
//   receivers: [{ name: incident-platform, webhook_configs: [{ url: https://…/ingest/alertmanager, send_resolved: true,
//     http_config: { authorization: { type: Bearer, credentials: <JWT with role ingest> } } }] }]
// Each notification carries its group's whole state; the handler diffs it against the alert streams, so a repeat
// appends nothing. Fields Alertmanager adds later are accepted and ignored.
import type { FastifyInstance } from 'fastify';
import { ALERTMANAGER_KIND, type AlertmanagerNotification } from '../../commands/ingest-handlers.ts';
import { FINGERPRINT_MAX, TEXT_MAX } from '../../domain/alert/index.ts';
import type { JsonObject } from '../../infra/eventstore/port.ts';
import { ingestMessage, requireParsableInstant, schemaError, type IngestRouteOptions } from './plugin.ts';

/** Large groups (max_alerts 0, hundreds of alerts with long annotations) fit; a runaway sender does not. */
const BODY_LIMIT = 4 * 1024 * 1024;

const NON_BLANK = '\\S';
const labelSet = (maxLength?: number) => ({ type: 'object', additionalProperties: { type: 'string', maxLength } });

const NOTIFICATION_SCHEMA = {
  type: 'object',
  required: ['version', 'groupKey', 'status', 'receiver', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL', 'alerts'],
  properties: {
    version: { const: '4' },
    groupKey: { type: 'string', maxLength: TEXT_MAX },
    truncatedAlerts: { type: 'integer', minimum: 0 },
    status: { enum: ['firing', 'resolved'] },
    receiver: { type: 'string', maxLength: TEXT_MAX },
    groupLabels: labelSet(),
    commonLabels: labelSet(),
    commonAnnotations: labelSet(),
    externalURL: { type: 'string' },
    alerts: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL', 'fingerprint'],
        properties: {
          status: { enum: ['firing', 'resolved'] },
          // Label values name services and severities; annotations are free text (summaries are truncated).
          labels: labelSet(TEXT_MAX),
          annotations: labelSet(),
          startsAt: { type: 'string', format: 'date-time' },
          endsAt: { type: 'string', format: 'date-time' },
          generatorURL: { type: 'string', maxLength: TEXT_MAX },
          fingerprint: { type: 'string', minLength: 1, maxLength: FINGERPRINT_MAX, pattern: NON_BLANK },
        },
      },
    },
  },
} as const;

export async function alertmanagerRoutes(app: FastifyInstance, { queue }: IngestRouteOptions): Promise<void> {
  app.post(
    '/ingest/alertmanager',
    {
      onRequest: app.authorize('ingest'),
      bodyLimit: BODY_LIMIT,
      schema: { body: NOTIFICATION_SCHEMA },
      schemaErrorFormatter: schemaError,
    },
    async (request, reply) => {
      const notification = request.body as AlertmanagerNotification;
      notification.alerts.forEach((alert, index) => {
        requireParsableInstant(`alerts[${index}].startsAt`, alert.startsAt);
        requireParsableInstant(`alerts[${index}].endsAt`, alert.endsAt);
      });
      await queue.submit(ingestMessage(request, ALERTMANAGER_KIND, request.body as JsonObject));
      return reply.code(202).send({ status: 'success', message: 'Notification accepted', alerts: notification.alerts.length });
    },
  );
}
