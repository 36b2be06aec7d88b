// The changes read model, end to end: changes recorded by the mutation's command and by the ingestion handler are
// projected by the real engine and read back by the query functions, the correlation's among them. Run on
// PostgreSQL and on embedded PGlite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { changeIngestHandlers, changeStreamId, ingestedChange, recordChange, type ChangeIngestPayload } from '../../commands/change.ts';
import { declareIncident, linkSuspectChange } from '../../commands/incident.ts';
import type { IngestMessage } from '../../infra/ingest/port.ts';
import { changesForServices, getChanges, getIncidentSuspectChanges, listChanges, type Change } from '../../queries/changes.ts';
import { QueryInputError } from '../../queries/pagination.ts';
import { backends, context, newTenant, TestClock, type ReadSide } from './read-model-support.ts';

const MINUTE = 60_000;
const START = Date.parse('2024-03-01T09:00:00.000Z');
const minute = (n: number) => new Date(START + n * MINUTE);

function ingestMessage(tenant: string, dedupKey: string, payload: Partial<ChangeIngestPayload> = {}): IngestMessage {
  const change: ChangeIngestPayload = {
    service: 'checkout',
    kind: 'deploy',
    summary: 'Deploy checkout v2',
    version: 'v2',
    author: 'ci',
    source: 'github-actions',
    at: minute(30).toISOString(),
    links: [{ href: 'https://ci.example.com/run/7', text: null }],
    customDetails: { build: 7 },
    ...payload,
  };
  return {
    kind: 'changes',
    tenant,
    dedupKey,
    actor: { id: 'ci-bot', kind: 'service', roles: ['ingest'] },
    receivedAt: minute(31).toISOString(),
    payload: change,
  };
}

async function allPages(side: ReadSide, tenant: string, args: Parameters<typeof listChanges>[2]): Promise<Change[]> {
  const changes: Change[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await listChanges(side.db, tenant, { ...args, after });
    changes.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return changes;
    after = page.pageInfo.endCursor;
  }
}

for (const backend of await backends()) {
  describe(`changes read model on ${backend.name}`, { skip: backend.skip }, () => {
    let side: ReadSide;
    const tenants: string[] = [];
    before(async () => {
      side = await backend.open();
    });
    after(async () => {
      await side?.close();
    });

    function tenant(label: string): string {
      const created = newTenant(label);
      tenants.push(created);
      return created;
    }

    /** 12 changes, one a minute, alternating between checkout and payments. */
    async function recordTwelve(acme: string): Promise<void> {
      let cursor = '';
      for (let index = 0; index < 12; index++) {
        const service = index % 2 === 0 ? 'checkout' : 'payments';
        ({ cursor } = await recordChange(side.store, context(acme, 'dana', minute(index)), {
          id: `change-${String(index).padStart(2, '0')}`,
          service,
          kind: 'config',
          summary: `change ${index}`,
          at: minute(index).toISOString(),
        }));
      }
      await side.caughtUp(cursor);
    }

    test('changes page newest first with no gaps or repeats, by service and within [from, to)', async () => {
      const acme = tenant('pages');
      await recordTwelve(acme);
      const ids = (changes: Change[]) => changes.map((change) => change.id);
      assert.deepEqual(ids(await allPages(side, acme, { first: 5 })), Array.from({ length: 12 }, (_, i) => `change-${String(11 - i).padStart(2, '0')}`));
      assert.deepEqual(ids(await allPages(side, acme, { service: 'payments', first: 2 })), ['change-11', 'change-09', 'change-07', 'change-05', 'change-03', 'change-01']);
      assert.deepEqual(ids(await allPages(side, acme, { from: minute(3), to: minute(6), first: 1 })), ['change-05', 'change-04', 'change-03']);
      await assert.rejects(listChanges(side.db, acme, { from: minute(6), to: minute(3) }), QueryInputError);
    });

    test('a recorded change reads back whole, with who recorded it', async () => {
      const acme = tenant('whole');
      const { cursor, change } = await recordChange(side.store, context(acme, 'dana', minute(1)), {
        service: 'checkout',
        kind: 'feature_flag',
        summary: 'Enable one-click checkout',
        version: 'flag-v3',
        author: 'erin',
        links: [{ href: 'https://flags.example.com/one-click', text: 'flag' }],
        customDetails: { rollout: 0.1 },
      });
      await side.caughtUp(cursor);
      assert.deepEqual(await getChanges(side.db, acme, [change.changeId, 'nope']), [
        {
          id: change.changeId,
          service: 'checkout',
          kind: 'feature_flag',
          summary: 'Enable one-click checkout',
          version: 'flag-v3',
          author: 'erin',
          source: null,
          at: minute(1),
          links: [{ href: 'https://flags.example.com/one-click', text: 'flag' }],
          customDetails: { rollout: 0.1 },
          recordedBy: 'dana',
          position: cursor,
        },
        null,
      ]);
    });

    test('the correlation query: changes on any of some services within a window, newest first', async () => {
      const acme = tenant('window');
      await recordTwelve(acme);
      const changes = await changesForServices(side.db, acme, ['payments', 'search'], minute(2), minute(8));
      assert.deepEqual(changes.map((change) => change.id), ['change-07', 'change-05', 'change-03']);
      assert.deepEqual((await changesForServices(side.db, acme, ['checkout'], minute(9), null)).map((c) => c.id), ['change-10']);
      assert.deepEqual(await changesForServices(side.db, acme, [], minute(0), null), []);
    });

    test('an ingested change delivered twice, or in one batch twice, is one change under an id derived from its key', async () => {
      const acme = tenant('ingest');
      const handlers = changeIngestHandlers(side.store);
      const message = ingestMessage(acme, 'dedup-1');
      await handlers.changes([message, message]);
      await handlers.changes([message]);
      const changeId = ingestedChange(message).data.changeId;
      assert.equal(ingestedChange(ingestMessage(acme, 'dedup-1')).data.changeId, changeId);
      assert.notEqual(ingestedChange(ingestMessage(newTenant('elsewhere'), 'dedup-1')).data.changeId, changeId);
      const events = [];
      for await (const event of side.store.readStream(changeStreamId(acme, changeId))) events.push(event);
      assert.equal(events.length, 1);
      assert.equal(events[0]?.metadata.actor.id, 'ci-bot');
      await side.caughtUp(events[0]?.position ?? '');
      const [change] = await getChanges(side.db, acme, [changeId]);
      assert.deepEqual(
        [change?.summary, change?.at, change?.recordedBy, change?.customDetails],
        ['Deploy checkout v2', minute(30), 'ci-bot', { build: 7 }],
      );
    });

    test('one bad message fails its batch only after the good ones are stored', async () => {
      const acme = tenant('batch');
      const handlers = changeIngestHandlers(side.store);
      const good = ingestMessage(acme, 'good');
      await assert.rejects(handlers.changes([ingestMessage(acme, 'bad', { kind: 'rollout' }), good]), { name: 'ValidationError' });
      const events = [];
      for await (const event of side.store.readStream(changeStreamId(acme, ingestedChange(good).data.changeId))) events.push(event);
      assert.equal(events.length, 1);
    });

    test("an incident's suspect changes are joined with the changes; a link to an unrecorded change has no change", async () => {
      const acme = tenant('suspects');
      const clock = new TestClock();
      const { cursor: recorded } = await recordChange(side.store, context(acme, 'dana', clock.tick()), {
        id: 'deploy-1',
        service: 'checkout',
        summary: 'Deploy checkout v1',
      });
      const { incidentId } = await declareIncident(side.store, context(acme, 'alice', clock.tick()), { title: 'Checkout down', severity: 'SEV2' });
      await linkSuspectChange(side.store, context(acme, 'policy', clock.tick(), 'system'), { incidentId, changeId: 'deploy-1', reason: 'minutes before' });
      const { cursor } = await linkSuspectChange(side.store, context(acme, 'policy', clock.tick(), 'system'), { incidentId, changeId: 'deploy-2' });
      await side.caughtUp(cursor > recorded ? cursor : recorded);
      const [links] = await getIncidentSuspectChanges(side.db, acme, [incidentId]);
      assert.deepEqual(links?.map((link) => [link.changeId, link.reason, link.change?.summary ?? null]), [
        ['deploy-1', 'minutes before', 'Deploy checkout v1'],
        ['deploy-2', null, null],
      ]);
    });

    test('tenants see only their own changes', async () => {
      const acme = tenant('walled');
      await recordTwelve(acme);
      const globex = tenant('other');
      assert.deepEqual((await listChanges(side.db, globex, {})).edges, []);
      assert.deepEqual(await changesForServices(side.db, globex, ['checkout'], minute(0), null), []);
      assert.deepEqual(await getChanges(side.db, globex, ['change-01']), [null]);
    });

    // Last: it compares what every earlier test left behind.
    test('a rebuild reproduces every row', async () => {
      const head = await side.store.headPosition();
      await side.caughtUp(head);
      const before = await Promise.all(tenants.map((each) => allPages(side, each, { first: 200 })));
      const result = await side.engine.rebuild('changes');
      assert.equal(result.position, head);
      assert.deepEqual(await Promise.all(tenants.map((each) => allPages(side, each, { first: 200 }))), before);
    });
  });
}
