// What can happen to a change (stream `change-<id>`): it is recorded, once. A change is a fact reported by a
// deploy pipeline, a config tool or a person; it is never edited, so correlation can trust what it read.
import type { DomainEvent } from '../shared/decider.ts';

export const CHANGE_KINDS = ['deploy', 'config', 'feature_flag', 'infrastructure', 'other'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** JSON as events store it (the domain has its own name for it: it imports nothing from infra). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonRecord = { [key: string]: Json };

/** A link to more detail (the build, the pull request), as PagerDuty change events carry them. */
export type ChangeLink = { href: string; text: string | null };

export type ChangeRecorded = DomainEvent<
  'ChangeRecorded',
  {
    changeId: string;
    /** The catalog name of the changed service; null when the sender did not say. */
    service: string | null;
    kind: ChangeKind;
    summary: string;
    /** What was deployed or set, e.g. a release tag or commit. */
    version: string | null;
    author: string | null;
    /** Where the change was made, e.g. the pipeline or host (PagerDuty's `payload.source`). */
    source: string | null;
    /** When the change happened, by the sender's clock (or when it was received, if the sender gave no time). */
    at: string;
    links: ChangeLink[];
    customDetails: JsonRecord;
  }
>;

export type ChangeEvent = ChangeRecorded;
export type ChangeEventType = ChangeEvent['type'];

const eventTypes: Record<ChangeEventType, true> = { ChangeRecorded: true };
export const CHANGE_EVENT_TYPES = Object.keys(eventTypes) as readonly ChangeEventType[];
