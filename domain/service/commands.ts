// What can be asked of a service. Every command names its service, so a refusal can say which one; the stream it
// runs against is that service's (`service-<name>`).
import type { DomainCommand } from '../shared/decider.ts';

/** A description as given: absent and null fields are unset, tags default to none. */
export type ServiceDescriptionInput = {
  tier?: number | null;
  owner?: string | null;
  runbookUrl?: string | null;
  tags?: readonly string[] | null;
};

export type RegisterService = DomainCommand<'RegisterService', { name: string } & ServiceDescriptionInput>;
/** Absent (undefined) fields keep their value; null clears one (tags: null means no tags). */
export type UpdateService = DomainCommand<'UpdateService', { name: string } & ServiceDescriptionInput>;
export type DeclareDependency = DomainCommand<'DeclareDependency', { name: string; to: string }>;
export type RemoveDependency = DomainCommand<'RemoveDependency', { name: string; to: string }>;
export type RetireService = DomainCommand<'RetireService', { name: string; reason?: string | null }>;
/**
 * One entry of a catalog import: the service as the catalog describes it, `dependsOn` being the whole list of its
 * dependencies. It registers or updates the service and declares and removes dependencies until both agree.
 */
export type ApplyCatalogEntry = DomainCommand<
  'ApplyCatalogEntry',
  { name: string; dependsOn: readonly string[] } & ServiceDescriptionInput
>;

export type ServiceCommand =
  | RegisterService
  | UpdateService
  | DeclareDependency
  | RemoveDependency
  | RetireService
  | ApplyCatalogEntry;

export type ServiceCommandType = ServiceCommand['type'];
