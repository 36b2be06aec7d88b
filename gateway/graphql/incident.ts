// Resolvers of incident.graphql. Thin: mutations run commands/incident.ts (incident-commands.ts), queries read
// queries/incidents.ts and queries/incident-history.ts, nested lists come from the loaders of incident-node.ts, and
// incidentChanged folds the live events (incident-live.ts).
import {
  acknowledgeIncident,
  addIncidentNote,
  approveRemediationStep,
  assignResponder,
  changeIncidentSeverity,
  closeIncident,
  declareIncident,
  mitigateIncident,
  postIncidentStatusUpdate,
  proposeRemediationStep,
  recordRemediationStepFailure,
  recordRemediationStepSuccess,
  reopenIncident,
  resolveIncident,
  skipRemediationStep,
  startRemediationStep,
  unassignResponder,
  type DeclareIncidentInput,
  type IncidentTarget,
} from '../../commands/incident.ts';
import type { ResponderRole, Severity } from '../../domain/incident/index.ts';
import { RemediationStepNotFoundError } from '../../domain/incident/index.ts';
import { recordIncidentRead } from '../../commands/audit.ts';
import { incidentAsOf } from '../../queries/incident-history.ts';
import { getIncidents, listIncidents, type ListIncidentsArgs, type RemediationStep } from '../../queries/incidents.ts';
import { requireRole } from '../auth/roles.ts';
import { eventEnvelope } from './base.ts';
import type { GraphQLContext, Resolvers } from './context.ts';
import {
  mutate,
  sparingCommander,
  target,
  type Command,
  type IncidentResult,
  type TargetArgs,
} from './incident-commands.ts';
import { incidentChanges, type IncidentChangePayload } from './incident-live.ts';
import { commandContext } from './request.ts';
import { idArgument, incidentsConsistentWith, nodeFromRow, nodeFromSnapshot, type IncidentNode } from './incident-node.ts';

export { loaders } from './incident-node.ts';

interface IncidentArgs {
  id: string;
  asOf?: Date | null;
  consistentWith?: string | null;
}

interface IncidentsArgs extends ListIncidentsArgs {
  consistentWith?: string | null;
}

interface StepArgs extends TargetArgs {
  stepId: string;
}

/** RemediationStepResult: the step a mutation acted on goes with the incident. */
interface StepResult extends IncidentResult {
  stepId: string;
}

const RESPOND = 'incident:respond';

function stepTarget(args: StepArgs) {
  return { ...target(args), stepId: idArgument('stepId', args.stepId) };
}

/** A mutation of the step `args.stepId`. */
async function stepMutation(context: GraphQLContext, args: StepArgs, command: Command): Promise<StepResult> {
  return { ...(await mutate(context, RESPOND, command)), stepId: args.stepId };
}

export const resolvers: Resolvers = {
  Query: {
    async incident(_root: unknown, args: IncidentArgs, context: GraphQLContext) {
      const principal = requireRole(context, 'read');
      const { tenant } = principal;
      const id = idArgument('id', args.id);
      const asOf = args.asOf ?? null;
      let node: IncidentNode | null;
      if (asOf !== null) {
        // The stream is the source here, so there is nothing to wait for.
        const snapshot = await incidentAsOf(context.services.eventStore, tenant, id, asOf);
        node = snapshot === null ? null : nodeFromSnapshot(snapshot);
      } else {
        if (args.consistentWith !== undefined && args.consistentWith !== null) {
          await incidentsConsistentWith(context, args.consistentWith);
        }
        const [row] = await getIncidents(context.services.readDb, tenant, [id]);
        node = row ? nodeFromRow(row) : null;
      }
      // Reads by auditors are logged too (DESIGN.md "Auth, tenancy, audit"), before the answer leaves.
      if (principal.roles.includes('auditor')) {
        const read = { incidentId: id, asOf, found: node !== null };
        await recordIncidentRead(context.services.eventStore, commandContext(principal, context), read);
      }
      return node;
    },

    async incidents(_root: unknown, { consistentWith, ...args }: IncidentsArgs, context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      if (consistentWith !== undefined && consistentWith !== null) await incidentsConsistentWith(context, consistentWith);
      const { edges, pageInfo } = await listIncidents(context.services.readDb, tenant, args);
      return { edges: edges.map(({ cursor, node }) => ({ cursor, node: nodeFromRow(node) })), pageInfo };
    },
  },

  Mutation: {
    declareIncident: (_root: unknown, { input }: { input: DeclareIncidentInput }, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) => declareIncident(store, command, input)),

    acknowledgeIncident: (_root: unknown, args: TargetArgs, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) => acknowledgeIncident(store, command, target(args))),

    addIncidentNote: (_root: unknown, args: TargetArgs & { text: string }, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) => addIncidentNote(store, command, { ...target(args), text: args.text })),

    postIncidentStatusUpdate: (_root: unknown, args: TargetArgs & { message: string }, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) =>
        postIncidentStatusUpdate(store, command, { ...target(args), message: args.message }),
      ),

    changeIncidentSeverity: (
      _root: unknown,
      args: TargetArgs & { severity: Severity; reason?: string | null },
      context: GraphQLContext,
    ) =>
      mutate(context, 'incident:command', (store, command) =>
        changeIncidentSeverity(store, command, { ...target(args), severity: args.severity, reason: args.reason }),
      ),

    assignResponder(_root: unknown, args: TargetArgs & { userId: string; role: ResponderRole }, context: GraphQLContext) {
      const assign =
        (to: IncidentTarget): Command =>
        (store, command) =>
          assignResponder(store, command, { ...to, userId: args.userId, role: args.role });
      // Making a commander is a commander's call; any other role, unless it takes the role away from the commander.
      if (args.role === 'COMMANDER') {
        return mutate(context, 'incident:command', (store, command) => assign(target(args))(store, command));
      }
      return sparingCommander(context, args, assign);
    },

    unassignResponder: (_root: unknown, args: TargetArgs & { userId: string }, context: GraphQLContext) =>
      sparingCommander(context, args, (to) => (store, command) =>
        unassignResponder(store, command, { ...to, userId: args.userId }),
      ),

    mitigateIncident: (_root: unknown, args: TargetArgs & { summary?: string | null }, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) => mitigateIncident(store, command, { ...target(args), summary: args.summary })),

    resolveIncident: (_root: unknown, args: TargetArgs & { resolution: string }, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) =>
        resolveIncident(store, command, { ...target(args), resolution: args.resolution }),
      ),

    reopenIncident: (_root: unknown, args: TargetArgs & { reason: string }, context: GraphQLContext) =>
      mutate(context, RESPOND, (store, command) => reopenIncident(store, command, { ...target(args), reason: args.reason })),

    closeIncident: (_root: unknown, args: TargetArgs, context: GraphQLContext) =>
      mutate(context, 'incident:command', (store, command) => closeIncident(store, command, target(args))),

    async proposeRemediationStep(
      _root: unknown,
      args: TargetArgs & { title: string; description?: string | null; command?: string | null },
      context: GraphQLContext,
    ): Promise<StepResult> {
      const { title, description, command: run } = args;
      const proposed = await mutate(context, RESPOND, (store, command) =>
        proposeRemediationStep(store, command, { ...target(args), title, description, command: run }),
      );
      return { ...proposed, stepId: proposed.result.stepId };
    },

    approveRemediationStep: (_root: unknown, args: StepArgs, context: GraphQLContext) =>
      stepMutation(context, args, (store, command) => approveRemediationStep(store, command, stepTarget(args))),

    startRemediationStep: (_root: unknown, args: StepArgs, context: GraphQLContext) =>
      stepMutation(context, args, (store, command) => startRemediationStep(store, command, stepTarget(args))),

    completeRemediationStep: (_root: unknown, args: StepArgs & { output?: string | null }, context: GraphQLContext) =>
      stepMutation(context, args, (store, command) =>
        recordRemediationStepSuccess(store, command, { ...stepTarget(args), output: args.output }),
      ),

    failRemediationStep: (_root: unknown, args: StepArgs & { error: string; output?: string | null }, context: GraphQLContext) =>
      stepMutation(context, args, (store, command) =>
        recordRemediationStepFailure(store, command, { ...stepTarget(args), error: args.error, output: args.output }),
      ),

    skipRemediationStep: (_root: unknown, args: StepArgs & { reason: string }, context: GraphQLContext) =>
      stepMutation(context, args, (store, command) =>
        skipRemediationStep(store, command, { ...stepTarget(args), reason: args.reason }),
      ),
  },

  Subscription: {
    incidentChanged: {
      subscribe(_root: unknown, args: { after?: string | null; id?: string | null }, context: GraphQLContext) {
        const { tenant } = requireRole(context, 'read');
        const { eventStore, bus } = context.services;
        return incidentChanges({
          store: eventStore,
          bus,
          tenant,
          after: args.after ?? undefined,
          incidentId: args.id === undefined || args.id === null ? undefined : idArgument('id', args.id),
        });
      },
      resolve: ({ cursor, incident, event }: IncidentChangePayload, _args: unknown, context: GraphQLContext) => ({
        cursor,
        incident,
        event: eventEnvelope(requireRole(context, 'read').tenant, event),
      }),
    },
  },

  RemediationStepResult: {
    async step({ incident, stepId }: StepResult) {
      const snapshot = await incident.snapshot();
      // As the domain has it: ids are trimmed.
      const step = snapshot.remediationSteps.find((candidate) => candidate.stepId === stepId.trim());
      if (step === undefined) throw new RemediationStepNotFoundError(stepId);
      return step;
    },
  },

  RemediationStep: {
    id: (step: RemediationStep) => step.stepId,
  },
};
