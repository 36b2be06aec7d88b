// The walls around incidents, on PostgreSQL: the role matrix of gateway/auth/roles.ts (each denial FORBIDDEN), the
// tenant wall (another tenant's incident is missing, whatever the id), refused input (validation, domain rules,
// stale versions), and for each of them the log checked afterwards: nothing refused was appended.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from 'graphql-ws';
import { codes, data, graphql, subscribe, wsClient } from './support/graphql.ts';
import { declare, MUTATIONS, run, streamEvents, tenantLogUpTo, type MutationName } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const READS = {
  incident: 'query($id: ID!) { incident(id: $id) { id status } }',
  asOf: 'query($id: ID!, $asOf: DateTime) { incident(id: $id, asOf: $asOf) { id status } }',
  incidents: 'query { incidents { edges { node { id } } } }',
};

/** Valid variables of every mutation for incident `id` with a proposed step `stepId`. */
function variablesOf(mutation: MutationName, id: string, stepId: string): Record<string, unknown> {
  const all: Record<MutationName, Record<string, unknown>> = {
    declare: { input: { title: 'Refused', severity: 'SEV4' } },
    acknowledge: { id },
    note: { id, text: 'a note' },
    statusUpdate: { id, message: 'an update' },
    severity: { id, severity: 'SEV1' },
    assign: { id, userId: 'sam', role: 'RESPONDER' },
    unassign: { id, userId: 'sam' },
    mitigate: { id },
    resolve: { id, resolution: 'fixed' },
    reopen: { id, reason: 'again' },
    close: { id },
    propose: { id, title: 'Restart' },
    approve: { id, stepId },
    start: { id, stepId },
    complete: { id, stepId },
    fail: { id, stepId, error: 'boom' },
    skip: { id, stepId, reason: 'no need' },
  };
  return all[mutation];
}

const MUTATION_NAMES = Object.keys(MUTATIONS) as MutationName[];

describe('incident access and input on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const clients: Client[] = [];
  const token = (sub: string, tenant: string, ...roles: string[]) => server.token({ sub, tenant, roles });

  /** The tenant's log once it includes `cursor`: event types in log order. */
  const logTypes = async (tenant: string, cursor: string) =>
    (await tenantLogUpTo(server, tenant, cursor)).map((event) => event.type);

  async function refused(bearer: string, mutation: MutationName, variables: Record<string, unknown>): Promise<unknown[]> {
    const response = await graphql(server.url, bearer, MUTATIONS[mutation], variables);
    assert.equal(response.data ?? null, null, `${mutation} answered ${JSON.stringify(response.data)}`);
    return codes(response);
  }

  before(async () => {
    server = await startTestServer('postgres', 'incident_access');
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server?.close();
  });

  test('viewer, auditor and ingest are FORBIDDEN every mutation, and nothing is appended', async () => {
    const admin = token('root', 'walls', 'admin');
    const { incident } = await declare(server, admin);
    const { step } = await run(server, admin, 'propose', { id: incident.id, title: 'Restart' });
    assert.ok(step);
    for (const role of ['viewer', 'auditor', 'ingest']) {
      const bearer = token(`someone-${role}`, 'walls', role);
      for (const mutation of MUTATION_NAMES) {
        const denial = await refused(bearer, mutation, variablesOf(mutation, incident.id, step.id));
        assert.deepEqual(denial, ['FORBIDDEN'], `${role} ${mutation}`);
      }
    }
    const { cursor } = await run(server, admin, 'note', { id: incident.id, text: 'admins may' });
    assert.deepEqual(await logTypes('walls', cursor), ['IncidentDeclared', 'RemediationStepProposed', 'IncidentNoteAdded']);
  });

  test('ingest is FORBIDDEN every read, viewer and auditor may read', async () => {
    const { incident } = await declare(server, token('rita', 'readers', 'responder'));
    const variables = { id: incident.id, asOf: new Date().toISOString() };
    for (const query of Object.values(READS)) {
      assert.deepEqual(codes(await graphql(server.url, token('pipe', 'readers', 'ingest'), query, variables)), ['FORBIDDEN']);
      for (const role of ['viewer', 'auditor']) await data(server.url, token(role, 'readers', role), query, variables);
    }
    const client = await wsClient(server.wsUrl, token('pipe', 'readers', 'ingest'));
    clients.push(client);
    const errors = await subscribe(client, 'subscription { incidentChanged(after: "") { cursor } }').errors();
    assert.deepEqual(errors.map((error) => error.extensions?.code), ['FORBIDDEN']);
  });

  test('a responder cannot change severity, make, demote or remove the commander, or close; nothing is appended', async () => {
    const carol = token('carol', 'command', 'commander');
    const rita = token('rita', 'command', 'responder');
    const { incident } = await declare(server, carol);
    const { id } = incident;
    await run(server, carol, 'assign', { id, userId: 'carol', role: 'COMMANDER' });
    await run(server, rita, 'assign', { id, userId: 'sam', role: 'RESPONDER' });
    await run(server, rita, 'resolve', { id, resolution: 'fixed' });

    const denials: [MutationName, Record<string, unknown>][] = [
      ['severity', { id, severity: 'SEV1' }],
      ['assign', { id, userId: 'dave', role: 'COMMANDER' }],
      ['assign', { id, userId: 'carol', role: 'SCRIBE' }],
      ['unassign', { id, userId: 'carol' }],
      ['close', { id }],
    ];
    for (const [mutation, variables] of denials) {
      assert.deepEqual(await refused(rita, mutation, variables), ['FORBIDDEN'], `${mutation} ${JSON.stringify(variables)}`);
    }
    // Roles other than the commander's are a responder's to give and take.
    await run(server, rita, 'assign', { id, userId: 'sam', role: 'SCRIBE' });
    const removed = await run(server, rita, 'unassign', { id, userId: 'sam' });
    assert.deepEqual(removed.incident.responders.map((responder) => responder.userId), ['carol']);
    const closed = await run(server, carol, 'close', { id });
    assert.deepEqual(await logTypes('command', closed.cursor), [
      'IncidentDeclared',
      'ResponderAssigned',
      'ResponderAssigned',
      'IncidentResolved',
      'ResponderAssigned',
      'ResponderUnassigned',
      'IncidentClosed',
    ]);
  });

  test("another tenant's incident is missing to every role: null to reads, NOT_FOUND to mutations, absent from lists and feeds", async () => {
    const acme = await declare(server, token('rita', 'acme', 'responder'), { title: 'Acme only' });
    const { id } = acme.incident;
    const globexAdmin = token('gus', 'globex', 'admin');
    for (const role of ['viewer', 'responder', 'commander', 'auditor', 'admin']) {
      const bearer = token(`globex-${role}`, 'globex', role);
      const read = await data<{ incident: unknown }>(server.url, bearer, READS.incident, { id });
      assert.equal(read.incident, null, role);
      const past = await data<{ incident: unknown }>(server.url, bearer, READS.asOf, { id, asOf: new Date().toISOString() });
      assert.equal(past.incident, null, role);
    }
    const step = (await run(server, token('rita', 'acme', 'responder'), 'propose', { id, title: 'Acme step' })).step;
    assert.ok(step);
    for (const mutation of MUTATION_NAMES.filter((name) => name !== 'declare')) {
      assert.deepEqual(await refused(globexAdmin, mutation, variablesOf(mutation, id, step.id)), ['NOT_FOUND'], mutation);
    }
    // Globex's own incident is what globex lists and replays; acme's stream is untouched.
    const own = await declare(server, globexAdmin, { title: 'Globex only' });
    const listed = await data<{ incidents: { edges: { node: { id: string } }[] } }>(server.url, globexAdmin, READS.incidents);
    assert.deepEqual(listed.incidents.edges.map((edge) => edge.node.id), [own.incident.id]);
    const client = await wsClient(server.wsUrl, globexAdmin);
    clients.push(client);
    const feed = subscribe<{ incidentChanged: { cursor: string } }>(client, 'subscription { incidentChanged(after: "") { cursor } }');
    assert.equal((await feed.next()).incidentChanged.cursor, own.cursor);
    await feed.close();
    assert.deepEqual((await streamEvents(server, 'acme', id)).map((event) => event.type), [
      'IncidentDeclared',
      'RemediationStepProposed',
    ]);
    // Globex's log holds only its own facts: its auditor's two looks (recorded, found nothing) and its declaration.
    assert.deepEqual(await logTypes('globex', own.cursor), ['IncidentRead', 'IncidentRead', 'IncidentDeclared']);
  });

  test('refused input is answered with its code and never appended', async () => {
    const carol = token('carol', 'inputs', 'commander');
    const { incident } = await declare(server, carol, { title: 'Inputs' });
    const { id } = incident;
    const invalid = [
      // Unknown fields and wrong types or enum values: the document does not fit the schema.
      ['mutation { declareIncident(input: { title: "x", severity: SEV1, colour: "red" }) { cursor } }', {}],
      ['mutation { declareIncident(input: { title: "x", severity: SEV9 }) { cursor } }', {}],
      ['mutation($s: Severity!) { declareIncident(input: { title: "x", severity: $s }) { cursor } }', { s: 'SEV9' }],
      ['mutation($id: ID!) { acknowledgeIncident(id: $id, expectedVersion: "one") { cursor } }', { id }],
      ['mutation($id: ID!, $v: Int) { acknowledgeIncident(id: $id, expectedVersion: $v) { cursor } }', { id, v: 'one' }],
      ['query($id: ID!) { incident(id: $id) { id colour } }', { id }],
    ] as const;
    for (const [query, variables] of invalid) {
      const response = await graphql(server.url, carol, query, variables);
      assert.deepEqual(codes(response), ['GRAPHQL_VALIDATION_FAILED'], query);
      assert.equal(response.status, 400);
    }
    const badInput: [MutationName, Record<string, unknown>][] = [
      ['declare', { input: { title: '', severity: 'SEV2' } }],
      ['declare', { input: { title: '   ', severity: 'SEV2' } }],
      ['declare', { input: { title: 'x'.repeat(201), severity: 'SEV2' } }],
      ['note', { id, text: ' ' }],
      ['acknowledge', { id: 'x'.repeat(256) }],
      ['acknowledge', { id: 'nul\u0000byte' }],
      // Illegal transitions, with the domain's reason.
      ['close', { id }],
      ['reopen', { id, reason: 'not resolved yet' }],
      ['severity', { id, severity: 'SEV3' }],
    ];
    for (const [mutation, variables] of badInput) {
      assert.deepEqual(await refused(carol, mutation, variables), ['BAD_USER_INPUT'], `${mutation} ${JSON.stringify(variables)}`);
    }
    const closing = await graphql(server.url, carol, MUTATIONS.close, { id });
    assert.equal(closing.errors?.[0]?.message, 'incident is OPEN; close needs RESOLVED');
    assert.deepEqual(await refused(carol, 'approve', { id, stepId: 'no-such-step' }), ['NOT_FOUND']);
    assert.deepEqual(await refused(carol, 'acknowledge', { id: 'no-such-incident' }), ['NOT_FOUND']);
    const queries = [
      'query { incidents(first: 0) { edges { cursor } } }',
      'query { incidents(after: "nope") { edges { cursor } } }',
      // Not a position of this store: refused at once rather than waited for.
      'query { incidents(consistentWith: "~") { edges { cursor } } }',
      `query { incident(id: "${id}", consistentWith: "~") { id } }`,
    ];
    for (const query of queries) {
      assert.deepEqual(codes(await graphql(server.url, carol, query)), ['BAD_USER_INPUT'], query);
    }

    // A stale expectedVersion is a CONFLICT naming the current version; the right one goes through.
    const stale = await graphql(server.url, carol, MUTATIONS.acknowledge, { id, expectedVersion: 0 });
    assert.deepEqual(codes(stale), ['CONFLICT']);
    assert.deepEqual(stale.errors?.[0]?.extensions, {
      code: 'CONFLICT',
      streamId: `incident-${id}`,
      expectedVersion: 0,
      currentVersion: 1,
    });
    const acknowledged = await run(server, carol, 'acknowledge', { id, expectedVersion: 1 });
    assert.deepEqual(await logTypes('inputs', acknowledged.cursor), ['IncidentDeclared', 'IncidentAcknowledged']);
  });

  test("the events record the token's subject and roles as the actor, and the request's traceparent when well formed", async () => {
    const rita = token('rita', 'trace', 'responder', 'viewer');
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const query = MUTATIONS.declare;
    const input = { title: 'Traced', severity: 'SEV4' };
    const traced = await graphql<{ declareIncident: { incident: { id: string } } }>(server.url, rita, query, { input }, { traceparent });
    const untraced = await graphql<{ declareIncident: { incident: { id: string } } }>(server.url, rita, query, { input }, {
      traceparent: 'not-a-trace',
    });
    const [tracedEvent] = await streamEvents(server, 'trace', traced.data?.declareIncident.incident.id ?? '');
    const [untracedEvent] = await streamEvents(server, 'trace', untraced.data?.declareIncident.incident.id ?? '');
    assert.deepEqual(tracedEvent?.metadata.actor, { id: 'rita', kind: 'user', roles: ['responder', 'viewer'] });
    assert.equal(tracedEvent?.metadata.tenantId, 'trace');
    assert.equal(tracedEvent?.metadata.traceparent, traceparent);
    assert.ok(untracedEvent);
    assert.equal(untracedEvent.metadata.traceparent, undefined);
  });
});
