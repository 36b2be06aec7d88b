// The alert ingestion handlers, by message kind (infra/ingest/port.ts): an Alertmanager notification or a PagerDuty
// Events v2 event, as its route validated and queued it, becomes one alert command per alert it mentions. A batch is
// grouped per alert: each alert's observations run in message order, different alerts side by side. An alert the
// read model does not know is probably new, and its first command appends without reading the stream first.
import { severityOf, SUMMARY_MAX, type AlertLabels, type JsonValue } from '../domain/alert/index.ts';
import type { IngestHandler, IngestMessage } from '../infra/ingest/port.ts';
import type { EventStore } from '../infra/eventstore/port.ts';
import type { SqlExecutor } from '../infra/sql/port.ts';
import { knownFingerprints } from '../queries/alerts.ts';
import { observeAlert, type AlertCommandData, type Observation } from './alert.ts';
import type { CommandContext } from './context.ts';
import { inPool } from './pool.ts';

/** Alerts whose commands run at once; each holds a pooled connection for a few round trips. */
const ALERTS_IN_FLIGHT = 16;
/** Go's zero time: what Alertmanager sends as the endsAt of an alert without one. */
const ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/** The webhook body of Alertmanager (notify/webhook, version "4"); later fields are tolerated and ignored. */
export interface AlertmanagerNotification {
  version: '4';
  groupKey: string;
  /** Alerts left out by the receiver's max_alerts. */
  truncatedAlerts?: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: AlertLabels;
  commonLabels: AlertLabels;
  commonAnnotations: AlertLabels;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: AlertLabels;
  annotations: AlertLabels;
  /** RFC 3339, with up to nanoseconds. */
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** A PagerDuty Events v2 event; the route has set `dedup_key` (generated for a trigger that had none). */
export interface EventsV2Event {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  /** Present on every trigger. */
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp?: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: JsonValue;
  };
  images?: JsonValue[];
  links?: JsonValue[];
  client?: string;
  client_url?: string;
}

export const ALERTMANAGER_KIND = 'alertmanager';
export const EVENTS_V2_KIND = 'events-v2';

// The routes validated the payload against its JSON schema before queueing it.
const notificationOf = (message: IngestMessage) => message.payload as unknown as AlertmanagerNotification;
const eventOf = (message: IngestMessage) => message.payload as unknown as EventsV2Event;

/** An instant as the domain keeps it (milliseconds, UTC); the routes checked that it parses. */
function instant(rfc3339: string): string {
  return new Date(rfc3339).toISOString();
}

/** At most SUMMARY_MAX characters, as PagerDuty truncates a summary; never splitting a surrogate pair. */
function summaryOf(text: string | undefined): string | null {
  if (text === undefined || text.length <= SUMMARY_MAX) return text ?? null;
  const cut = text.slice(0, SUMMARY_MAX - 1).replace(/[\ud800-\udbff]$/, '');
  return `${cut}…`;
}

function alertmanagerCommands(message: IngestMessage): AlertCommandData[] {
  const { groupKey, receiver, alerts } = notificationOf(message);
  return alerts.map((alert): AlertCommandData => {
    const { fingerprint, labels, annotations } = alert;
    const startsAt = instant(alert.startsAt);
    if (alert.status === 'resolved') {
      // An alert resolved without an end (it should not happen) ends when we heard of it.
      const endsAt = Date.parse(alert.endsAt) > ZERO_TIME ? instant(alert.endsAt) : message.receivedAt;
      return { type: 'ResolveAlert', data: { fingerprint, endsAt, startsAt } };
    }
    return {
      type: 'FireAlert',
      data: {
        fingerprint,
        source: 'alertmanager',
        labels,
        annotations,
        startsAt,
        generatorURL: alert.generatorURL,
        groupKey,
        receiver,
        // The `service` label names the affected service, as the topology knows it.
        service: labels.service,
        severity: severityOf(labels.severity),
        summary: summaryOf(annotations.summary ?? annotations.description ?? labels.alertname),
      },
    };
  });
}

function eventsV2Commands(message: IngestMessage): AlertCommandData[] {
  const event = eventOf(message);
  const fingerprint = event.dedup_key;
  switch (event.event_action) {
    case 'acknowledge':
      return [{ type: 'AcknowledgeAlert', data: { fingerprint } }];
    case 'resolve':
      return [{ type: 'ResolveAlert', data: { fingerprint, endsAt: message.receivedAt } }];
    case 'trigger': {
      const { payload } = event;
      if (payload === undefined) throw new TypeError(`events-v2 message ${message.dedupKey}: a trigger without payload`);
      const { summary, source, severity, timestamp, component, group } = payload;
      return [
        {
          type: 'FireAlert',
          data: {
            fingerprint,
            source: 'events-v2',
            labels: present({ source, severity, component, group, class: payload.class }),
            annotations: { summary },
            startsAt: timestamp === undefined ? message.receivedAt : instant(timestamp),
            generatorURL: event.client_url,
            // Events of one routing key (one integration) are one sender's group, as an Alertmanager route is.
            groupKey: event.routing_key,
            // PagerDuty's `group` is a logical grouping of components of a service: the closest it has to one.
            service: group ?? component,
            severity: severityOf(severity),
            summary: summaryOf(summary),
            details: present({
              routingKey: event.routing_key,
              client: event.client,
              clientUrl: event.client_url,
              customDetails: payload.custom_details,
              links: event.links,
              images: event.images,
            }),
          },
        },
      ];
    }
    default: {
      const unhandled: never = event.event_action;
      throw new TypeError(`events-v2 message ${message.dedupKey}: unknown event_action ${String(unhandled)}`);
    }
  }
}

/** The members that are not undefined (JSON has no undefined). */
function present<T extends JsonValue>(members: Record<string, T | undefined>): Record<string, T> {
  return Object.fromEntries(Object.entries(members).filter((member): member is [string, T] => member[1] !== undefined));
}

const alertKey = (tenant: string, fingerprint: string) => `${tenant}\n${fingerprint}`;

interface Queued {
  context: CommandContext & { now: Date };
  observation: Observation;
}

async function observeAll(
  store: EventStore,
  readDb: SqlExecutor,
  messages: readonly IngestMessage[],
  commandsOf: (message: IngestMessage) => AlertCommandData[],
): Promise<void> {
  const perAlert = new Map<string, Queued[]>();
  const fingerprints = new Map<string, string[]>();
  for (const message of messages) {
    const context = {
      tenantId: message.tenant,
      actor: message.actor,
      now: new Date(message.receivedAt),
      ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
    };
    commandsOf(message).forEach((command, index) => {
      // Stable across redeliveries of this message, distinct for every other POST, even of the same body (the
      // queue may drop a retried POST by its dedup key alone, but a later identical notification is news again).
      const key = `${message.dedupKey}@${message.receivedAt}#${index}`;
      const alert = alertKey(message.tenant, command.data.fingerprint);
      const queued = { context, observation: { command, key } };
      const queue = perAlert.get(alert);
      if (queue !== undefined) {
        queue.push(queued);
        return;
      }
      perAlert.set(alert, [queued]);
      const ofTenant = fingerprints.get(message.tenant);
      if (ofTenant === undefined) fingerprints.set(message.tenant, [command.data.fingerprint]);
      else ofTenant.push(command.data.fingerprint);
    });
  }
  // One query per tenant of the batch; the read model may lag, and a wrong guess only costs a refused append.
  const known = new Set<string>();
  for (const [tenant, ofTenant] of fingerprints) {
    for (const fingerprint of await knownFingerprints(readDb, tenant, ofTenant)) known.add(alertKey(tenant, fingerprint));
  }
  await inPool([...perAlert], ALERTS_IN_FLIGHT, async ([alert, queue]) => {
    for (const [index, { context, observation }] of queue.entries()) {
      // Nothing reads the appended events back: ingestion only needs them stored.
      await observeAlert(store, context, observation, { assumeNew: index === 0 && !known.has(alert), readBack: false });
    }
  });
}

export type AlertIngestKind = typeof ALERTMANAGER_KIND | typeof EVENTS_V2_KIND;

/** The handlers to register with the ingestion queue; `readDb` holds the alerts read model. */
export function alertIngestHandlers(store: EventStore, readDb: SqlExecutor): Record<AlertIngestKind, IngestHandler> {
  return {
    [ALERTMANAGER_KIND]: (messages) => observeAll(store, readDb, messages, alertmanagerCommands),
    [EVENTS_V2_KIND]: (messages) => observeAll(store, readDb, messages, eventsV2Commands),
  };
}
