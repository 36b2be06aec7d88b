// GraphQL over HTTP as a client sends it (POST /graphql, bearer token), and the request bodies the load generator
// replays: one place, so seeding, the measured requests and the delivery probes cannot drift apart.

export interface GraphQLEndpoint {
  /** http://host:port/graphql */
  url: string;
  token: string;
}

export function graphqlBody(query: string, variables?: Record<string, unknown>): string {
  return JSON.stringify(variables === undefined ? { query } : { query, variables });
}

export function graphqlHeaders(endpoint: GraphQLEndpoint): Record<string, string> {
  return { 'content-type': 'application/json', authorization: `Bearer ${endpoint.token}` };
}

/** The `data` of a successful response; a non-2xx status or any GraphQL error throws with the response body. */
export async function graphqlRequest<Data>(
  endpoint: GraphQLEndpoint,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Data> {
  const response = await fetch(endpoint.url, {
    method: 'POST',
    headers: graphqlHeaders(endpoint),
    body: graphqlBody(query, variables),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { data?: Data | null; errors?: unknown[] };
  if (!response.ok || body.errors !== undefined || body.data == null) {
    throw new Error(`GraphQL request failed (HTTP ${response.status}): ${text}`);
  }
  return body.data;
}
