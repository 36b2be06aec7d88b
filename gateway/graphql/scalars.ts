// The shared scalars. Cursor is an event-log position (an opaque, ordered string), DateTime an RFC 3339 instant
// that resolvers receive as a Date, JSON any JSON value (event data, alert labels).
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';

const MAX_CURSOR_LENGTH = 256;

function cursorValue(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_CURSOR_LENGTH) {
    throw new GraphQLError(`Cursor must be a string of at most ${MAX_CURSOR_LENGTH} characters`);
  }
  return value;
}

export const Cursor = new GraphQLScalarType<string, string>({
  name: 'Cursor',
  description: 'A position in the event log: opaque, ordered; pass it back as `after` or `consistentWith`.',
  serialize: cursorValue,
  parseValue: cursorValue,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Cursor must be a string', { nodes: ast });
    return cursorValue(ast.value);
  },
});

// RFC 3339 date-time: a full date, a time, and an explicit offset; Date.parse alone would accept "2024" or "1/2/3".
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && RFC_3339.test(value) ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new GraphQLError(`DateTime must be an RFC 3339 string like 2024-01-31T12:00:00Z, got ${JSON.stringify(value)}`);
  }
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant as an RFC 3339 string, serialised in UTC (2024-01-31T12:00:00.000Z).',
  specifiedByURL: 'https://scalars.graphql.org/andimarek/date-time',
  serialize(value) {
    // Read models hand over Date objects (pg) or ISO strings (event data); both leave as UTC ISO strings.
    const date = value instanceof Date ? value : parseDateTime(value);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot serialise an invalid date');
    return date.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string', { nodes: ast });
    return parseDateTime(ast.value);
  },
});

export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast: ValueNode, variables) => valueFromASTUntyped(ast, variables),
});
