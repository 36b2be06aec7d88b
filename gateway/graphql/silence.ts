// Resolvers of silence.graphql. Thin: `silences` reads queries/silences.ts, the mutations run commands/silence.ts.
import { createSilence, expireSilence, type SilenceCommandResult } from '../../commands/silence.ts';
import { silenceStatus, type MatcherInput } from '../../domain/silence/index.ts';
import { SILENCES_PROJECTION } from '../../projections/silences.ts';
import { listSilences } from '../../queries/silences.ts';
import { requireRole } from '../auth/roles.ts';
import type { GraphQLContext, Resolvers } from './context.ts';
import { commandContext, readModelsConsistentWith } from './request.ts';

interface CreateSilenceArgs {
  input: {
    matchers?: MatcherInput[] | null;
    service?: string | null;
    startsAt?: Date | null;
    endsAt: Date;
    comment?: string | null;
  };
}

/** A command's silence in the shape of the Silence type; its status by the clock of the answer. */
function answer({ silence, cursor }: SilenceCommandResult) {
  const { silenceId, matchers, startsAt, endsAt, createdBy, comment } = silence;
  const status = silenceStatus(silence, new Date().toISOString());
  return { silence: { id: silenceId, matchers, startsAt, endsAt, createdBy, comment, status }, cursor };
}

export const resolvers: Resolvers = {
  Query: {
    async silences(_root: unknown, args: { active?: boolean | null; consistentWith?: string | null }, context: GraphQLContext) {
      const { tenant } = requireRole(context, 'read');
      if (args.consistentWith !== undefined && args.consistentWith !== null) {
        await readModelsConsistentWith(context, args.consistentWith, [SILENCES_PROJECTION]);
      }
      return listSilences(context.services.readDb, tenant, args.active ?? null);
    },
  },

  Mutation: {
    async createSilence(_root: unknown, { input }: CreateSilenceArgs, context: GraphQLContext) {
      const principal = requireRole(context, 'incident:respond');
      const { service, startsAt, endsAt, comment } = input;
      const matchers = [...(input.matchers ?? []), ...(service ? [{ name: 'service', op: '=', value: service }] : [])];
      const result = await createSilence(context.services.eventStore, commandContext(principal, context), {
        matchers,
        startsAt: startsAt?.toISOString() ?? null,
        endsAt: endsAt.toISOString(),
        comment,
      });
      return answer(result);
    },

    async expireSilence(_root: unknown, { id }: { id: string }, context: GraphQLContext) {
      const principal = requireRole(context, 'incident:respond');
      return answer(await expireSilence(context.services.eventStore, commandContext(principal, context), id));
    },
  },
};
