// Resolvers of service.graphql. Thin: mutations run commands/service.ts, queries read queries/topology.ts. The
// graph fields of Service (dependsOn … blastRadius) come from loaders that load the tenant's dependency graph once
// per request and the services they name in one query per field, whatever the number of services in the answer.
import {
  declareDependency,
  importServiceCatalog,
  registerService,
  removeDependency,
  retireService,
  updateService,
  type CatalogFormat,
  type ServiceCommandResult,
  type ServiceInput,
} from '../../commands/service.ts';
import type { CommandContext } from '../../commands/context.ts';
import { INCIDENT_STATUSES } from '../../domain/incident/index.ts';
import { requireServiceName, type DependencyGraph } from '../../domain/service/index.ts';
import type { EventStore, Position } from '../../infra/eventstore/port.ts';
import { TOPOLOGY_PROJECTION } from '../../projections/topology.ts';
import { changesForServices } from '../../queries/changes.ts';
import { incidentsOfServices } from '../../queries/incidents.ts';
import { MAX_PAGE_SIZE } from '../../queries/pagination.ts';
import {
  dependencyGraph,
  depthArgument,
  getServices,
  listServices,
  type ServiceRow,
} from '../../queries/topology.ts';
import { requireRole } from '../auth/roles.ts';
import type { ChangeNode } from './change.ts';
import type { GraphQLContext, Loaders, Resolvers } from './context.ts';
import { nodeFromRow as incidentNode, type IncidentNode } from './incident-node.ts';
import { commandContext, readModelsConsistentWith } from './request.ts';

const WRITE = 'topology:write';
const OPEN_STATUSES = INCIDENT_STATUSES.filter((status) => status !== 'RESOLVED' && status !== 'CLOSED');
const RECENT_CHANGES_MS = 24 * 3600 * 1000;

/**
 * A service as the Service type's fields read it: a read-model row, or what a command left. `waitFor` is the
 * command's cursor, which the graph fields wait for (the topology may lag behind the command); null for a row.
 */
type ServiceNode = ServiceRow & { waitFor: Position | null };

function nodeFromRow(row: ServiceRow): ServiceNode {
  return { ...row, waitFor: null };
}

function nodeFromCommand(result: ServiceCommandResult): ServiceNode {
  const { service, cursor } = result;
  return {
    name: service.name,
    registered: true,
    tier: service.tier,
    owner: service.owner,
    runbookUrl: service.runbookUrl,
    tags: [...service.tags],
    retired: service.status === 'RETIRED',
    retirementReason: service.retirementReason,
    registeredAt: new Date(service.registeredAt),
    retiredAt: service.retiredAt === null ? null : new Date(service.retiredAt),
    lastPosition: cursor,
    waitFor: cursor,
  };
}

type Command = (store: EventStore, context: CommandContext) => Promise<ServiceCommandResult>;

/** A mutation of the catalog, answered with the service as the command left it. */
async function mutate(context: GraphQLContext, command: Command) {
  const principal = requireRole(context, WRITE);
  const result = await command(context.services.eventStore, commandContext(principal, context));
  return { service: nodeFromCommand(result), cursor: result.cursor };
}

async function consistentWith(context: GraphQLContext, cursor: string | null | undefined): Promise<void> {
  if (cursor !== undefined && cursor !== null) await readModelsConsistentWith(context, cursor, [TOPOLOGY_PROJECTION]);
}

// The dependency graph of a request, loaded once per cursor waited for (a mutation's answer waits for its own).
const graphs = new WeakMap<GraphQLContext, Map<Position, Promise<DependencyGraph>>>();

async function graphOf(context: GraphQLContext, tenant: string, nodes: readonly ServiceNode[]): Promise<DependencyGraph> {
  const waitFor = nodes.reduce<Position>((latest, node) => (node.waitFor !== null && node.waitFor > latest ? node.waitFor : latest), '');
  if (waitFor !== '') await consistentWith(context, waitFor);
  let loaded = graphs.get(context);
  if (loaded === undefined) graphs.set(context, (loaded = new Map()));
  let graph = loaded.get(waitFor);
  if (graph === undefined) loaded.set(waitFor, (graph = dependencyGraph(context.services.readDb, tenant)));
  return graph;
}

interface NodeQuery<Params = Record<string, never>> {
  obj: ServiceNode;
  params: Params;
}

/** A loader of a field listing services: the names each node's walk gives, read as services in one query. */
function walkLoader<Params, Result>(
  walk: (graph: DependencyGraph, node: ServiceNode, params: Params) => readonly string[],
  shape: (services: ServiceNode[]) => Result,
) {
  return async (queries: NodeQuery<Params>[], context: GraphQLContext): Promise<Result[]> => {
    const { tenant } = requireRole(context, 'read');
    const graph = await graphOf(context, tenant, queries.map(({ obj }) => obj));
    const names = queries.map(({ obj, params }) => walk(graph, obj, params));
    const distinct = [...new Set(names.flat())];
    const rows = await getServices(context.services.readDb, tenant, distinct);
    const byName = new Map(rows.flatMap((row) => (row === null ? [] : [[row.name, nodeFromRow(row)] as const])));
    // Every name of the graph is a service (registered, or named by a dependency), so none is dropped here.
    return names.map((list) => shape(list.flatMap((name) => byName.get(name) ?? [])));
  };
}

const asList = (services: ServiceNode[]) => services;
const reachedNames = (reached: readonly { service: string }[]) => reached.map(({ service }) => service);

export const loaders: Loaders = {
  Service: {
    dependsOn: walkLoader((graph, node) => graph.dependsOn(node.name), asList),
    dependents: walkLoader((graph, node) => graph.dependents(node.name), asList),
    upstream: walkLoader(
      (graph, node, { depth }: { depth?: number | null }) => reachedNames(graph.upstream([node.name], depthArgument(depth))),
      asList,
    ),
    downstream: walkLoader(
      (graph, node, { depth }: { depth?: number | null }) => reachedNames(graph.downstream([node.name], depthArgument(depth))),
      asList,
    ),
    blastRadius: walkLoader(
      (graph, node) => reachedNames(graph.downstream([node.name])),
      (services) => ({ count: services.length, services }),
    ),

    async openIncidents(queries: NodeQuery[], context: GraphQLContext): Promise<IncidentNode[][]> {
      const { tenant } = requireRole(context, 'read');
      const names = [...new Set(queries.map(({ obj }) => obj.name))];
      const lists = await incidentsOfServices(context.services.readDb, tenant, names, OPEN_STATUSES, MAX_PAGE_SIZE);
      const byName = new Map(names.map((name, index) => [name, lists[index] ?? []]));
      return queries.map(({ obj }) => (byName.get(obj.name) ?? []).map(incidentNode));
    },

    async recentChanges(queries: NodeQuery<{ since?: Date | null }>[], context: GraphQLContext): Promise<ChangeNode[][]> {
      const { tenant } = requireRole(context, 'read');
      const defaultSince = new Date(Date.now() - RECENT_CHANGES_MS);
      const sinceOf = ({ params }: NodeQuery<{ since?: Date | null }>) => params.since ?? defaultSince;
      // One query per distinct `since` (usually one): every service of the answer at once.
      const bySince = new Map<number, Set<string>>();
      for (const query of queries) {
        const key = sinceOf(query).getTime();
        bySince.set(key, (bySince.get(key) ?? new Set()).add(query.obj.name));
      }
      const found = new Map<string, ChangeNode[]>();
      await Promise.all(
        [...bySince].map(async ([since, names]) => {
          const changes = await changesForServices(context.services.readDb, tenant, [...names], new Date(since), null);
          for (const name of names) found.set(`${since}/${name}`, changes.filter((change) => change.service === name));
        }),
      );
      return queries.map((query) => found.get(`${sinceOf(query).getTime()}/${query.obj.name}`) ?? []);
    },
  },
};

function format(value: 'JSON' | 'YAML'): CatalogFormat {
  return value === 'JSON' ? 'json' : 'yaml';
}

export const resolvers: Resolvers = {
  Query: {
    async service(_root: unknown, args: { name: string; consistentWith?: string | null }, context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      const name = requireServiceName('name', args.name);
      await consistentWith(context, args.consistentWith);
      const [row] = await getServices(context.services.readDb, tenant, [name]);
      return row ? nodeFromRow(row) : null;
    },

    async services(
      _root: unknown,
      { consistentWith: cursor, ...args }: { first?: number | null; after?: string | null; consistentWith?: string | null },
      context: GraphQLContext,
    ) {
      const { tenant } = requireRole(context, 'read');
      await consistentWith(context, cursor);
      const { edges, pageInfo } = await listServices(context.services.readDb, tenant, args);
      return { edges: edges.map(({ cursor: edge, node }) => ({ cursor: edge, node: nodeFromRow(node) })), pageInfo };
    },

    async dependencyPath(
      _root: unknown,
      args: { from: string; to: string; consistentWith?: string | null },
      context: GraphQLContext,
    ) {
      const { tenant } = requireRole(context, 'read');
      const from = requireServiceName('from', args.from);
      const to = requireServiceName('to', args.to);
      await consistentWith(context, args.consistentWith);
      if (from === to) {
        const [known] = await getServices(context.services.readDb, tenant, [from]);
        return known ? [from] : null;
      }
      return (await dependencyGraph(context.services.readDb, tenant)).path(from, to);
    },
  },

  Mutation: {
    registerService: (_root: unknown, { input }: { input: ServiceInput }, context: GraphQLContext) =>
      mutate(context, (store, command) => registerService(store, command, input)),

    updateService: (_root: unknown, { input }: { input: ServiceInput }, context: GraphQLContext) =>
      mutate(context, (store, command) => updateService(store, command, input)),

    declareDependency: (_root: unknown, args: { from: string; to: string }, context: GraphQLContext) =>
      mutate(context, (store, command) => declareDependency(store, command, args)),

    removeDependency: (_root: unknown, args: { from: string; to: string }, context: GraphQLContext) =>
      mutate(context, (store, command) => removeDependency(store, command, args)),

    retireService: (_root: unknown, args: { name: string; reason?: string | null }, context: GraphQLContext) =>
      mutate(context, (store, command) => retireService(store, command, args)),

    importServiceCatalog(
      _root: unknown,
      args: { document: string; format: 'JSON' | 'YAML' },
      context: GraphQLContext,
    ) {
      const principal = requireRole(context, WRITE);
      return importServiceCatalog(context.services.eventStore, commandContext(principal, context), {
        document: args.document,
        format: format(args.format),
      });
    },
  },
};
