// Changes over GraphQL on PostgreSQL: recordChange by role, with its answer and its refusals (nothing appended),
// retries under the caller's id, `changes(service, from, to)` paged newest first, the tenant wall, and an incident's
// suspect changes resolved to the recorded changes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkSuspectChange } from '../../commands/incident.ts';
import type { CommandContext } from '../../commands/context.ts';
import { codes, data, graphql } from './support/graphql.ts';
import { declare, tenantLogTypes } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';

const RECORD = `mutation($input: RecordChangeInput!) { recordChange(input: $input) { cursor change {
  id service kind summary author version source at links { href text } customDetails recordedBy } } }`;

const CHANGES = `query($service: String, $from: DateTime, $to: DateTime, $first: Int, $after: String, $consistentWith: Cursor) {
  changes(service: $service, from: $from, to: $to, first: $first, after: $after, consistentWith: $consistentWith) {
    edges { cursor node { id summary at } } pageInfo { hasNextPage endCursor } } }`;

interface Recorded {
  recordChange: { cursor: string; change: Record<string, unknown> & { id: string } };
}

interface Page {
  changes: { edges: { cursor: string; node: { id: string; summary: string; at: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const minute = (n: number) => new Date(Date.parse('2025-01-01T12:00:00.000Z') + n * 60_000).toISOString();

describe('changes over GraphQL on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  const token = (tenant: string, ...roles: string[]) => server.token({ sub: `${roles[0]}-user`, tenant, roles });

  const logTypes = (tenant: string) => tenantLogTypes(server, tenant);

  before(async () => {
    server = await startTestServer('postgres', 'changes_graphql');
  });

  after(async () => {
    await server?.close();
  });

  test('a responder records a change and gets it back whole; the author is the caller unless given', async () => {
    const responder = token('record', 'responder');
    const { recordChange } = await data<Recorded>(server.url, responder, RECORD, {
      input: {
        service: 'checkout',
        kind: 'feature_flag',
        summary: 'Enable one-click checkout for 10%',
        version: 'flag-v3',
        source: 'flagsmith',
        at: '2025-01-01T12:00:00+01:00',
        links: [{ href: 'https://flags.example.com/one-click', text: 'the flag' }],
        customDetails: { rollout: 0.1 },
      },
    });
    assert.deepEqual({ ...recordChange.change, id: undefined }, {
      id: undefined,
      service: 'checkout',
      kind: 'feature_flag',
      summary: 'Enable one-click checkout for 10%',
      author: 'responder-user',
      version: 'flag-v3',
      source: 'flagsmith',
      at: '2025-01-01T11:00:00.000Z',
      links: [{ href: 'https://flags.example.com/one-click', text: 'the flag' }],
      customDetails: { rollout: 0.1 },
      recordedBy: 'responder-user',
    });
    const page = await data<Page>(server.url, token('record', 'viewer'), CHANGES, { consistentWith: recordChange.cursor });
    assert.deepEqual(page.changes.edges.map(({ node }) => node.id), [recordChange.change.id]);
  });

  test('viewers, auditors and ingest tokens may not record changes; bad input is BAD_USER_INPUT; nothing is appended', async () => {
    const input = { summary: 'Restarted the cache by hand' };
    for (const role of ['viewer', 'auditor', 'ingest']) {
      assert.deepEqual(codes(await graphql(server.url, token('refused', role), RECORD, { input })), ['FORBIDDEN'], role);
    }
    const commander = token('refused', 'commander');
    for (const bad of [
      { summary: '  ' },
      { summary: 'x'.repeat(1025) },
      { summary: 'ok', kind: 'rollout' },
      { summary: 'ok', service: 'Checkout API' },
      { summary: 'ok', customDetails: ['not', 'an', 'object'] },
      { summary: 'ok', links: [{ href: 'javascript:alert(1)' }] },
      { summary: 'ok', id: 'has spaces' },
    ]) {
      assert.deepEqual(codes(await graphql(server.url, commander, RECORD, { input: bad })), ['BAD_USER_INPUT'], JSON.stringify(bad).slice(0, 80));
    }
    assert.deepEqual(await logTypes('refused'), []);
  });

  test("a change recorded again under the caller's id is the same change; other content under it is refused", async () => {
    const responder = token('idempotent', 'responder');
    const input = { id: 'deploy-2025-01-01.1', service: 'api', kind: 'deploy', summary: 'Deploy api 5.2.0', version: '5.2.0' };
    const first = await data<Recorded>(server.url, responder, RECORD, { input });
    const again = await data<Recorded>(server.url, responder, RECORD, { input });
    assert.deepEqual(again.recordChange, first.recordChange);
    const changed = await graphql(server.url, responder, RECORD, { input: { ...input, version: '5.2.1' } });
    assert.deepEqual(codes(changed), ['BAD_USER_INPUT']);
    assert.match(changed.errors?.[0]?.message ?? '', /change deploy-2025-01-01\.1 is already recorded/);
    assert.deepEqual(await logTypes('idempotent'), ['ChangeRecorded']);
  });

  test('changes page newest first, by service and within [from, to), with no gaps or repeats', async () => {
    const responder = token('paging', 'responder');
    let cursor = '';
    for (let index = 0; index < 9; index++) {
      ({ cursor } = (
        await data<Recorded>(server.url, responder, RECORD, {
          input: { id: `c${index}`, service: index % 3 === 0 ? 'db' : 'api', summary: `change ${index}`, at: minute(index) },
        })
      ).recordChange);
    }
    const viewer = token('paging', 'viewer');
    async function all(variables: Record<string, unknown>): Promise<string[]> {
      const ids: string[] = [];
      let after: string | null = null;
      for (;;) {
        const { changes }: Page = await data<Page>(server.url, viewer, CHANGES, { ...variables, after, consistentWith: cursor });
        ids.push(...changes.edges.map(({ node }) => node.id));
        assert.equal(changes.pageInfo.endCursor, changes.edges.at(-1)?.cursor ?? null);
        if (!changes.pageInfo.hasNextPage) return ids;
        after = changes.pageInfo.endCursor;
      }
    }
    assert.deepEqual(await all({ first: 2 }), ['c8', 'c7', 'c6', 'c5', 'c4', 'c3', 'c2', 'c1', 'c0']);
    assert.deepEqual(await all({ service: 'db', first: 1 }), ['c6', 'c3', 'c0']);
    assert.deepEqual(await all({ service: 'api', from: minute(2), to: minute(7), first: 2 }), ['c5', 'c4', 'c2']);
    const refused = await graphql(server.url, viewer, CHANGES, { from: minute(5), to: minute(1) });
    assert.deepEqual(codes(refused), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await graphql(server.url, viewer, CHANGES, { first: 0 })), ['BAD_USER_INPUT']);
    assert.deepEqual(codes(await graphql(server.url, viewer, CHANGES, { after: 'made-up' })), ['BAD_USER_INPUT']);
    // Another tenant sees none of them.
    const other = await data<Page>(server.url, token('paging-other', 'viewer'), CHANGES, { consistentWith: cursor });
    assert.deepEqual(other.changes.edges, []);
  });

  test("an incident's suspect changes are the recorded changes; an unrecorded one shows what its link knows", async () => {
    const admin = token('suspects', 'admin');
    const { recordChange } = await data<Recorded>(server.url, admin, RECORD, {
      input: { id: 'deploy-9', service: 'checkout', kind: 'deploy', summary: 'Deploy checkout 9', at: minute(0) },
    });
    const { incident } = await declare(server, admin, { title: 'Checkout errors', services: ['checkout'] });
    const policy: CommandContext = { tenantId: 'suspects', actor: { id: 'correlator', kind: 'service', roles: [] } };
    const store = server.server.services.eventStore;
    await linkSuspectChange(store, policy, { incidentId: incident.id, changeId: 'deploy-9', reason: 'deployed 4 min before' });
    const { cursor } = await linkSuspectChange(store, policy, { incidentId: incident.id, changeId: 'deploy-10' });
    const QUERY = `query($id: ID!, $consistentWith: Cursor) { incident(id: $id, consistentWith: $consistentWith) {
      suspectChanges { id service kind summary at recordedBy } } }`;
    const latest = cursor > recordChange.cursor ? cursor : recordChange.cursor;
    // The changes read model is its own: wait for it too, through the changes query.
    await data<Page>(server.url, admin, CHANGES, { consistentWith: latest });
    const { incident: read } = await data<{ incident: { suspectChanges: Record<string, unknown>[] } }>(server.url, admin, QUERY, {
      id: incident.id,
      consistentWith: latest,
    });
    const [recorded, unrecorded] = read.suspectChanges;
    assert.deepEqual(recorded, { id: 'deploy-9', service: 'checkout', kind: 'deploy', summary: 'Deploy checkout 9', at: minute(0), recordedBy: 'admin-user' });
    // Linked, never recorded: it happened no later than it was linked.
    assert.deepEqual({ ...unrecorded, at: undefined }, { id: 'deploy-10', service: null, kind: null, summary: 'change deploy-10', at: undefined, recordedBy: null });
    // As a folded incident (time travel replays the stream), the same changes.
    const asOf = await data<{ incident: { suspectChanges: { id: string; summary: string }[] } }>(
      server.url,
      admin,
      `query($id: ID!, $asOf: DateTime) { incident(id: $id, asOf: $asOf) { suspectChanges { id summary } } }`,
      { id: incident.id, asOf: new Date(Date.now() + 60_000).toISOString() },
    );
    assert.deepEqual(asOf.incident.suspectChanges.map(({ id, summary }) => [id, summary]), [
      ['deploy-9', 'Deploy checkout 9'],
      ['deploy-10', 'change deploy-10'],
    ]);
  });
});
