// What can be asked of a change: to record it. Its id comes with the command (fresh for a mutation, derived from the
// delivery for ingestion), so decide stays pure and a retried delivery is the same command.
import type { DomainCommand } from '../shared/decider.ts';
import type { JsonRecord } from './events.ts';

export type RecordChange = DomainCommand<
  'RecordChange',
  {
    changeId: string;
    service?: string | null;
    /** One of CHANGE_KINDS; `other` when absent. */
    kind?: string | null;
    summary: string;
    version?: string | null;
    author?: string | null;
    source?: string | null;
    /** ISO-8601 instant; the command's clock when absent. */
    at?: string | null;
    links?: readonly { href: string; text?: string | null }[] | null;
    customDetails?: JsonRecord | null;
  }
>;

export type ChangeCommand = RecordChange;
