// Builders for alert commands and events with a fixed clock, so tests read as a source's notifications do.
import type { AlertCommand, AlertEvent } from '../../../domain/alert/index.ts';
import { alertDecider } from '../../../domain/alert/index.ts';
import { deciderSpec } from './given-when-then.ts';

export const given = deciderSpec(alertDecider);

export const NOW = '2025-03-01T10:05:00.000Z';
export const STARTS_AT = '2025-03-01T10:00:00.000Z';
export const LATER = '2025-03-01T11:00:00.000Z';
export const FINGERPRINT = 'c2f1a0b3d4e5f607';
const metadata = { now: NOW, actorId: 'alertmanager' };

type CommandOf<T extends AlertCommand['type']> = Extract<AlertCommand, { type: T }>;
type EventOf<T extends AlertEvent['type']> = Extract<AlertEvent, { type: T }>;

const LABELS = { alertname: 'HighErrorRate', service: 'checkout', severity: 'critical' };
const ANNOTATIONS = { summary: '5xx above 5% on checkout' };

// Commands

export function fire(data: Partial<CommandOf<'FireAlert'>['data']> = {}): CommandOf<'FireAlert'> {
  return {
    type: 'FireAlert',
    data: {
      fingerprint: FINGERPRINT,
      source: 'alertmanager',
      labels: LABELS,
      annotations: ANNOTATIONS,
      startsAt: STARTS_AT,
      generatorURL: 'http://prometheus:9090/graph?g0.expr=rate',
      groupKey: '{}:{alertname="HighErrorRate"}',
      receiver: 'incident-platform',
      service: 'checkout',
      severity: 'SEV1',
      summary: '5xx above 5% on checkout',
      ...data,
    },
    metadata,
  };
}

export const resolve = (endsAt = NOW, startsAt: string | null = STARTS_AT): CommandOf<'ResolveAlert'> => ({
  type: 'ResolveAlert',
  data: { fingerprint: FINGERPRINT, endsAt, startsAt },
  metadata,
});

export const acknowledge = (): CommandOf<'AcknowledgeAlert'> => ({
  type: 'AcknowledgeAlert',
  data: { fingerprint: FINGERPRINT },
  metadata,
});

// Events

export function fired(data: Partial<EventOf<'AlertFired'>['data']> = {}): EventOf<'AlertFired'> {
  return {
    type: 'AlertFired',
    data: {
      fingerprint: FINGERPRINT,
      episode: 1,
      source: 'alertmanager',
      labels: LABELS,
      annotations: ANNOTATIONS,
      service: 'checkout',
      severity: 'SEV1',
      summary: '5xx above 5% on checkout',
      startsAt: STARTS_AT,
      generatorURL: 'http://prometheus:9090/graph?g0.expr=rate',
      groupKey: '{}:{alertname="HighErrorRate"}',
      receiver: 'incident-platform',
      details: null,
      ...data,
    },
  };
}

export const updated = (data: Partial<EventOf<'AlertUpdated'>['data']> = {}): EventOf<'AlertUpdated'> => ({
  type: 'AlertUpdated',
  data: {
    fingerprint: FINGERPRINT,
    episode: 1,
    labels: LABELS,
    annotations: ANNOTATIONS,
    service: 'checkout',
    severity: 'SEV1',
    summary: '5xx above 5% on checkout',
    ...data,
  },
});

export const resolved = (endsAt = NOW, episode = 1): EventOf<'AlertResolved'> => ({
  type: 'AlertResolved',
  data: { fingerprint: FINGERPRINT, episode, endsAt },
});

export const acknowledged = (episode = 1): EventOf<'AlertAcknowledged'> => ({
  type: 'AlertAcknowledged',
  data: { fingerprint: FINGERPRINT, episode, acknowledgedAt: NOW },
});
