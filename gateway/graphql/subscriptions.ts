// What mercurius does not do for subscriptions: it neither validates their documents (graphql's `subscribe` does
// not) nor runs errors raised by a subscription's source through the error formatter. Both are closed here, so a
// subscription is refused and fails with the same codes and masking as a query.
import type { FastifyBaseLogger } from 'fastify';
import {
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { GraphQLValidationFailed, subscriptionError } from '../errors.ts';
import type { GraphQLContext, Resolvers } from './context.ts';

type Subscribe = (root: unknown, args: unknown, context: GraphQLContext, info: GraphQLResolveInfo) => unknown;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** What counts open subscriptions (the /metrics gauge). */
export interface OpenSubscriptions {
  inc(): void;
  dec(): void;
}

/**
 * Maps errors of `next()` only; `return()` goes straight through, so an unsubscribe ends a waiting source now. The
 * source is open from here until it ends, fails or is returned (complete message or closed socket).
 */
function mapErrors(
  source: AsyncIterable<unknown>,
  map: (error: unknown) => Error,
  open: OpenSubscriptions,
): AsyncIterableIterator<unknown> {
  const iterator = source[Symbol.asyncIterator]();
  let ended = false;
  const end = () => {
    if (!ended) open.dec();
    ended = true;
  };
  open.inc();
  const mapped: AsyncIterableIterator<unknown> = {
    next: () =>
      iterator.next().then(
        (result) => {
          if (result.done === true) end();
          return result;
        },
        (error: unknown) => {
          end();
          throw map(error);
        },
      ),
    return: (value?: unknown) => {
      end();
      return iterator.return?.(value) ?? Promise.resolve({ done: true, value });
    },
    [Symbol.asyncIterator]: () => mapped,
  };
  return mapped;
}

function guard(subscribe: Subscribe, log: FastifyBaseLogger, open: OpenSubscriptions): Subscribe {
  const map = (error: unknown) => subscriptionError(error, log);
  return async (root, args, context, info) => {
    try {
      const source = await subscribe(root, args, context, info);
      return isAsyncIterable(source) ? mapErrors(source, map, open) : source;
    } catch (error) {
      throw map(error);
    }
  };
}

function hasSubscribe(field: unknown): field is { subscribe: Subscribe } {
  return typeof (field as { subscribe?: unknown } | null)?.subscribe === 'function';
}

/** The module's resolvers with every `Subscription.*.subscribe` guarded and counted while open. */
export function guardSubscriptions(resolvers: Resolvers, log: FastifyBaseLogger, open: OpenSubscriptions): Resolvers {
  const subscription = resolvers.Subscription;
  if (typeof subscription !== 'object' || subscription === null) return resolvers;
  const guarded = Object.entries(subscription).map(([name, field]) => [
    name,
    hasSubscribe(field) ? { ...field, subscribe: guard(field.subscribe, log, open) } : field,
  ]);
  return { ...resolvers, Subscription: Object.fromEntries(guarded) };
}

/** A `preSubscriptionExecution` hook: the spec's rules plus ours, as queries get them over HTTP. */
export function validateSubscriptions(rules: readonly ValidationRule[], log: FastifyBaseLogger) {
  const all = [...specifiedRules, ...rules];
  return (schema: GraphQLSchema, document: DocumentNode): void => {
    const errors = validate(schema, document, all);
    if (errors.length > 0) throw subscriptionError(new GraphQLValidationFailed(errors), log);
  };
}
