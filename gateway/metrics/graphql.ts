// GraphQL operations for /metrics, through mercurius' hooks: timed from the start of execution (after parsing and
// validation, whose refusals are rejected inputs) to the resolved result, labelled by operation type, name and
// outcome.
import { getOperationAST, type DocumentNode } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from '../metrics.ts';

/** Operation names are chosen by clients: past this many distinct ones, new names share one series. */
const MAX_OPERATION_NAMES = 200;

function requestedName(context: MercuriusContext): string | undefined {
  // A document with several operations runs the one the request names, in the body (POST) or the query string (GET).
  for (const parameters of [context.reply?.request.body, context.reply?.request.query]) {
    const name = (parameters as { operationName?: unknown } | null | undefined)?.operationName;
    if (typeof name === 'string') return name;
  }
  return undefined;
}

export function observeOperations(graphql: FastifyInstance['graphql'], metrics: GatewayMetrics): void {
  const started = new WeakMap<MercuriusContext, { at: number; type: string; name: string }>();
  const names = new Set<string>();

  function nameOf(document: DocumentNode, context: MercuriusContext): { type: string; name: string } {
    const operation = getOperationAST(document, requestedName(context));
    let name = operation?.name?.value ?? '(anonymous)';
    if (!names.has(name)) {
      if (names.size < MAX_OPERATION_NAMES) names.add(name);
      else name = '(other)';
    }
    return { type: operation?.operation ?? 'unknown', name };
  }

  graphql.addHook('preExecution', (_schema, document, context) => {
    started.set(context, { at: performance.now(), ...nameOf(document, context) });
  });
  graphql.addHook('onResolution', (execution, context) => {
    const start = started.get(context);
    if (start === undefined) return;
    started.delete(context);
    const outcome = (execution.errors?.length ?? 0) > 0 ? 'error' : 'success';
    metrics.graphqlOperationDuration.observe(
      { operation_type: start.type, operation_name: start.name, outcome },
      (performance.now() - start.at) / 1000,
    );
  });
}
