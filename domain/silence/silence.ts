// A silence (stream `silence-<id>`): matchers and a time range during which matching alerts open no incident. A
// maintenance window of a service is a silence with the matcher `service="<name>"` (the correlation matches the
// alert's service as the label `service`), so there is one concept, one list and one expiry.
// The silence also records the alerts it suppressed (AlertSuppressed), so the audit trail says why no incident opened.
import type { Decider, DomainCommand, DomainEvent } from '../shared/decider.ts';
import { IllegalTransitionError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { optionalText, requireInstant, requireName } from '../shared/validation.ts';
import { matches, validateMatchers, type Matcher, type MatcherInput } from './matchers.ts';

const NAME_MAX = 255;
const COMMENT_MAX = 10_000;

export type SilenceCreated = DomainEvent<
  'SilenceCreated',
  { silenceId: string; matchers: Matcher[]; startsAt: string; endsAt: string; createdBy: string; comment: string | null; createdAt: string }
>;
/** Ended before its time by someone; a silence that reaches its endsAt expires by itself, with no event. */
export type SilenceExpired = DomainEvent<'SilenceExpired', { expiredBy: string; at: string }>;
/** `episode` is the alert's firing (AlertFired.episode): each firing the silence mutes is recorded once. */
export type AlertSuppressed = DomainEvent<'AlertSuppressed', { fingerprint: string; episode: number; at: string }>;
export type SilenceEvent = SilenceCreated | SilenceExpired | AlertSuppressed;
export const SILENCE_EVENT_TYPES: readonly SilenceEvent['type'][] = ['SilenceCreated', 'SilenceExpired', 'AlertSuppressed'];

export type CreateSilence = DomainCommand<
  'CreateSilence',
  { silenceId: string; matchers: readonly MatcherInput[]; startsAt?: string | null; endsAt: string; comment?: string | null }
>;
export type ExpireSilence = DomainCommand<'ExpireSilence', Record<string, never>>;
export type RecordSuppression = DomainCommand<'RecordSuppression', { fingerprint: string; episode: number }>;
export type SilenceCommand = CreateSilence | ExpireSilence | RecordSuppression;

export type SilenceStatus = 'PENDING' | 'ACTIVE' | 'EXPIRED';

export interface Silence {
  silenceId: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string | null;
  /** The alert firings it muted, as suppressionKey. */
  suppressed: string[];
}

const suppressionKey = (fingerprint: string, episode: number) => `${episode}:${fingerprint}`;
export type SilenceState = Silence | null;

export class SilenceNotFoundError extends NotFoundError {
  override name = 'SilenceNotFoundError';
}

/** A silence's status at `now`: its end is data, so it expires on time with no event and no restart. */
export function silenceStatus(silence: Pick<Silence, 'startsAt' | 'endsAt'>, now: string): SilenceStatus {
  if (now >= silence.endsAt) return 'EXPIRED';
  return now < silence.startsAt ? 'PENDING' : 'ACTIVE';
}

/** Whether the silence mutes an alert with these labels at `at`. */
export function silences(silence: Pick<Silence, 'startsAt' | 'endsAt' | 'matchers'>, labels: Readonly<Record<string, string>>, at: string): boolean {
  return silenceStatus(silence, at) === 'ACTIVE' && matches(silence.matchers, labels);
}

function decide(command: SilenceCommand, state: SilenceState): SilenceEvent[] {
  const at = requireInstant('now', command.metadata.now);
  if (command.type === 'CreateSilence') {
    if (state !== null) throw new IllegalTransitionError(`silence ${state.silenceId}`, 'created', 'create', 'a new silence id');
    const { data } = command;
    const startsAt = data.startsAt === undefined || data.startsAt === null ? at : requireInstant('startsAt', data.startsAt);
    const endsAt = requireInstant('endsAt', data.endsAt);
    if (endsAt <= startsAt) throw new ValidationError('endsAt', `must be after startsAt (${startsAt})`);
    if (endsAt <= at) throw new ValidationError('endsAt', `must be in the future (now is ${at})`);
    return [
      {
        type: 'SilenceCreated',
        data: {
          silenceId: requireName('silenceId', data.silenceId, NAME_MAX),
          matchers: validateMatchers(data.matchers),
          startsAt,
          endsAt,
          createdBy: requireName('actorId', command.metadata.actorId, NAME_MAX),
          comment: optionalText('comment', data.comment, COMMENT_MAX),
          createdAt: at,
        },
      },
    ];
  }
  if (state === null) throw new SilenceNotFoundError('no such silence');
  switch (command.type) {
    case 'ExpireSilence':
      // Idempotent: expiring what has already ended changes nothing.
      if (silenceStatus(state, at) === 'EXPIRED') return [];
      return [{ type: 'SilenceExpired', data: { expiredBy: requireName('actorId', command.metadata.actorId, NAME_MAX), at } }];
    case 'RecordSuppression': {
      const { fingerprint, episode } = command.data;
      if (state.suppressed.includes(suppressionKey(fingerprint, episode))) return [];
      return [{ type: 'AlertSuppressed', data: { fingerprint, episode, at } }];
    }
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}

function evolve(state: SilenceState, event: SilenceEvent): SilenceState {
  switch (event.type) {
    case 'SilenceCreated': {
      const { silenceId, matchers, startsAt, endsAt, createdBy, comment } = event.data;
      return { silenceId, matchers, startsAt, endsAt, createdBy, comment, suppressed: [] };
    }
    case 'SilenceExpired':
      return state === null ? state : { ...state, endsAt: event.data.at < state.endsAt ? event.data.at : state.endsAt };
    case 'AlertSuppressed':
      return state === null ? state : { ...state, suppressed: [...state.suppressed, suppressionKey(event.data.fingerprint, event.data.episode)] };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

export const silenceDecider: Decider<SilenceState, SilenceCommand, SilenceEvent> = {
  decide,
  evolve,
  initialState: () => null,
};
