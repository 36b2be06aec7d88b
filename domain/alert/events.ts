// Everything that can happen to an alert (stream `alert-<fingerprint>`, see streamPartOf). An alert lives in
// episodes: it fires, may be acknowledged and updated, resolves, and a later firing is a new episode of the same
// alert. Data shapes are JSON (absent values are null) because they are stored as they are.
import type { DomainEvent } from '../shared/decider.ts';
import type { Severity } from '../incident/events.ts';

export const ALERT_SOURCES = ['alertmanager', 'events-v2'] as const;
/** Who told us: an Alertmanager webhook, or a PagerDuty Events v2 sender. */
export type AlertSource = (typeof ALERT_SOURCES)[number];

/** Label and annotation sets are string to string, as in Prometheus. Type aliases, so they are assignable to JSON. */
export type AlertLabels = { [name: string]: string };

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** What a source sends beside labels and annotations (Events v2: routing key, client, links, images, details). */
export type AlertDetails = { [key: string]: JsonValue };

export type AlertFired = DomainEvent<
  'AlertFired',
  {
    /** Alertmanager's fingerprint, or the Events v2 dedup_key. */
    fingerprint: string;
    /** 1 for the first firing; each firing after a resolve is the next episode. */
    episode: number;
    source: AlertSource;
    labels: AlertLabels;
    annotations: AlertLabels;
    /** The source's own instant (Alertmanager's startsAt, the Events v2 timestamp or when it was received). */
    startsAt: string;
    generatorURL: string | null;
    /** Alertmanager's group key (the route and group labels), or the Events v2 routing key: alerts one sender groups. */
    groupKey: string | null;
    receiver: string | null;
    /** The affected service, as the correlation groups alerts; null when the source does not name one. */
    service: string | null;
    severity: Severity | null;
    summary: string | null;
    details: AlertDetails | null;
  }
>;

/** What the source says about a firing alert changed (annotations, severity, summary); the episode goes on. */
export type AlertUpdated = DomainEvent<
  'AlertUpdated',
  {
    fingerprint: string;
    episode: number;
    labels: AlertLabels;
    annotations: AlertLabels;
    service: string | null;
    severity: Severity | null;
    summary: string | null;
  }
>;

/** Someone is on it (Events v2 `acknowledge`); the alert is still firing. */
export type AlertAcknowledged = DomainEvent<
  'AlertAcknowledged',
  { fingerprint: string; episode: number; acknowledgedAt: string }
>;

export type AlertResolved = DomainEvent<'AlertResolved', { fingerprint: string; episode: number; endsAt: string }>;

export type AlertEvent = AlertFired | AlertUpdated | AlertAcknowledged | AlertResolved;
export type AlertEventType = AlertEvent['type'];

// A Record, so adding an event type without listing it here fails to compile; projections subscribe with it.
const eventTypes: Record<AlertEventType, true> = {
  AlertFired: true,
  AlertUpdated: true,
  AlertAcknowledged: true,
  AlertResolved: true,
};
export const ALERT_EVENT_TYPES = Object.keys(eventTypes) as readonly AlertEventType[];
