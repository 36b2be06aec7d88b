// Relay connections over keyset pages (never OFFSET: a page stays correct while rows are added before it), the
// page-size rule, and opaque cursors: base64url of a small JSON object that each query validates on the way back in.
import { ValidationError } from '../domain/shared/errors.ts';

/**
 * A query argument the caller got wrong. A ValidationError, so the gateway's one error formatter answers it as
 * BAD_USER_INPUT naming the argument, like any other bad input.
 */
export class QueryInputError extends ValidationError {
  override name = 'QueryInputError';
}

export class InvalidCursorError extends QueryInputError {
  override name = 'InvalidCursorError';
  constructor(argument: string, cursor: string) {
    super(argument, `${JSON.stringify(cursor.slice(0, 80))} is not a cursor this query handed out`);
  }
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `first` as given, or the default; anything but an integer in 1..MAX_PAGE_SIZE is refused. */
export function pageSize(first: number | null | undefined): number {
  if (first === undefined || first === null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new QueryInputError('first', `must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${first}`);
  }
  return first;
}

export interface PageInfo {
  hasNextPage: boolean;
  /** Cursor of the last edge; null on an empty page. */
  endCursor: string | null;
}

export interface Edge<Node> {
  cursor: string;
  node: Node;
}

export interface Connection<Node> {
  edges: Edge<Node>[];
  pageInfo: PageInfo;
}

/** `rows` were fetched with LIMIT first + 1: the extra row only tells that there is a next page. */
export function toConnection<Node>(rows: readonly Node[], first: number, cursorOf: (node: Node) => string): Connection<Node> {
  const edges = rows.slice(0, first).map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

export type CursorValue = string | number;

export function encodeCursor(fields: Readonly<Record<string, CursorValue>>): string {
  return Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const MAX_CURSOR_LENGTH = 1024;

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The fields of a cursor made by `encodeCursor`, read by `parse`, which returns undefined when the fields are not
 * what the query expects (a cursor of another query, or one a client made up).
 */
export function decodeCursor<T>(
  argument: string,
  cursor: string,
  parse: (fields: Readonly<Record<string, unknown>>) => T | undefined,
): T {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw new InvalidCursorError(argument, cursor);
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError(argument, cursor);
  }
  const parsed = isRecord(fields) ? parse(fields) : undefined;
  if (parsed === undefined) throw new InvalidCursorError(argument, cursor);
  return parsed;
}
