// The audit trail as an auditor uses it, on PostgreSQL: an incident's whole history replayed (who did what, when,
// why), narrowed by stream, actor and time and paged without gaps or repeats; hash-chain verification before and
// after a row is edited behind the store's back; the role and tenant walls; and the auditor's own reads on record.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codes, data, graphql } from './support/graphql.ts';
import { declare, run, type IncidentResult } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const skip = await backendSkip('postgres');

interface Envelope {
  cursor: string;
  streamId: string;
  revision: number;
  type: string;
  occurredAt: string;
  actor: { id: string; kind: string };
  data: Record<string, unknown>;
  reason: string | null;
}

interface AuditPage {
  edges: { cursor: string; node: Envelope }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

interface Verification {
  ok: boolean;
  events: number;
  brokenAtRevision: number | null;
}

const AUDIT_TRAIL = `query Trail($streamId: String, $actor: ID, $from: DateTime, $to: DateTime, $first: Int, $after: Cursor,
    $consistentWith: Cursor) {
  auditTrail(streamId: $streamId, actor: $actor, from: $from, to: $to, first: $first, after: $after,
      consistentWith: $consistentWith) {
    edges { cursor node { cursor streamId revision type occurredAt actor { id kind } data reason } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const VERIFY = 'query Verify($streamId: String!) { verifyStream(streamId: $streamId) { ok events brokenAtRevision } }';

describe('audit trail and stream verification on PostgreSQL', { skip }, () => {
  let server: TestServer;
  let rita: string;
  let carol: string;
  let dora: string;

  async function trail(token: string, variables: Record<string, unknown>): Promise<AuditPage> {
    return (await data<{ auditTrail: AuditPage }>(server.url, token, AUDIT_TRAIL, variables)).auditTrail;
  }

  /** Every page of a filtered trail, `first` at a time; fails on a cursor that does not move forward. */
  async function allPages(token: string, variables: Record<string, unknown>, first: number): Promise<Envelope[]> {
    const nodes: Envelope[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await trail(token, { ...variables, first, after });
      assert.ok(page.edges.length <= first);
      for (const { cursor, node } of page.edges) {
        assert.equal(cursor, node.cursor);
        assert.ok(nodes.length === 0 || cursor > (nodes.at(-1) as Envelope).cursor, `cursor ${cursor} does not move forward`);
        nodes.push(node);
      }
      assert.equal(page.pageInfo.endCursor, page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) return nodes;
      after = page.pageInfo.endCursor;
    }
  }

  async function verify(token: string, streamId: string): Promise<Verification> {
    return (await data<{ verifyStream: Verification }>(server.url, token, VERIFY, { streamId })).verifyStream;
  }

  /** The incident every test replays, and a second one around it, by two people. */
  let incident: IncidentResult['incident'];
  let other: IncidentResult['incident'];
  /** The cursor of each of the incident's events, in order, as the mutations answered them. */
  const cursors: string[] = [];
  let lastCursor: string;

  before(async () => {
    server = await startTestServer('postgres', 'audit_trail');
    rita = server.token({ sub: 'rita', roles: ['responder'] });
    carol = server.token({ sub: 'carol', roles: ['commander'] });
    dora = server.token({ sub: 'dora', roles: ['auditor'] });

    const declared = await declare(server, rita, { title: 'Checkout errors' });
    incident = declared.incident;
    cursors.push(declared.cursor);
    other = (await declare(server, carol, { title: 'Search slow' })).incident;
    const { id } = incident;
    cursors.push((await run(server, rita, 'acknowledge', { id })).cursor);
    cursors.push((await run(server, rita, 'note', { id, text: 'rolled back the 14:02 deploy' })).cursor);
    cursors.push((await run(server, carol, 'severity', { id, severity: 'SEV1', reason: 'customers cannot pay' })).cursor);
    cursors.push((await run(server, rita, 'resolve', { id, resolution: 'rollback done' })).cursor);
    cursors.push((await run(server, carol, 'reopen', { id, reason: 'errors are back' })).cursor);
    lastCursor = (await run(server, rita, 'note', { id: other.id, text: 'index rebuilt' })).cursor;
  });

  after(async () => {
    await server?.close();
  });

  test("an auditor replays an incident's whole history in order: who did what, when, and why", async () => {
    const page = await trail(dora, { streamId: incident.streamId, consistentWith: lastCursor });
    const nodes = page.edges.map((edge) => edge.node);
    assert.deepEqual(
      nodes.map(({ revision, type, actor, reason }) => [revision, type, actor.id, actor.kind, reason]),
      [
        [0, 'IncidentDeclared', 'rita', 'USER', null],
        [1, 'IncidentAcknowledged', 'rita', 'USER', null],
        [2, 'IncidentNoteAdded', 'rita', 'USER', null],
        [3, 'IncidentSeverityChanged', 'carol', 'USER', 'customers cannot pay'],
        [4, 'IncidentResolved', 'rita', 'USER', null],
        [5, 'IncidentReopened', 'carol', 'USER', 'errors are back'],
      ],
    );
    assert.deepEqual(nodes.map((node) => node.cursor), cursors, 'each entry is at the cursor its mutation answered');
    assert.ok(nodes.every((node) => node.streamId === incident.streamId));
    assert.equal(nodes[0]?.data.title, 'Checkout errors');
    assert.equal(nodes[2]?.data.text, 'rolled back the 14:02 deploy');
    assert.deepEqual([nodes[3]?.data.from, nodes[3]?.data.to], ['SEV3', 'SEV1']);
    assert.equal(nodes[4]?.data.resolution, 'rollback done');
    const instants = nodes.map((node) => Date.parse(node.occurredAt));
    assert.deepEqual(instants, [...instants].sort((a, b) => a - b), 'oldest first');
    assert.deepEqual(page.pageInfo, { hasNextPage: false, endCursor: cursors.at(-1) });
  });

  test("filtered by actor, the trail holds that actor's events of every stream, and only those", async () => {
    const nodes = await allPages(dora, { actor: 'carol', consistentWith: lastCursor }, 50);
    assert.deepEqual(
      nodes.map(({ streamId, type }) => [streamId, type]),
      [
        [other.streamId, 'IncidentDeclared'],
        [incident.streamId, 'IncidentSeverityChanged'],
        [incident.streamId, 'IncidentReopened'],
      ],
    );
  });

  test('filtered by time, the trail holds the events recorded from `from` (inclusive) to `to` (exclusive)', async () => {
    const everything = await allPages(dora, { consistentWith: lastCursor }, 200);
    const history = everything.filter((node) => node.streamId === incident.streamId);
    const from = (history[0] as Envelope).occurredAt;
    const to = (history[4] as Envelope).occurredAt;
    const within = (node: Envelope) => node.occurredAt >= from && node.occurredAt < to;

    const window = await allPages(dora, { from, to }, 50);
    assert.deepEqual(window, everything.filter(within));
    assert.ok(window.some((node) => node.streamId === other.streamId), 'the window spans both incidents');
    const oneStream = await allPages(dora, { streamId: incident.streamId, from, to }, 50);
    assert.deepEqual(oneStream.map((node) => node.revision), [0, 1, 2, 3]);
    const fromOnly = await allPages(dora, { streamId: incident.streamId, from: to }, 50);
    assert.deepEqual(fromOnly.map((node) => node.revision), [4, 5]);
  });

  test('pages of any size cover the trail exactly: no gap, no repeat, in log order', async () => {
    const whole = await allPages(dora, { streamId: incident.streamId }, 200);
    for (const first of [1, 2, 4]) {
      assert.deepEqual(await allPages(dora, { streamId: incident.streamId }, first), whole, `pages of ${first}`);
    }
    // The tenant's whole trail grows while it is paged (each page read is recorded): what existed is still covered.
    const snapshot = await allPages(dora, { consistentWith: lastCursor }, 200);
    const paged = await allPages(dora, { consistentWith: lastCursor }, 3);
    assert.deepEqual(paged.slice(0, snapshot.length), snapshot);
  });

  test('a malformed page request is BAD_USER_INPUT', async () => {
    for (const variables of [{ first: 0 }, { first: 201 }, { from: '2024-02-01T00:00:00Z', to: '2024-01-01T00:00:00Z' }]) {
      assert.deepEqual(codes(await graphql(server.url, dora, AUDIT_TRAIL, variables)), ['BAD_USER_INPUT']);
    }
    // A cursor past the end of the log was never handed out: refused at once rather than waited for. Positions are
    // printable ASCII, so "~" sorts after every one of them.
    const beyond = await graphql(server.url, dora, AUDIT_TRAIL, { consistentWith: '~' });
    assert.deepEqual(codes(beyond), ['BAD_USER_INPUT']);
  });

  test('verifyStream holds on an untouched stream and names the revision a direct UPDATE in PostgreSQL edited', async () => {
    const tampered = (await declare(server, rita, { title: 'Disk full' })).incident;
    await run(server, rita, 'note', { id: tampered.id, text: 'deleted old logs' });
    await run(server, rita, 'resolve', { id: tampered.id, resolution: 'disk grown' });
    assert.deepEqual(await verify(dora, tampered.streamId), { ok: true, events: 3, brokenAtRevision: null });
    assert.deepEqual(await verify(dora, incident.streamId), { ok: true, events: 6, brokenAtRevision: null });

    // Straight to the table, past the store, as someone with database access would (the server's own pool).
    const { rowCount } = await server.server.services.readDb.query(
      `UPDATE eventstore.events SET data = jsonb_set(data, '{text}', '"nothing happened"')
        WHERE stream_id = $1 AND revision = 1`,
      [`acme/${tampered.streamId}`],
    );
    assert.equal(rowCount, 1);
    assert.deepEqual(await verify(dora, tampered.streamId), { ok: false, events: 3, brokenAtRevision: 1 });
    assert.deepEqual(await verify(dora, incident.streamId), { ok: true, events: 6, brokenAtRevision: null });
  });

  test('verifyStream of a stream without events is NOT_FOUND', async () => {
    const response = await graphql(server.url, dora, VERIFY, { streamId: 'incident-no-such-thing' });
    assert.deepEqual(codes(response), ['NOT_FOUND']);
  });

  test('viewers, responders and commanders are FORBIDDEN; admins may audit', async () => {
    for (const role of ['viewer', 'responder', 'commander']) {
      const token = server.token({ sub: `someone-${role}`, roles: [role] });
      const listed = await graphql(server.url, token, AUDIT_TRAIL, {});
      assert.deepEqual(codes(listed), ['FORBIDDEN'], role);
      assert.equal(listed.data, null);
      const verified = await graphql(server.url, token, VERIFY, { streamId: incident.streamId });
      assert.deepEqual(codes(verified), ['FORBIDDEN'], role);
    }
    const admin = server.token({ sub: 'root', roles: ['admin'] });
    assert.equal((await trail(admin, { streamId: incident.streamId })).edges.length, 6);
    assert.equal((await verify(admin, incident.streamId)).ok, true);
  });

  test("tenant B's auditor sees nothing of tenant A's: neither in the trail nor by verifying", async () => {
    const bob = server.token({ sub: 'bob', tenant: 'globex', roles: ['auditor'] });
    assert.deepEqual((await trail(bob, { streamId: incident.streamId, consistentWith: lastCursor })).edges, []);
    assert.deepEqual((await trail(bob, { actor: 'rita' })).edges, []);
    // All globex has is bob's own reads, just recorded.
    const everything = await allPages(bob, {}, 200);
    assert.ok(everything.every((node) => node.actor.id === 'bob' && node.streamId === 'audit-bob'), JSON.stringify(everything));
    assert.deepEqual(codes(await graphql(server.url, bob, VERIFY, { streamId: incident.streamId })), ['NOT_FOUND']);
  });

  test("the auditor's own reads are in the trail: what was asked, what it returned, when", async () => {
    const erin = server.token({ sub: 'erin', roles: ['auditor'] });
    const page = await trail(erin, { streamId: incident.streamId, first: 2 });
    const verification = await verify(erin, incident.streamId);
    const asOf = '2020-01-01T00:00:00.000Z';
    const historic = await data(server.url, erin, 'query($id: ID!, $asOf: DateTime) { incident(id: $id, asOf: $asOf) { id } }', {
      id: incident.id,
      asOf,
    });
    assert.deepEqual(historic, { incident: null });
    // Each read is stored before it is answered, so a later write's cursor covers every record.
    const { cursor } = await run(server, rita, 'note', { id: other.id, text: 'cache warmed' });

    const records = await trail(dora, { streamId: 'audit-erin', consistentWith: cursor });
    assert.deepEqual(
      records.edges.map(({ node }) => [node.type, node.actor.id, node.revision]),
      [
        ['AuditTrailRead', 'erin', 0],
        ['StreamVerified', 'erin', 1],
        ['IncidentRead', 'erin', 2],
      ],
    );
    const [read, verified, looked] = records.edges.map((edge) => edge.node) as [Envelope, Envelope, Envelope];
    assert.deepEqual(looked.data, { incidentId: incident.id, asOf, found: false, at: looked.data.at });
    assert.deepEqual(read.data.filter, {
      streamId: incident.streamId,
      actor: null,
      from: null,
      to: null,
      first: 2,
      after: null,
    });
    assert.equal(read.data.returned, 2);
    assert.equal(read.data.hasNextPage, true);
    assert.equal(read.data.endCursor, page.pageInfo.endCursor);
    assert.deepEqual(verified.data, {
      streamId: incident.streamId,
      ...verification,
      at: verified.data.at,
    });
    // The record of reads is itself a hash chain an auditor can check.
    assert.deepEqual(await verify(dora, 'audit-erin'), { ok: true, events: 3, brokenAtRevision: null });
  });
});
