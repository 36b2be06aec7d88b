// GraphQL as clients speak it: POST /graphql with a bearer token, and graphql-ws over the WebSocket with the token
// in connection_init.
import assert from 'node:assert/strict';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface GraphQLResponse<Data> {
  status: number;
  data?: Data | null;
  errors?: GraphQLError[];
}

export async function graphql<Data = Record<string, unknown>>(
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<Data>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Data | null; errors?: GraphQLError[] };
  return { status: response.status, ...body };
}

/** The data of a response that must have succeeded; its errors otherwise fail the test. */
export async function data<Data = Record<string, unknown>>(...args: Parameters<typeof graphql>): Promise<Data> {
  const response = await graphql<Data>(...args);
  assert.equal(response.errors, undefined, JSON.stringify(response.errors));
  assert.ok(response.data, `no data in ${JSON.stringify(response)}`);
  return response.data;
}

export function codes(response: GraphQLResponse<unknown>): unknown[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}

/** A graphql-ws client signed in with `token`, connected before it is returned. */
export function wsClient(wsUrl: string, token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client: Client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { token },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: reject,
      on: { connected: () => resolve(client) },
    });
  });
}

/** A subscription read one message at a time; `close()` unsubscribes. */
export interface Subscription<Data> {
  next(): Promise<Data>;
  /** The errors the subscription ended with. */
  errors(): Promise<readonly GraphQLError[]>;
  close(): Promise<void>;
}

export function subscribe<Data>(client: Client, query: string, variables: Record<string, unknown> = {}): Subscription<Data> {
  const iterator = client.iterate<Data>({ query, variables })[Symbol.asyncIterator]();
  return {
    async next() {
      const { value, done } = await iterator.next();
      assert.ok(!done, 'the subscription ended');
      assert.equal(value.errors, undefined, JSON.stringify(value.errors));
      assert.ok(value.data, JSON.stringify(value));
      return value.data;
    },
    async errors() {
      try {
        const { value } = await iterator.next();
        assert.fail(`expected an error, got ${JSON.stringify(value)}`);
      } catch (error) {
        // graphql-ws rejects the iteration with the list of errors the server sent.
        if (Array.isArray(error)) return error as GraphQLError[];
        throw error;
      }
    },
    async close() {
      await iterator.return?.();
    },
  };
}
