// How an incident mutation runs a command: the caller's role checked, the command context built from the token and
// the request, the command run through commands/incident.ts, and the incident answered as the command left it.
import type { IncidentCommandResult, IncidentTarget } from '../../commands/incident.ts';
import type { CommandContext } from '../../commands/context.ts';
import { ConcurrencyError } from '../../commands/handler.ts';
import type { EventStore, Position } from '../../infra/eventstore/port.ts';
import { currentIncident } from '../../queries/incident-history.ts';
import { ForbiddenError } from '../auth/errors.ts';
import { allows, requireRole, rolesAllowed, type Action } from '../auth/roles.ts';
import type { Principal } from '../auth/token.ts';
import type { GraphQLContext } from './context.ts';
import { idArgument, nodeFromCommand, type FoldedIncidentNode } from './incident-node.ts';
import { commandContext } from './request.ts';

/** Re-checks of a responder's role change that lost a race with another command (see `sparingCommander`). */
const COMMANDER_CHECK_RETRIES = 5;

export interface TargetArgs {
  id: string;
  expectedVersion?: number | null;
}

/** IncidentResult as the schema has it, and what the command answered, for fields that need more of it. */
export interface IncidentResult<Result extends IncidentCommandResult = IncidentCommandResult> {
  incident: FoldedIncidentNode;
  cursor: Position;
  result: Result;
}

export type Command<Result extends IncidentCommandResult = IncidentCommandResult> = (
  store: EventStore,
  context: CommandContext,
) => Promise<Result>;

export function target(args: TargetArgs): IncidentTarget {
  return { incidentId: idArgument('id', args.id), expectedVersion: args.expectedVersion ?? undefined };
}

async function run<Result extends IncidentCommandResult>(
  context: GraphQLContext,
  principal: Principal,
  command: Command<Result>,
): Promise<IncidentResult<Result>> {
  const store = context.services.eventStore;
  const result = await command(store, commandContext(principal, context));
  return { incident: nodeFromCommand(store, principal.tenant, result), cursor: result.cursor, result };
}

/** Runs an incident command for a caller allowed `action`. */
export function mutate<Result extends IncidentCommandResult>(
  context: GraphQLContext,
  action: Action,
  command: Command<Result>,
): Promise<IncidentResult<Result>> {
  return run(context, requireRole(context, action), command);
}

/**
 * Responders give and take every role but the commander's (roles.ts). Whether `userId` is the commander depends on
 * the incident, so for a caller without `incident:command` the command is pinned to the version that was checked:
 * a commander named in between makes it fail and be checked again (or CONFLICT, if the caller pinned a version).
 */
export async function sparingCommander(
  context: GraphQLContext,
  args: TargetArgs & { userId: string },
  command: (target: IncidentTarget) => Command,
): Promise<IncidentResult> {
  const principal = requireRole(context, 'incident:respond');
  const pinned = target(args);
  if (allows(principal.roles, 'incident:command')) return run(context, principal, command(pinned));
  // Domain user ids are trimmed names.
  const userId = args.userId.trim();
  for (let attempt = 0; ; attempt++) {
    const current = await currentIncident(context.services.eventStore, principal.tenant, pinned.incidentId);
    const { state } = current;
    if (state.status !== null && state.responders.some((r) => r.userId === userId && r.role === 'COMMANDER')) {
      throw new ForbiddenError('incident:command', principal.roles, rolesAllowed('incident:command'));
    }
    try {
      return await run(context, principal, command({ ...pinned, expectedVersion: pinned.expectedVersion ?? current.version }));
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || pinned.expectedVersion !== undefined) throw error;
      if (attempt >= COMMANDER_CHECK_RETRIES) throw error;
    }
  }
}
