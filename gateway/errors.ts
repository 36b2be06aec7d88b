// The one place that turns typed errors into what clients see: a GraphQL `extensions.code` and an HTTP status.
// Anything not recognised here is an internal error: logged in full, answered with a masked message.
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import { ConcurrencyError } from '../commands/handler.ts';
import { DomainError, NotFoundError, ValidationError } from '../domain/shared/errors.ts';
import { InvalidReadError, StoreUnavailableError } from '../infra/eventstore/errors.ts';
import { IngestMessageTooLargeError, IngestUnavailableError } from '../infra/ingest/port.ts';
import { ProjectionTimeoutError } from '../projections/errors.ts';
import { ForbiddenError, UnauthenticatedError } from './auth/errors.ts';
import { routeOf } from './metrics.ts';

type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'GRAPHQL_VALIDATION_FAILED'
  /** The HTTP request itself was unusable (too large, not JSON, no query): nothing was parsed or run. */
  | 'BAD_REQUEST'
  /** A dependency is down or behind; the same request may succeed if retried. */
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

interface ClientError {
  code: ErrorCode;
  /** The status when this error ends the request before execution (and on non-GraphQL routes). */
  status: number;
  message: string;
  extensions?: Record<string, unknown>;
  /** Why a 4xx refused the input, for /metrics' rejected_inputs_total; the code in lower case unless set. */
  reason?: string;
  /** A 503 the client should retry after this many seconds (the Retry-After header). */
  retryAfterSeconds?: number;
}

const INTERNAL: ClientError = { code: 'INTERNAL_SERVER_ERROR', status: 500, message: 'Internal server error' };

/** A document refused by validation (syntax, schema, depth, cost); each inner error is reported on its own. */
export class GraphQLValidationFailed extends Error {
  override name = 'GraphQLValidationFailed';
  constructor(readonly errors: readonly GraphQLError[]) {
    super(errors.map((error) => error.message).join('; '));
  }
}

/**
 * Reasons for fastify's refusals of a request's form; a body its schema refuses is `bad_user_input`, as when our own
 * validation refuses it, and other protocol errors are `bad_request`.
 */
const PROTOCOL_REASONS: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

/** Errors fastify and mercurius raise about the request itself (body too large, bad JSON, no query, bad method). */
function protocolError(error: unknown): { code: string; statusCode: number; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, statusCode } = error as Partial<FastifyError>;
  const ours = typeof code === 'string' && (code.startsWith('FST_') || code.startsWith('MER_'));
  const clientFault = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
  return ours && clientFault ? { code, statusCode, message: error.message } : undefined;
}

/** Mercurius wraps parse, validation and variable-coercion errors in one error with an `errors` list. */
function validationErrors(error: unknown): readonly unknown[] | undefined {
  if (error instanceof GraphQLValidationFailed) return error.errors;
  const wrapped = error as { code?: unknown; errors?: unknown } | null;
  return wrapped?.code === 'MER_ERR_GQL_VALIDATION' && Array.isArray(wrapped.errors) ? wrapped.errors : undefined;
}

function classify(error: unknown): ClientError | undefined {
  if (error instanceof UnauthenticatedError) return { code: 'UNAUTHENTICATED', status: 401, message: error.message };
  if (error instanceof ForbiddenError) {
    return { code: 'FORBIDDEN', status: 403, message: error.message, extensions: { action: error.action } };
  }
  if (error instanceof ConcurrencyError) {
    return {
      code: 'CONFLICT',
      status: 409,
      message: error.message,
      extensions: {
        streamId: error.streamId,
        expectedVersion: error.expectedVersion,
        currentVersion: error.currentVersion,
      },
    };
  }
  // NotFoundError is a DomainError: test it first.
  if (error instanceof NotFoundError) return { code: 'NOT_FOUND', status: 404, message: error.message };
  if (error instanceof ValidationError) {
    return { code: 'BAD_USER_INPUT', status: 400, message: error.message, extensions: { field: error.field } };
  }
  if (error instanceof DomainError || error instanceof InvalidReadError) {
    return { code: 'BAD_USER_INPUT', status: 400, message: error.message };
  }
  if (error instanceof ProjectionTimeoutError) {
    const cursor = JSON.stringify(error.position);
    const message = `read models did not catch up with cursor ${cursor} within ${error.timeoutMs} ms; retry`;
    return { code: 'SERVICE_UNAVAILABLE', status: 503, message };
  }
  if (error instanceof StoreUnavailableError) {
    return { code: 'SERVICE_UNAVAILABLE', status: 503, message: 'the event store is unavailable; retry' };
  }
  if (error instanceof IngestUnavailableError) {
    // Its message may name the NATS server: internal. Alertmanager and PagerDuty senders retry a 503.
    const message = 'ingestion is unavailable; retry later';
    return { code: 'SERVICE_UNAVAILABLE', status: 503, message, retryAfterSeconds: error.retryAfterSeconds };
  }
  if (error instanceof IngestMessageTooLargeError) {
    return { code: 'BAD_REQUEST', status: 413, message: error.message, reason: 'body_too_large' };
  }
  const protocol = protocolError(error);
  if (protocol === undefined) return undefined;
  const reason = PROTOCOL_REASONS[protocol.code];
  // A route's JSON schema refused the body (ingestion routes): the caller's input, not the request's form.
  const code = protocol.code === 'FST_ERR_VALIDATION' ? 'BAD_USER_INPUT' : 'BAD_REQUEST';
  return { code, status: protocol.statusCode, message: protocol.message, reason };
}

function isRejection(client: ClientError): boolean {
  return client.status >= 400 && client.status < 500;
}

function reasonOf(client: ClientError): string {
  return client.reason ?? client.code.toLowerCase();
}

function formatted(source: GraphQLError | undefined, client: ClientError): GraphQLFormattedError {
  return {
    message: client.message,
    ...(source?.locations === undefined ? {} : { locations: source.locations }),
    ...(source?.path === undefined ? {} : { path: source.path }),
    extensions: { ...client.extensions, code: client.code },
  };
}

function validationFailure(error: unknown): GraphQLFormattedError {
  const source = error instanceof GraphQLError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return formatted(source, { code: 'GRAPHQL_VALIDATION_FAILED', status: 400, message });
}

interface FormattedErrors {
  /** The HTTP status if these errors ended the request before execution. */
  status: number;
  errors: GraphQLFormattedError[];
  /** Reasons of the client's input that was refused, once each. */
  rejected: Set<string>;
}

/** Maps errors as mercurius and graphql-js hand them over (GraphQLErrors wrapping ours) to client errors. */
function formatErrors(errors: readonly unknown[], log: FastifyBaseLogger): FormattedErrors {
  let status = 0;
  const result: GraphQLFormattedError[] = [];
  const rejected = new Set<string>();
  for (const error of errors) {
    const located = error instanceof GraphQLError ? error : undefined;
    const original = located === undefined ? error : located.originalError;
    // graphql-js' own errors carry no original error. Without a path they come from before execution (unknown
    // operation name, missing variables): the request does not fit the document. With a path they are bugs
    // (a null for a non-null field), and stay internal.
    const invalid = validationErrors(original) ?? (located && !original && !located.path ? [located] : undefined);
    if (invalid !== undefined) {
      status = Math.max(status, 400);
      result.push(...invalid.map(validationFailure));
      rejected.add('graphql_validation_failed');
      continue;
    }
    const client = original === undefined ? undefined : classify(original);
    if (client === undefined) {
      log.error({ err: original ?? error, path: located?.path }, 'internal error answered as INTERNAL_SERVER_ERROR');
    } else {
      log.debug({ err: original, code: client.code }, 'request refused');
    }
    const chosen = client ?? INTERNAL;
    status = Math.max(status, chosen.status);
    result.push(formatted(located, chosen));
    if (isRejection(chosen)) rejected.add(reasonOf(chosen));
  }
  return { status, errors: result, rejected };
}

/** mercurius' `errorFormatter`: the GraphQL response and its status for every error mercurius sees. */
export function graphqlErrorFormatter(
  execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>,
  context: MercuriusContext,
): { statusCode: number; response: FormattedExecutionResult } {
  // Subscription frames carry a stand-in reply without a logger; the app's logger serves there.
  const log = context.reply?.log ?? context.app.log;
  const { status, errors, rejected } = formatErrors(execution.errors, log);
  for (const reason of rejected) context.app.metrics.rejectedInputs.inc({ route: '/graphql', reason });
  // Once execution ran, errors are part of a 200 response (GraphQL over HTTP); before it, the status says why not.
  const executed = execution.data !== undefined;
  const response: FormattedExecutionResult = executed ? { data: execution.data, errors } : { errors };
  if (execution.extensions !== undefined) response.extensions = execution.extensions;
  return { statusCode: executed ? 200 : status, response };
}

/** For the subscription transport, which sends one error per failed operation without calling the formatter. */
export function subscriptionError(error: unknown, log: FastifyBaseLogger): GraphQLError {
  const { errors } = formatErrors([error], log);
  const [first] = errors;
  return new GraphQLError(errors.map((each) => each.message).join('; '), { extensions: first?.extensions });
}

/** fastify's error handler for every non-GraphQL route (ingestion, health): the same mapping, a JSON body. */
export function httpErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const client = classify(error) ?? INTERNAL;
  if (client === INTERNAL) request.log.error({ err: error }, 'internal error answered with 500');
  if (isRejection(client)) {
    request.server.metrics.rejectedInputs.inc({ route: routeOf(request), reason: reasonOf(client) });
  }
  if (client.retryAfterSeconds !== undefined) reply.header('retry-after', String(client.retryAfterSeconds));
  const { code, status, message, extensions } = client;
  return reply.code(status).send({ statusCode: status, code, message, ...extensions });
}
