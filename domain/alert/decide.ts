// The alert's rules. Sources repeat themselves: Alertmanager sends a group's whole state with every notification
// (and HA peers send it twice), PagerDuty-style senders retry. So decide is a diff: what is already known appends
// nothing, and acknowledge or resolve for no open alert is dropped, as PagerDuty drops them.
import { ValidationError } from '../shared/errors.ts';
import { optionalText, requireInstant, requireOneOf, requireText } from '../shared/validation.ts';
import { SEVERITIES } from '../incident/events.ts';
import type { AlertCommand, FireAlert } from './commands.ts';
import { ALERT_SOURCES, type AlertEvent, type AlertLabels } from './events.ts';
import type { Alert, AlertState } from './state.ts';

/** PagerDuty's limits: dedup_key up to 255 characters, summary up to 1024 (ingestion truncates longer ones). */
export const FINGERPRINT_MAX = 255;
export const SUMMARY_MAX = 1024;
/** Service names, URLs, group keys and receivers; ingestion routes refuse longer ones before anything is queued. */
export const TEXT_MAX = 8192;

export function decide(command: AlertCommand, state: AlertState): AlertEvent[] {
  requireInstant('now', command.metadata.now);
  // Verbatim, as PagerDuty matches dedup keys: " a" and "a" are two alerts (and two streams).
  const fingerprint = requireText('fingerprint', command.data.fingerprint, FINGERPRINT_MAX);
  if (state.status !== null && state.fingerprint !== fingerprint) {
    throw new ValidationError('fingerprint', `this stream holds alert ${state.fingerprint}, not ${fingerprint}`);
  }

  switch (command.type) {
    case 'FireAlert':
      return fire(command, state, fingerprint);

    case 'ResolveAlert': {
      const endsAt = requireInstant('endsAt', command.data.endsAt);
      const startsAt = optionalInstant('startsAt', command.data.startsAt);
      if (state.status !== 'FIRING') return [];
      // A resolve naming an earlier episode is a late copy of a notification about that episode.
      if (startsAt !== null && startsAt < state.startsAt) return [];
      return [{ type: 'AlertResolved', data: { fingerprint, episode: state.episode, endsAt } }];
    }

    case 'AcknowledgeAlert':
      if (state.status !== 'FIRING' || state.acknowledgedAt !== null) return [];
      return [
        {
          type: 'AlertAcknowledged',
          data: { fingerprint, episode: state.episode, acknowledgedAt: command.metadata.now },
        },
      ];

    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}

function fire(command: FireAlert, state: AlertState, fingerprint: string): AlertEvent[] {
  const { data } = command;
  const source = requireOneOf('source', data.source, ALERT_SOURCES);
  const startsAt = requireInstant('startsAt', data.startsAt);
  const observed = {
    labels: data.labels,
    annotations: data.annotations,
    service: optionalText('service', data.service, TEXT_MAX)?.trim() ?? null,
    severity: data.severity ? requireOneOf('severity', data.severity, SEVERITIES) : null,
    summary: optionalText('summary', data.summary, SUMMARY_MAX),
  };

  // Alertmanager names an episode by its startsAt, and a re-fire has a new one: a firing alert that began before the
  // current episode, or at the very startsAt of a resolved one, is a late copy (an HA peer, a retry) of the past.
  const late =
    source === 'alertmanager' &&
    state.status !== null &&
    (startsAt < state.startsAt || (state.status === 'RESOLVED' && startsAt === state.startsAt));
  if (late) return [];
  if (state.status === 'FIRING') {
    // Notifications carry the alert's state again and again: only a change is news.
    if (sameObservation(state, observed)) return [];
    return [{ type: 'AlertUpdated', data: { fingerprint, episode: state.episode, ...observed } }];
  }
  // An Events v2 trigger after a resolve always opens a new alert, as PagerDuty does.
  return [
    {
      type: 'AlertFired',
      data: {
        fingerprint,
        episode: state.status === null ? 1 : state.episode + 1,
        source,
        ...observed,
        startsAt,
        generatorURL: optionalText('generatorURL', data.generatorURL, TEXT_MAX),
        groupKey: optionalText('groupKey', data.groupKey, TEXT_MAX),
        receiver: optionalText('receiver', data.receiver, TEXT_MAX),
        details: data.details ?? null,
      },
    },
  ];
}

function optionalInstant(field: string, value: string | null | undefined): string | null {
  return value === undefined || value === null ? null : requireInstant(field, value);
}

type Observation = Pick<Alert, 'labels' | 'annotations' | 'service' | 'severity' | 'summary'>;

function sameObservation(alert: Alert, observed: Observation): boolean {
  return (
    sameLabels(alert.labels, observed.labels) &&
    sameLabels(alert.annotations, observed.annotations) &&
    alert.service === observed.service &&
    alert.severity === observed.severity &&
    alert.summary === observed.summary
  );
}

/** Label sets are equal whatever the order of their names. */
function sameLabels(a: AlertLabels, b: AlertLabels): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => Object.hasOwn(b, name) && a[name] === b[name]);
}
