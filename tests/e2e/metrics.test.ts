// GET /metrics of a running server on PostgreSQL (and NATS, so the JetStream ingestion queue, when it is there):
// Prometheus' text format without a token, and each metric family with its labels after some traffic.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { graphql, subscribe, wsClient } from './support/graphql.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const skip = await backendSkip('postgres');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]),
      );
      return { name: match[1] ?? '', labels, value: Number(match[3]) };
    });
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  assert.ok(found.length <= 1, `${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('GET /metrics', { skip }, () => {
  let server: TestServer;
  let responder: string;
  let viewer: string;

  async function scrape(): Promise<Sample[]> {
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parse(await response.text());
  }

  /** Scrapes until `condition` holds (what the publisher and the engine do happens after the response). */
  async function scrapeUntil(condition: (samples: Sample[]) => boolean, what: string): Promise<Sample[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const samples = await scrape();
      if (condition(samples)) return samples;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  before(async () => {
    server = await startTestServer('postgres', 'metrics');
    responder = server.token({ sub: 'rita', roles: ['responder'] });
    viewer = server.token({ sub: 'vic', roles: ['viewer'] });
  });
  after(() => server?.close());

  test('needs no token and answers in the Prometheus text format', async () => {
    const samples = await scrape();
    assert.ok(valueOf(samples, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics');
  });

  test('requests by route pattern and status, GraphQL operations by name and outcome, events by type', async () => {
    const declare = `mutation Declare($input: DeclareIncidentInput!) {
      declareIncident(input: $input) { incident { id } cursor } }`;
    const input = { title: 'Checkout is slow', severity: 'SEV2' };
    const declared = await graphql(server.url, responder, declare, { input });
    assert.equal(declared.status, 200, JSON.stringify(declared));
    const refused = await graphql(server.url, viewer, declare, { input });
    assert.equal(refused.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal((await fetch(`${server.url}/no/such/route/42`)).status, 404);

    const samples = await scrapeUntil(
      (each) => valueOf(each, 'events_appended_total', { type: 'IncidentDeclared' }) === 1,
      'IncidentDeclared counted once',
    );
    const graphqlRequests = { method: 'POST', route: '/graphql', status_code: '200' };
    assert.equal(valueOf(samples, 'http_request_duration_seconds_count', graphqlRequests), 2);
    assert.ok((valueOf(samples, 'http_request_duration_seconds_sum', graphqlRequests) ?? 0) > 0);
    assert.equal(
      valueOf(samples, 'http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }),
      1,
      'a 404 is one series, whatever its URL',
    );
    assert.ok(!samples.some((sample) => sample.labels.route?.includes('42')), 'no raw URL in a route label');
    const operation = { operation_type: 'mutation', operation_name: 'Declare' };
    assert.equal(valueOf(samples, 'graphql_operation_duration_seconds_count', { ...operation, outcome: 'success' }), 1);
    assert.equal(valueOf(samples, 'graphql_operation_duration_seconds_count', { ...operation, outcome: 'error' }), 1);
  });

  test('rejected inputs by route and reason', async () => {
    const unauthenticated = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(unauthenticated.status, 401);
    const invalid = await graphql(server.url, viewer, '{ noSuchField }');
    assert.equal(invalid.status, 400);
    const malformed = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}` },
      body: '{"query": ',
    });
    assert.equal(malformed.status, 400);

    const samples = await scrape();
    const rejected = (reason: string) => valueOf(samples, 'rejected_inputs_total', { route: '/graphql', reason });
    assert.equal(rejected('unauthenticated'), 1);
    assert.equal(rejected('graphql_validation_failed'), 1);
    assert.equal(rejected('malformed_body'), 1);
    assert.equal(rejected('forbidden'), 1, 'the refused mutation of the test before');
  });

  test('rejected ingestion by route and reason, each refusal counted once', async () => {
    const ingest = server.token({ sub: 'alertmanager', roles: ['ingest'] });
    const send = (token: string | undefined, body: string, contentType = 'application/json') =>
      fetch(`${server.url}/ingest/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': contentType, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
        body,
      });
    const statuses = [
      (await send(undefined, '{}')).status,
      (await send(viewer, '{}')).status,
      (await send(ingest, '{"version":')).status,
      (await send(ingest, JSON.stringify({ version: '4', alerts: 'none' }))).status,
      (await send(ingest, '{}', 'text/plain')).status,
    ];
    assert.deepEqual(statuses, [401, 403, 400, 400, 415]);

    const samples = await scrape();
    const route = '/ingest/alertmanager';
    const rejected = (reason: string) => valueOf(samples, 'rejected_inputs_total', { route, reason });
    assert.deepEqual(
      ['unauthenticated', 'forbidden', 'malformed_body', 'bad_user_input', 'unsupported_media_type'].map(rejected),
      [1, 1, 1, 1, 1],
    );
    assert.equal(valueOf(samples, 'http_request_duration_seconds_count', { route, status_code: '415' }), 1);
  });

  test('subscriptions open, while they are', async () => {
    const client = await wsClient(server.wsUrl, viewer);
    try {
      const feed = subscribe(client, 'subscription { events { cursor type } }');
      const open = () => scrapeUntil((each) => valueOf(each, 'graphql_subscriptions_open') === 1, 'one open');
      await open();
      await feed.close();
      await scrapeUntil((each) => valueOf(each, 'graphql_subscriptions_open') === 0, 'none open after complete');
      subscribe(client, 'subscription { events { cursor type } }');
      await open();
    } finally {
      await client.dispose();
    }
    await scrapeUntil((each) => valueOf(each, 'graphql_subscriptions_open') === 0, 'none open after the socket closed');
  });

  test('projection lag per projection and the ingestion queue depth', async () => {
    const projections = (await server.server.services.engine.status()).map((status) => status.name);
    assert.ok(projections.length > 0);
    const samples = await scrape();
    for (const projection of projections) {
      assert.ok(valueOf(samples, 'projection_lag_events', { projection }) !== undefined, `lag events of ${projection}`);
      assert.ok(valueOf(samples, 'projection_lag_seconds', { projection }) !== undefined, `lag seconds of ${projection}`);
    }
    assert.equal(valueOf(samples, 'ingest_queue_depth'), 0);
  });
});
