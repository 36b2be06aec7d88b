// Everything that can happen to a service of the catalog (stream `service-<name>`). A service's stream also holds
// what it depends on: the dependency graph is the union of every service's declared dependencies. Data is JSON
// (absent values are null), timestamps are ISO-8601 instants taken from the command.
import type { DomainEvent } from '../shared/decider.ts';

/** What a service is, apart from its dependencies. A type alias, not an interface, so it is assignable to JSON. */
export type ServiceDescription = {
  /** 1 (most critical) to 5; null when unclassified. */
  tier: number | null;
  /** The owning team. */
  owner: string | null;
  /** An http(s) URL. */
  runbookUrl: string | null;
  /** Unique, in the order given. */
  tags: string[];
};

export type ServiceRegistered = DomainEvent<'ServiceRegistered', ServiceDescription & { name: string; at: string }>;
/** The whole description after the update, so the event reads on its own. */
export type ServiceUpdated = DomainEvent<'ServiceUpdated', ServiceDescription & { name: string; at: string }>;
/** `from` (the stream's service) calls `to`; `to` need not be registered (see decide.ts). */
export type ServiceDependencyDeclared = DomainEvent<'ServiceDependencyDeclared', { from: string; to: string; at: string }>;
export type ServiceDependencyRemoved = DomainEvent<'ServiceDependencyRemoved', { from: string; to: string; at: string }>;
/** A retired service keeps its history and its declared dependencies; services that depend on it still show it. */
export type ServiceRetired = DomainEvent<'ServiceRetired', { name: string; reason: string | null; at: string }>;

export type ServiceEvent =
  | ServiceRegistered
  | ServiceUpdated
  | ServiceDependencyDeclared
  | ServiceDependencyRemoved
  | ServiceRetired;

export type ServiceEventType = ServiceEvent['type'];

// A Record, so adding an event type without listing it here fails to compile; projections subscribe with it.
const eventTypes: Record<ServiceEventType, true> = {
  ServiceRegistered: true,
  ServiceUpdated: true,
  ServiceDependencyDeclared: true,
  ServiceDependencyRemoved: true,
  ServiceRetired: true,
};
export const SERVICE_EVENT_TYPES = Object.keys(eventTypes) as readonly ServiceEventType[];
