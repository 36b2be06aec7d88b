// Reading many incidents, on PostgreSQL: list filters, keyset pages without gaps or repeats, linked alerts and
// suspect changes as the incident shows them, and the loaders' batching: a page with every nested list costs one
// statement per kind of list, whatever the page size.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { linkAlertToIncident, linkSuspectChange } from '../../commands/incident.ts';
import type { CommandContext } from '../../commands/context.ts';
import { data } from './support/graphql.ts';
import { declare, run, type IncidentResult } from './support/incident.ts';
import { backendSkip, startTestServer, type TestServer } from './support/server.ts';
import { counting } from './support/statements.ts';

const INCIDENTS = 50;

interface Page {
  incidents: {
    edges: { cursor: string; node: { id: string; status: string; severity: string; services: string[] } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const LIST = `query($status: [IncidentStatus!], $severity: [Severity!], $service: String, $first: Int, $after: String,
    $consistentWith: Cursor) {
  incidents(status: $status, severity: $severity, service: $service, first: $first, after: $after,
      consistentWith: $consistentWith) {
    edges { cursor node { id status severity services } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const NESTED = `query($first: Int, $consistentWith: Cursor) {
  incidents(first: $first, consistentWith: $consistentWith) {
    edges { node { id version timeline { type } responders { userId } remediationSteps { id }
      alerts { fingerprint status source labels startsAt } suspectChanges { id summary at } } }
  }
}`;

interface Nested {
  incidents: {
    edges: {
      node: {
        id: string;
        version: number;
        timeline: { type: string }[];
        responders: unknown[];
        remediationSteps: unknown[];
        alerts: Record<string, unknown>[];
        suspectChanges: Record<string, unknown>[];
      };
    }[];
  };
}

describe('incident lists on PostgreSQL', { skip: await backendSkip('postgres') }, () => {
  let server: TestServer;
  let vic: string;
  /** Newest first, as lists are ordered. */
  let declared: IncidentResult[] = [];
  let last: string;

  before(async () => {
    server = await startTestServer('postgres', 'incident_queries');
    vic = server.token({ sub: 'vic', roles: ['viewer'] });
    const rita = server.token({ sub: 'rita', roles: ['responder'] });
    for (let i = 0; i < INCIDENTS; i++) {
      declared.push(
        await declare(server, rita, {
          title: `Incident ${i}`,
          severity: `SEV${(i % 4) + 1}`,
          services: i % 2 === 0 ? ['search'] : ['checkout', 'payments'],
        }),
      );
    }
    for (const { incident } of declared.filter((_, i) => i % 5 === 0)) {
      last = (await run(server, rita, 'acknowledge', { id: incident.id })).cursor;
    }
    declared = declared.reverse();
  });

  after(() => server?.close());

  const list = async (variables: Record<string, unknown>) =>
    (await data<Page>(server.url, vic, LIST, { consistentWith: last, first: 200, ...variables })).incidents;
  const idsOf = (page: Page['incidents']) => page.edges.map((edge) => edge.node.id);

  test('filters by any of the statuses and severities and by service, newest first', async () => {
    const acknowledged = declared.filter((_, i) => (INCIDENTS - 1 - i) % 5 === 0).map((result) => result.incident.id);
    assert.deepEqual(idsOf(await list({ status: ['ACKNOWLEDGED'] })), acknowledged);
    const checkoutSev1or2 = declared
      .filter(({ incident }) => ['SEV1', 'SEV2'].includes(incident.severity) && incident.services.includes('checkout'))
      .map((result) => result.incident.id);
    assert.ok(checkoutSev1or2.length > 0);
    assert.deepEqual(idsOf(await list({ severity: ['SEV1', 'SEV2'], service: 'checkout' })), checkoutSev1or2);
    assert.deepEqual(idsOf(await list({ status: ['OPEN', 'ACKNOWLEDGED'] })), declared.map((result) => result.incident.id));
    assert.deepEqual(idsOf(await list({ status: ['CLOSED'] })), []);
    assert.deepEqual(idsOf(await list({ service: 'nothing-here' })), []);
  });

  test('pages of 20 cover every incident once, newest first, and say when there is no next page', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      const page = await list({ first: 20, after });
      seen.push(...idsOf(page));
      assert.equal(page.pageInfo.endCursor, page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) {
        assert.equal(pages, 3);
        break;
      }
      after = page.pageInfo.endCursor;
    }
    assert.deepEqual(seen, declared.map((result) => result.incident.id));
  });

  test('a page of incidents with every nested list costs one statement per kind of list, whatever its size', async () => {
    // Linked alerts and changes come from the correlation policies, which run the same commands.
    const [first, second] = declared;
    assert.ok(first && second);
    const policy: CommandContext = { tenantId: 'acme', actor: { id: 'correlator', kind: 'service', roles: [] } };
    const store = server.server.services.eventStore;
    await linkAlertToIncident(store, policy, { incidentId: first.incident.id, fingerprint: 'a1b2c3' });
    await linkSuspectChange(store, policy, { incidentId: first.incident.id, changeId: 'deploy-42', reason: 'deployed 4 min before' });
    last = (await linkSuspectChange(store, policy, { incidentId: second.incident.id, changeId: 'deploy-43' })).cursor;

    const { services } = server.server;
    const readDb = services.readDb;
    const counted = counting(readDb);
    // Resolvers reach the database through the services object; the engine keeps its own reference.
    services.readDb = counted;
    try {
      const statementsFor = async (first: number) => {
        counted.statements.length = 0;
        const page = await data<Nested>(server.url, vic, NESTED, { first, consistentWith: last });
        assert.equal(page.incidents.edges.length, first);
        return { page, statements: counted.statements.length };
      };
      const small = await statementsFor(5);
      const full = await statementsFor(INCIDENTS);
      // The list, then one statement each for timelines, responders, steps, alerts and changes.
      assert.equal(full.statements, 6, counted.statements.join('\n---\n'));
      assert.equal(small.statements, full.statements);

      const nodes = full.page.incidents.edges.map((edge) => edge.node);
      for (const node of nodes) assert.equal(node.timeline.length, node.version);
      assert.deepEqual(nodes[0]?.alerts, [
        { fingerprint: 'a1b2c3', status: 'FIRING', source: 'unknown', labels: {}, startsAt: nodes[0]?.alerts[0]?.startsAt },
      ]);
      assert.deepEqual(nodes[0]?.suspectChanges.map(({ id, summary }) => [id, summary]), [['deploy-42', 'deployed 4 min before']]);
      assert.deepEqual(nodes[1]?.suspectChanges.map(({ id, summary }) => [id, summary]), [['deploy-43', 'change deploy-43']]);
    } finally {
      services.readDb = readDb;
    }
  });
});
