// How firing alerts become incidents (issue 4 "Correlation"), as pure functions of a group's state and one alert
// event. The process manager (commands/policies/alert-correlation.ts) keeps the state and turns the actions into
// incident commands; nothing here reads a clock or a store, so a replay decides the same.
import { SEVERITIES, type Severity } from '../incident/events.ts';

export interface CorrelationSettings {
  /** An alert joins its group's open incident if it fires within this long of the group's previous firing. */
  groupWindowMs: number;
  /** Alerts at or above this severity declare an incident; lower ones only join an open one. */
  declareAtOrAbove: Severity;
  /** Resolve the incident when all its linked alerts have resolved (otherwise the timeline only says so). */
  autoResolve: boolean;
  /** An alert that fired more than this many times within flapWindowMs is flapping. */
  flapThreshold: number;
  flapWindowMs: number;
  /** Changes this long before the group's first alert (and since) are suspects. */
  suspectLookBackMs: number;
}

export const DEFAULT_CORRELATION_SETTINGS: CorrelationSettings = {
  groupWindowMs: 30 * 60_000,
  declareAtOrAbove: 'SEV2',
  autoResolve: false,
  flapThreshold: 4,
  flapWindowMs: 60 * 60_000,
  suspectLookBackMs: 2 * 60 * 60_000,
};

/** What the manager remembers of one (service, groupKey) group; JSON, since it is stored as it is. */
export interface GroupState {
  /** The group's last incident, open or not. */
  incidentId: string | null;
  incidentOpen: boolean;
  /** The first alert of the last incident: suspects are looked for before it. */
  windowStart: string | null;
  lastFiredAt: string | null;
  /** Alerts linked to the last incident, and those of them firing now. */
  linked: string[];
  firing: string[];
  /** The timeline has said that every linked alert resolved (said once per incident, so flaps do not flood it). */
  resolvedNoted: boolean;
}

/** What the manager remembers of one alert. */
export interface AlertTrack {
  /** Its firings within the flapping window, oldest first. */
  firings: string[];
  /** Marked when it started flapping (the timeline of its open incident says so then), cleared when it calms down. */
  flapping: boolean;
}

export interface FiredAlert {
  fingerprint: string;
  service: string | null;
  severity: Severity | null;
  /** The incident title: the alert's summary, or its alertname. */
  title: string;
  summary: string | null;
  /** The alert's own instant (startsAt). */
  at: string;
}

export type CorrelationAction =
  | { type: 'declare'; incidentId: string; title: string; severity: Severity; services: string[]; summary: string | null }
  | { type: 'link'; incidentId: string; fingerprint: string }
  | { type: 'linkSuspects'; incidentId: string; services: string[]; firstAlertAt: string }
  | { type: 'note'; incidentId: string; text: string }
  | { type: 'resolve'; incidentId: string; resolution: string };

export interface Outcome {
  group: GroupState;
  track: AlertTrack;
  actions: CorrelationAction[];
  flapping: boolean;
}

export function initialGroup(): GroupState {
  return {
    incidentId: null,
    incidentOpen: false,
    windowStart: null,
    lastFiredAt: null,
    linked: [],
    firing: [],
    resolvedNoted: false,
  };
}

export function initialTrack(): AlertTrack {
  return { firings: [], flapping: false };
}

/** The group an alert belongs to: its service and its sender's group key (either may be absent). */
export function groupKeyOf(service: string | null, groupKey: string | null): string {
  return JSON.stringify([service, groupKey]);
}

/** SEV1 is the most severe, so "at or above SEV2" is SEV1 or SEV2. */
export function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

const millis = (instant: string) => Date.parse(instant);

/**
 * A firing alert. `newIncidentId(windowStart)` names the incident a declaration would open; it must be derived from
 * the group and the instant, so that a replay or a redelivery declares the same incident, never a second one.
 */
export function onAlertFired(
  group: GroupState,
  track: AlertTrack,
  alert: FiredAlert,
  settings: CorrelationSettings,
  newIncidentId: (windowStart: string) => string,
): Outcome {
  const at = millis(alert.at);
  const firings = [...track.firings.filter((firing) => at - millis(firing) < settings.flapWindowMs), alert.at];
  const flapping = firings.length > settings.flapThreshold;
  const nextTrack = { firings, flapping };
  const services = alert.service === null ? [] : [alert.service];
  const lastFiredAt = group.lastFiredAt === null || millis(group.lastFiredAt) < at ? alert.at : group.lastFiredAt;
  const withinWindow = group.lastFiredAt !== null && at - millis(group.lastFiredAt) <= settings.groupWindowMs;

  // A flapping alert only re-joins its group's incident while that is open: every flap is no new incident.
  if (group.incidentId !== null && group.incidentOpen && (withinWindow || flapping)) {
    const incidentId = group.incidentId;
    const next: GroupState = {
      ...group,
      lastFiredAt,
      linked: union(group.linked, alert.fingerprint),
      firing: union(group.firing, alert.fingerprint),
      resolvedNoted: group.resolvedNoted && group.linked.includes(alert.fingerprint),
    };
    const actions: CorrelationAction[] = [{ type: 'link', incidentId, fingerprint: alert.fingerprint }];
    if (flapping && !track.flapping) {
      const minutes = Math.round(settings.flapWindowMs / 60_000);
      const text = `alert ${alert.fingerprint} is flapping (${firings.length} firings within ${minutes} min): its flaps open no new incident`;
      actions.push({ type: 'note', incidentId, text });
    }
    if (!group.linked.includes(alert.fingerprint) && services.length > 0) {
      actions.push({ type: 'linkSuspects', incidentId, services, firstAlertAt: group.windowStart ?? alert.at });
    }
    return { group: next, track: nextTrack, actions, flapping };
  }
  if (flapping || alert.severity === null || !atOrAbove(alert.severity, settings.declareAtOrAbove)) {
    return { group: { ...group, lastFiredAt }, track: nextTrack, actions: [], flapping };
  }
  const incidentId = newIncidentId(alert.at);
  const next: GroupState = {
    incidentId,
    incidentOpen: true,
    windowStart: alert.at,
    lastFiredAt,
    linked: [alert.fingerprint],
    firing: [alert.fingerprint],
    resolvedNoted: false,
  };
  const actions: CorrelationAction[] = [
    { type: 'declare', incidentId, title: alert.title, severity: alert.severity, services, summary: alert.summary },
    { type: 'link', incidentId, fingerprint: alert.fingerprint },
  ];
  if (services.length > 0) actions.push({ type: 'linkSuspects', incidentId, services, firstAlertAt: alert.at });
  return { group: next, track: nextTrack, actions, flapping };
}

/** A linked alert resolved: when none of the incident's alerts fires any more, the timeline says so (once). */
export function onAlertResolved(
  group: GroupState,
  fingerprint: string,
  settings: CorrelationSettings,
): { group: GroupState; actions: CorrelationAction[] } {
  if (!group.firing.includes(fingerprint)) return { group, actions: [] };
  const firing = group.firing.filter((each) => each !== fingerprint);
  const next = { ...group, firing };
  if (firing.length > 0 || group.incidentId === null || !group.incidentOpen || group.resolvedNoted) {
    return { group: next, actions: [] };
  }
  const count = group.linked.length;
  const text = count === 1 ? 'the linked alert resolved' : `all ${count} linked alerts resolved`;
  const actions: CorrelationAction[] = [{ type: 'note', incidentId: group.incidentId, text }];
  if (settings.autoResolve) actions.push({ type: 'resolve', incidentId: group.incidentId, resolution: `auto-resolved: ${text}` });
  return { group: { ...next, resolvedNoted: true }, actions };
}

/** The incident was resolved, reopened or closed, by anyone: only an open incident takes new alerts. */
export function onIncidentStatus(group: GroupState, open: boolean): GroupState {
  return { ...group, incidentOpen: open };
}

/** "deploy to checkout 4 min before the first alert" (or "after", for a change during the incident). */
export function suspectReason(
  change: { kind: string | null; service: string | null; at: string },
  firstAlertAt: string,
  affected: readonly string[],
): string {
  const minutes = Math.round((millis(firstAlertAt) - millis(change.at)) / 60_000);
  const what = `${change.kind ?? 'change'} to ${change.service ?? 'an unnamed service'}`;
  const when = minutes >= 0 ? `${minutes} min before the first alert` : `${-minutes} min after the first alert`;
  const upstream = change.service !== null && !affected.includes(change.service) ? ' (upstream dependency)' : '';
  return `${what}${upstream} ${when}`;
}

function union(items: readonly string[], item: string): string[] {
  return items.includes(item) ? [...items] : [...items, item];
}
