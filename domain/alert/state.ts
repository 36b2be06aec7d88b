// The alert as a fold of its events: what decide needs to tell a new episode from a repeated notification, and
// what a live change shows.
import type { Severity } from '../incident/events.ts';
import type { AlertDetails, AlertEvent, AlertLabels, AlertSource } from './events.ts';

/** SUPPRESSED is the read model's (silences); the stream itself only fires and resolves. */
export type AlertStreamStatus = 'FIRING' | 'RESOLVED';

export interface NoAlert {
  readonly status: null;
}

export interface Alert {
  readonly status: AlertStreamStatus;
  readonly fingerprint: string;
  readonly episode: number;
  readonly source: AlertSource;
  readonly labels: AlertLabels;
  readonly annotations: AlertLabels;
  readonly service: string | null;
  readonly severity: Severity | null;
  readonly summary: string | null;
  readonly generatorURL: string | null;
  readonly groupKey: string | null;
  readonly receiver: string | null;
  readonly details: AlertDetails | null;
  /** Of the current (or last) episode. */
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly acknowledgedAt: string | null;
}

export type AlertState = NoAlert | Alert;

export function initialState(): AlertState {
  return { status: null };
}

export function evolve(state: AlertState, event: AlertEvent): AlertState {
  if (event.type === 'AlertFired') {
    return { status: 'FIRING', ...event.data, endsAt: null, acknowledgedAt: null };
  }
  // A stream always starts with AlertFired; evolve stays total rather than throwing on a malformed history.
  if (state.status === null) return state;
  switch (event.type) {
    case 'AlertUpdated': {
      const { labels, annotations, service, severity, summary } = event.data;
      return { ...state, labels, annotations, service, severity, summary };
    }
    case 'AlertAcknowledged':
      return { ...state, acknowledgedAt: event.data.acknowledgedAt };
    case 'AlertResolved':
      return { ...state, status: 'RESOLVED', endsAt: event.data.endsAt };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
