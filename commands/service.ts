// Entry points for service-catalog commands, called by GraphQL resolvers: each builds its command with the clock
// and actor and runs it through the one generic handler against the service's stream (`service-<name>`), and a
// catalog import runs one ApplyCatalogEntry per listed service once the whole catalog has been checked.
import { v7 as uuidv7 } from 'uuid';
import { parse as parseYaml } from 'yaml';
import {
  CatalogError,
  entryLabel,
  readCatalog,
  requireServiceName,
  serviceDecider,
  ServiceNotFoundError,
  type CatalogEntry,
  type Service,
  type ServiceCommand,
  type ServiceDescriptionInput,
  type ServiceEvent,
  type ServiceState,
} from '../domain/service/index.ts';
import { DomainError } from '../domain/shared/errors.ts';
import { START, type EventStore, type Position, type StoredEvent } from '../infra/eventstore/port.ts';
import { qualify, streamIdOf } from '../infra/eventstore/stream-name.ts';
import { handleCommand } from './handler.ts';
import { commandMetadata, decisionMetadata, type CommandContext } from './context.ts';
import { inPool } from './pool.ts';

export const SERVICE_CATEGORY = 'service';
export type CatalogFormat = 'json' | 'yaml';
/** Services of a catalog read or written at once: enough to hide round trips, few enough to share the pool. */
const IMPORT_CONCURRENCY = 8;

export interface ServiceCommandResult {
  name: string;
  /** Client-visible stream id, `service-<name>`. */
  streamId: string;
  service: Service;
  events: StoredEvent[];
  version: number;
  /** Cursor of the service's last event, for `consistentWith`. */
  cursor: Position;
}

export function serviceStreamId(tenantId: string, name: string): string {
  return qualify(tenantId, streamIdOf(SERVICE_CATEGORY, requireServiceName('name', name)));
}

type CommandWithoutMetadata<C> = C extends ServiceCommand ? Omit<C, 'metadata'> : never;

function withMetadata(context: CommandContext, command: CommandWithoutMetadata<ServiceCommand>): ServiceCommand {
  return { ...command, metadata: decisionMetadata(context) };
}

async function run(
  store: EventStore,
  context: CommandContext,
  command: CommandWithoutMetadata<ServiceCommand>,
  reason?: string | null,
): Promise<ServiceCommandResult> {
  const name = requireServiceName('name', command.data.name);
  const result = await handleCommand(store, serviceDecider, serviceStreamId(context.tenantId, name), withMetadata(context, command), {
    metadata: commandMetadata(context, uuidv7(), reason),
  });
  // decide refuses every command but a registration or an import on a missing service, so this only narrows.
  if (result.state.status === null) throw new ServiceNotFoundError(name, command.type);
  return {
    name,
    streamId: streamIdOf(SERVICE_CATEGORY, name),
    service: result.state,
    events: result.events,
    version: result.version,
    cursor: result.position,
  };
}

export type ServiceInput = { name: string } & ServiceDescriptionInput;

/** Registers a new service; registering it again exactly as it is changes nothing. */
export function registerService(store: EventStore, context: CommandContext, input: ServiceInput): Promise<ServiceCommandResult> {
  return run(store, context, { type: 'RegisterService', data: input });
}

/** Changes the fields `input` gives (null clears one); the others keep their value. */
export function updateService(store: EventStore, context: CommandContext, input: ServiceInput): Promise<ServiceCommandResult> {
  return run(store, context, { type: 'UpdateService', data: input });
}

/** `from` calls `to`; `to` need not be registered. */
export function declareDependency(
  store: EventStore,
  context: CommandContext,
  input: { from: string; to: string },
): Promise<ServiceCommandResult> {
  return run(store, context, { type: 'DeclareDependency', data: { name: input.from, to: input.to } });
}

export function removeDependency(
  store: EventStore,
  context: CommandContext,
  input: { from: string; to: string },
): Promise<ServiceCommandResult> {
  return run(store, context, { type: 'RemoveDependency', data: { name: input.from, to: input.to } });
}

export function retireService(
  store: EventStore,
  context: CommandContext,
  input: { name: string; reason?: string | null },
): Promise<ServiceCommandResult> {
  return run(store, context, { type: 'RetireService', data: input }, input.reason);
}

/** A service's current state and the cursor of its last event, folded from its stream. */
async function currentService(store: EventStore, tenantId: string, name: string): Promise<{ state: ServiceState; position: Position }> {
  let state = serviceDecider.initialState();
  let position = START;
  for await (const stored of store.readStream(serviceStreamId(tenantId, name))) {
    // A service stream holds only what the service decider emitted.
    state = serviceDecider.evolve(state, { type: stored.type, data: stored.data } as ServiceEvent);
    position = stored.position;
  }
  return { state, position };
}

function decode(document: string, format: CatalogFormat): unknown {
  try {
    return format === 'json' ? JSON.parse(document) : parseYaml(document);
  } catch (error) {
    throw new CatalogError([`the document is not ${format.toUpperCase()}: ${(error as Error).message.split('\n')[0]}`]);
  }
}

export interface CatalogImportResult {
  /** Services the catalog lists. */
  services: number;
  /** Those that changed (registered, updated, or with dependencies declared or removed), in catalog order. */
  changed: string[];
  /** Events appended. */
  events: number;
  /** The latest last event of the listed services, for `consistentWith`; START for an empty catalog. */
  cursor: Position;
}

/**
 * Imports a catalog: registers and updates its services and makes each one's dependencies what it lists (services
 * not in the catalog are left as they are). The whole catalog is checked first, its entries and each against the
 * service's current state (a retired service cannot be imported), and refused with one CatalogError naming every
 * bad entry before anything is appended. Re-importing the same catalog appends nothing. A service changed by someone
 * else while the catalog is being applied is decided again on its new state, and may then be refused alone.
 */
export async function importServiceCatalog(
  store: EventStore,
  context: CommandContext,
  input: { document: string; format: CatalogFormat },
): Promise<CatalogImportResult> {
  const entries = readCatalog(decode(input.document, input.format));
  // One correlation id for the whole import, so the audit trail shows its events together.
  const importContext: CommandContext = { ...context, correlationId: context.correlationId ?? uuidv7(), now: context.now ?? new Date() };
  const command = (entry: CatalogEntry) => withMetadata(importContext, { type: 'ApplyCatalogEntry', data: entry });

  const checked = await inPool(entries, IMPORT_CONCURRENCY, async (entry) => {
    const { state, position } = await currentService(store, context.tenantId, entry.name);
    try {
      return { entry, position, changes: serviceDecider.decide(command(entry), state).length > 0, problem: null };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return { entry, position, changes: false, problem: error.message };
    }
  });
  const problems = checked.flatMap(({ problem }, index) => (problem === null ? [] : [`${entryLabel(index, entries[index]?.name)}: ${problem}`]));
  if (problems.length > 0) throw new CatalogError(problems);

  const applied = await inPool(checked, IMPORT_CONCURRENCY, async ({ entry, position, changes }) => {
    if (!changes) return { name: entry.name, events: 0, position };
    const metadata = commandMetadata(importContext, uuidv7(), 'catalog import');
    const result = await handleCommand(store, serviceDecider, serviceStreamId(context.tenantId, entry.name), command(entry), { metadata });
    return { name: entry.name, events: result.events.length, position: result.position };
  });
  return {
    services: entries.length,
    changed: applied.filter(({ events }) => events > 0).map(({ name }) => name),
    events: applied.reduce((sum, { events }) => sum + events, 0),
    cursor: applied.reduce<Position>((latest, { position }) => (position > latest ? position : latest), START),
  };
}
