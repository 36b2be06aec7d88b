// POST /ingest/changes on PostgreSQL (through the JetStream ingestion queue when NATS is there), as a PagerDuty
// change-event sender uses it: accepted changes show up in `changes`, a retried POST is one change, and every kind of
// bad request is refused with PagerDuty's answer and a 4xx, counted in /metrics, with nothing appended. Embedded
// (the direct queue), an accepted change is stored before the 202.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tenantPrefix } from '../../infra/eventstore/stream-name.ts';
import { data } from './support/graphql.ts';
import { tenantLogTypes } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

/** PagerDuty's own example change event, plus the service it changed. */
const EXAMPLE = {
  routing_key: 'samplekeyhere',
  service: 'checkout',
  payload: {
    summary: 'Build Success: Increase snapshot create timeout to 30 seconds',
    timestamp: '2020-07-17T08:42:58.315+0000',
    source: 'acme-build-pipeline-tool-default-i-9999',
    custom_details: { build_state: 'passed', build_number: '2', run_time: '1236s', kind: 'config', author: 'dana' },
  },
  links: [{ href: 'https://acme.pagerduty.dev/build/2', text: 'View more details in Acme!' }],
};

const CHANGES = `query($service: String) { changes(service: $service, first: 50) { edges { node {
  id service kind summary author version source at links { href text } customDetails recordedBy } } } }`;

interface ChangeNode {
  id: string;
  service: string | null;
  kind: string;
  summary: string;
  author: string | null;
  version: string | null;
  source: string | null;
  at: string;
  links: { href: string; text: string | null }[];
  customDetails: Record<string, unknown>;
  recordedBy: string;
}

describe('POST /ingest/changes on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const ingestToken = (tenant: string) => server.token({ sub: 'deploy-bot', tenant, roles: ['ingest'] });
  const viewerToken = (tenant: string) => server.token({ sub: 'vic', tenant, roles: ['viewer'] });

  function post(body: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${server.url}/ingest/changes`, { method: 'POST', headers, body });
  }

  function send(tenant: string, body: unknown): Promise<Response> {
    return post(JSON.stringify(body), { 'content-type': 'application/json', authorization: `Bearer ${ingestToken(tenant)}` });
  }

  async function changes(tenant: string, service?: string): Promise<ChangeNode[]> {
    const answer = await data<{ changes: { edges: { node: ChangeNode }[] } }>(server.url, viewerToken(tenant), CHANGES, { service });
    return answer.changes.edges.map(({ node }) => node);
  }

  /** The tenant's changes once there are `count` of them (ingestion is asynchronous behind the 202). */
  async function changesOnce(tenant: string, count: number, timeoutMs = 15_000): Promise<ChangeNode[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await changes(tenant);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`${found.length} of ${count} changes after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const logTypes = (tenant: string) => tenantLogTypes(server, tenant);

  async function rejectedCount(): Promise<number> {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('rejected_inputs_total{') && line.includes('route="/ingest/changes"'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  before(async () => {
    server = await startTestServer('postgres', 'changes_ingest');
  });

  after(async () => {
    await server?.close();
  });

  test("PagerDuty's example is accepted with its answer and recorded whole, custom details filling in the extensions", async () => {
    const response = await send('pd', EXAMPLE);
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { status: 'success', message: 'Change event processed' });
    const [change] = await changesOnce('pd', 1);
    assert.deepEqual({ ...change, id: undefined }, {
      id: undefined,
      service: 'checkout',
      kind: 'config',
      summary: 'Build Success: Increase snapshot create timeout to 30 seconds',
      author: 'dana',
      version: null,
      source: 'acme-build-pipeline-tool-default-i-9999',
      at: '2020-07-17T08:42:58.315Z',
      links: [{ href: 'https://acme.pagerduty.dev/build/2', text: 'View more details in Acme!' }],
      customDetails: EXAMPLE.payload.custom_details,
      recordedBy: 'deploy-bot',
    });
    assert.deepEqual(await changes('pd', 'payments'), []);
  });

  test('a retried POST is one change; a different one is another; top-level extensions win over custom details', async () => {
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await send('retry', EXAMPLE)).status, 202);
    const second = { ...EXAMPLE, kind: 'deploy', version: 'v2.0.1', payload: { ...EXAMPLE.payload, timestamp: '2020-07-17T09:00:00Z' } };
    assert.equal((await send('retry', second)).status, 202);
    const found = await changesOnce('retry', 2);
    assert.deepEqual(
      found.map(({ kind, version, at }) => [kind, version, at]),
      [
        ['deploy', 'v2.0.1', '2020-07-17T09:00:00.000Z'],
        ['config', null, '2020-07-17T08:42:58.315Z'],
      ],
    );
    assert.deepEqual(await logTypes('retry'), ['ChangeRecorded', 'ChangeRecorded']);
  });

  test('bad requests are refused with a 4xx and a clear message, counted, and nothing is appended', async () => {
    const json = { 'content-type': 'application/json', authorization: `Bearer ${ingestToken('refused')}` };
    const withBody = (change: unknown) => JSON.stringify(change);
    const cases: { name: string; status: number; body: string; headers: Record<string, string>; error?: RegExp }[] = [
      { name: 'malformed JSON', status: 400, body: '{"routing_key": "k", "payload": {', headers: json, error: /JSON/i },
      { name: 'missing summary', status: 400, body: withBody({ routing_key: 'k', payload: { source: 'ci' } }), headers: json, error: /payload\.summary: is missing/ },
      { name: 'blank summary', status: 400, body: withBody({ routing_key: 'k', payload: { summary: '   ' } }), headers: json, error: /payload\.summary/ },
      {
        name: 'summary over 1024 characters',
        status: 400,
        body: withBody({ routing_key: 'k', payload: { summary: 'x'.repeat(1025) } }),
        headers: json,
        error: /payload\.summary/,
      },
      { name: 'missing payload', status: 400, body: withBody({ routing_key: 'k' }), headers: json, error: /^payload: is missing/ },
      { name: 'missing routing_key', status: 400, body: withBody({ payload: { summary: 's' } }), headers: json, error: /routing_key: is missing/ },
      { name: 'unknown kind', status: 400, body: withBody({ ...EXAMPLE, kind: 'rollout' }), headers: json, error: /^kind: must be one of/ },
      {
        name: 'unknown kind in custom details',
        status: 400,
        body: withBody({ ...EXAMPLE, payload: { ...EXAMPLE.payload, custom_details: { kind: 'rollout' } } }),
        headers: json,
        error: /kind: "rollout" is not one of/,
      },
      { name: 'not a service name', status: 400, body: withBody({ ...EXAMPLE, service: 'Checkout API' }), headers: json, error: /service: "Checkout API" is not a service name/ },
      {
        name: 'unparsable timestamp',
        status: 400,
        body: withBody({ ...EXAMPLE, payload: { ...EXAMPLE.payload, timestamp: 'yesterday' } }),
        headers: json,
        error: /payload\.timestamp/,
      },
      { name: 'relative link', status: 400, body: withBody({ ...EXAMPLE, links: [{ href: '/build/2' }] }), headers: json, error: /links\[0\]\.href/ },
      { name: 'a body that is not an object', status: 400, body: '["change"]', headers: json },
      { name: 'text/plain', status: 415, body: withBody(EXAMPLE), headers: { ...json, 'content-type': 'text/plain' } },
      { name: 'form data', status: 415, body: 'summary=deploy', headers: { ...json, 'content-type': 'application/x-www-form-urlencoded' } },
      { name: 'over 512 KB', status: 413, body: withBody({ ...EXAMPLE, payload: { ...EXAMPLE.payload, custom_details: { log: 'x'.repeat(600_000) } } }), headers: json },
      { name: 'no token', status: 401, body: withBody(EXAMPLE), headers: { 'content-type': 'application/json' } },
      { name: 'a forged token', status: 401, body: withBody(EXAMPLE), headers: { ...json, authorization: 'Bearer not.a.jwt' } },
      {
        name: 'a token without the ingest role',
        status: 403,
        body: withBody(EXAMPLE),
        headers: { ...json, authorization: `Bearer ${server.token({ tenant: 'refused', roles: ['responder', 'commander'] })}` },
      },
    ];
    const counted = await rejectedCount();
    for (const { name, status, body, headers, error } of cases) {
      const response = await post(body, headers);
      assert.equal(response.status, status, name);
      const answer = (await response.json()) as { status?: string; message?: string; errors?: string[] };
      if (status === 400) {
        // PagerDuty's shape: a short status, a message, and the specific errors.
        assert.ok(['invalid event', 'Unrecognized object'].includes(answer.status ?? ''), `${name}: ${JSON.stringify(answer)}`);
        assert.equal(answer.errors?.length, 1, name);
        if (error) assert.match(answer.errors?.[0] ?? '', error, name);
      } else {
        assert.ok(answer.message, `${name} says why`);
      }
    }
    assert.equal(await rejectedCount(), counted + cases.length);
    // A good change after the bad ones: once it is there, the log shows it alone.
    assert.equal((await send('refused', EXAMPLE)).status, 202);
    await changesOnce('refused', 1);
    assert.deepEqual(await logTypes('refused'), ['ChangeRecorded']);
  });

  test('changes are recorded in the tenant of the token and seen only there', async () => {
    assert.equal((await send('tenant-a', EXAMPLE)).status, 202);
    const [change] = await changesOnce('tenant-a', 1);
    assert.ok(change);
    assert.deepEqual(await changes('tenant-b'), []);
    const other = await data<{ changes: { edges: unknown[] } }>(server.url, viewerToken('tenant-b'), CHANGES, { service: 'checkout' });
    assert.deepEqual(other.changes.edges, []);
    // The same body from another tenant is that tenant's own change.
    assert.equal((await send('tenant-b', EXAMPLE)).status, 202);
    const [theirs] = await changesOnce('tenant-b', 1);
    assert.notEqual(theirs?.id, change.id);
  });
});

describe('POST /ingest/changes embedded', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer('embedded', 'changes_ingest_embedded');
  });

  after(async () => {
    await server?.close();
  });

  test('the 202 comes once the change is stored; a retried POST is the same change', async () => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${server.token({ tenant: 'solo', roles: ['ingest'] })}` };
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(`${server.url}/ingest/changes`, { method: 'POST', headers, body: JSON.stringify(EXAMPLE) });
      assert.equal(response.status, 202);
    }
    const types: string[] = [];
    for await (const event of server.server.services.eventStore.readAll({ filter: { streamPrefix: tenantPrefix('solo') } })) {
      types.push(event.type);
    }
    assert.deepEqual(types, ['ChangeRecorded']);
  });
});
