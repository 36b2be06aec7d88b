// What ingestion asks of an alert. Each command is one observation of a source; decide turns it into what is new.
import type { DomainCommand } from '../shared/decider.ts';
import type { Severity } from '../incident/events.ts';
import type { AlertDetails, AlertLabels, AlertSource } from './events.ts';

/** The source says the alert is firing (an Alertmanager `firing` alert, an Events v2 `trigger`). */
export type FireAlert = DomainCommand<
  'FireAlert',
  {
    fingerprint: string;
    source: AlertSource;
    labels: AlertLabels;
    annotations: AlertLabels;
    startsAt: string;
    generatorURL?: string | null;
    groupKey?: string | null;
    receiver?: string | null;
    service?: string | null;
    severity?: Severity | null;
    summary?: string | null;
    details?: AlertDetails | null;
  }
>;

/**
 * The source says the alert has ended. `startsAt` names the episode when the source has it (Alertmanager), so a late
 * copy about an earlier episode resolves nothing; null (Events v2) means whatever is open.
 */
export type ResolveAlert = DomainCommand<
  'ResolveAlert',
  { fingerprint: string; endsAt: string; startsAt?: string | null }
>;

/** Events v2 `acknowledge`: someone is on the open alert. */
export type AcknowledgeAlert = DomainCommand<'AcknowledgeAlert', { fingerprint: string }>;

export type AlertCommand = FireAlert | ResolveAlert | AcknowledgeAlert;
