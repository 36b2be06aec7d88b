// Live delivery across gateway instances, on PostgreSQL and a real NATS: two instances share a database and the
// NATS subjects of this run, and graphql-ws clients subscribe on one while mutations go to the other. Resuming by
// cursor (after a disconnect, and after an instance shuts down) loses and repeats nothing; tenants never meet;
// connections without a valid token and documents that do not validate are refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { hs256Key, signToken } from '../../gateway/auth/token.ts';
import { natsSkip } from '../int/live-support.ts';
import { postgresSkip } from '../support/services.ts';
import { subscribe, type Subscription } from './support/graphql.ts';
import { declare, run } from './support/incident.ts';
import { startPlatform, type Platform } from './support/platform.ts';
import type { TestServer } from './support/server.ts';
import { connect, disposeClients, type Connection } from './support/subscriptions.ts';

const skip = (await postgresSkip()) || (await natsSkip());

interface Envelope {
  cursor: string;
  streamId: string;
  revision: number;
  type: string;
  actor: { id: string };
}

interface Change {
  cursor: string;
  incident: { id: string; status: string; version: number };
  event: { cursor: string; type: string; revision: number };
}

const EVENTS = `subscription Events($after: Cursor, $prefix: String) {
  events(after: $after, streamPrefix: $prefix) { cursor streamId revision type actor { id } }
}`;

const CHANGES = `subscription Changes($after: Cursor, $id: ID) {
  incidentChanged(after: $after, id: $id) { cursor incident { id status version } event { cursor type revision } }
}`;

/** Every test gets this long: live delivery crosses processes and a database shared with other test files. */
const timeout = 30_000;

describe('subscriptions across gateway instances on PostgreSQL and NATS', { skip }, () => {
  let platform: Platform;
  let a: TestServer;
  let b: TestServer;
  let rita: string;
  let vic: string;

  async function connected(server: TestServer, token: string): Promise<Connection> {
    const outcome = await connect(server.wsUrl, { token });
    assert.ok('client' in outcome, `connection refused: ${JSON.stringify(outcome)}`);
    return outcome;
  }

  async function events(feed: Subscription<{ events: Envelope }>, count: number): Promise<Envelope[]> {
    const received: Envelope[] = [];
    while (received.length < count) received.push((await feed.next()).events);
    return received;
  }

  async function changes(feed: Subscription<{ incidentChanged: Change }>, count: number): Promise<Change[]> {
    const received: Change[] = [];
    while (received.length < count) received.push((await feed.next()).incidentChanged);
    return received;
  }

  before(async () => {
    platform = await startPlatform('postgres', 'subscription_delivery', { nats: true });
    [a, b] = [await platform.start(), await platform.start()];
    rita = a.token({ sub: 'rita', roles: ['responder'] });
    vic = a.token({ sub: 'vic', roles: ['viewer'] });
  });

  after(async () => {
    await disposeClients();
    await platform?.close();
  });

  test('a mutation on instance A reaches events and incidentChanged subscribers on both instances', { timeout }, async () => {
    const declared = await declare(a, rita, { title: 'Payments down' });
    const { id, streamId } = declared.incident;
    const onB = (await connected(b, vic)).client;
    const onA = (await connected(a, vic)).client;
    const feeds = [onB, onA].map((client) => subscribe<{ events: Envelope }>(client, EVENTS, { after: '', prefix: streamId }));
    const changeFeed = subscribe<{ incidentChanged: Change }>(onB, CHANGES, { after: '', id });
    // The declaration, replayed from the store, shows each subscription is running; what follows comes live.
    for (const feed of feeds) assert.equal((await events(feed, 1))[0]?.cursor, declared.cursor);
    assert.equal((await changes(changeFeed, 1))[0]?.cursor, declared.cursor);

    // One instance publishes (the elected one), so at least one of these subscribers hears of it from the other
    // process, through NATS.
    const acknowledged = await run(a, rita, 'acknowledge', { id });
    for (const feed of feeds) {
      assert.deepEqual(
        (await events(feed, 1)).map(({ cursor, type, revision, actor }) => [cursor, type, revision, actor.id]),
        [[acknowledged.cursor, 'IncidentAcknowledged', 1, 'rita']],
      );
    }
    const [change] = await changes(changeFeed, 1);
    assert.deepEqual(change, {
      cursor: acknowledged.cursor,
      incident: { id, status: 'ACKNOWLEDGED', version: 2 },
      event: { cursor: acknowledged.cursor, type: 'IncidentAcknowledged', revision: 1 },
    });
    await Promise.all([...feeds, changeFeed].map((feed) => feed.close()));
  });

  test('a subscriber that reconnects with its last cursor gets exactly what it missed, in order, then live events', { timeout }, async () => {
    const declared = await declare(a, rita, { title: 'Queue backlog' });
    const { id, streamId } = declared.incident;
    const first = await connected(b, vic);
    const [seen] = await events(subscribe(first.client, EVENTS, { after: '', prefix: streamId }), 1);
    assert.ok(seen);
    await first.client.dispose();

    // While it is away.
    const missed = [
      await run(a, rita, 'acknowledge', { id }),
      await run(a, rita, 'note', { id, text: 'consumers scaled to 12' }),
      await run(a, rita, 'note', { id, text: 'backlog draining' }),
    ];

    const again = (await connected(b, vic)).client;
    const resumed = subscribe<{ events: Envelope }>(again, EVENTS, { after: seen.cursor, prefix: streamId });
    const resumedChanges = subscribe<{ incidentChanged: Change }>(again, CHANGES, { after: seen.cursor, id });
    assert.deepEqual(
      (await events(resumed, 3)).map(({ cursor, revision }) => [cursor, revision]),
      missed.map(({ cursor }, index) => [cursor, index + 1]),
    );
    assert.deepEqual(
      (await changes(resumedChanges, 3)).map(({ cursor, incident }) => [cursor, incident.version]),
      missed.map(({ cursor }, index) => [cursor, index + 2]),
    );
    // The next message is the next event, live: nothing repeated in between.
    const resolved = await run(a, rita, 'resolve', { id, resolution: 'backlog drained' });
    assert.deepEqual((await events(resumed, 1)).map(({ cursor, type }) => [cursor, type]), [[resolved.cursor, 'IncidentResolved']]);
    assert.equal((await changes(resumedChanges, 1))[0]?.incident.status, 'RESOLVED');
    await Promise.all([resumed.close(), resumedChanges.close()]);
  });

  test("a subscriber of tenant B receives nothing of tenant A's, replayed or live", { timeout }, async () => {
    const greg = a.token({ sub: 'greg', tenant: 'globex', roles: ['responder'] });
    const gina = (await connected(b, b.token({ sub: 'gina', tenant: 'globex', roles: ['viewer'] }))).client;
    // From the very start of the log, which holds acme's incidents of the other tests.
    const everything = subscribe<{ events: Envelope }>(gina, EVENTS, { after: '' });
    const allChanges = subscribe<{ incidentChanged: Change }>(gina, CHANGES, { after: '' });

    const acme = await declare(a, rita, { title: 'Acme only' });
    const globex = await declare(a, greg, { title: 'Globex only' });
    await run(a, rita, 'acknowledge', { id: acme.incident.id });
    const globexAcknowledged = await run(a, greg, 'acknowledge', { id: globex.incident.id });

    assert.deepEqual(
      (await events(everything, 2)).map(({ cursor, streamId }) => [cursor, streamId]),
      [
        [globex.cursor, globex.incident.streamId],
        [globexAcknowledged.cursor, globex.incident.streamId],
      ],
    );
    assert.deepEqual(
      (await changes(allChanges, 2)).map(({ cursor, incident }) => [cursor, incident.id]),
      [
        [globex.cursor, globex.incident.id],
        [globexAcknowledged.cursor, globex.incident.id],
      ],
    );
    await Promise.all([everything.close(), allChanges.close()]);
  });

  test('a connection without a token, or with a bad one, is refused with close 4403', { timeout }, async () => {
    const foreign = signToken(hs256Key(randomBytes(32).toString('hex')), { sub: 'mallory', tenant: 'acme', roles: ['admin'] }, 60);
    for (const params of [undefined, {}, { token: 'not-a-jwt' }, { token: foreign }, { authorization: 'Basic abc' }]) {
      assert.deepEqual(await connect(b.wsUrl, params), { code: 4403, reason: 'Forbidden' }, JSON.stringify(params));
    }
  });

  test('a subscription document with an unknown field is refused with GRAPHQL_VALIDATION_FAILED', { timeout }, async () => {
    const { client } = await connected(b, vic);
    for (const query of [
      'subscription { events { cursor noSuchField } }',
      'subscription { incidentChanged { incident { id noSuchField } } }',
    ]) {
      const errors = await subscribe(client, query).errors();
      assert.deepEqual(errors.map((error) => error.extensions?.code), ['GRAPHQL_VALIDATION_FAILED'], query);
    }
  });

  // Last, as it stops instance A: the first started, so (almost surely) the elected publisher, which B then replaces.
  test('closing an instance ends its subscriptions with 1001; resumed on another instance, nothing is lost or repeated', { timeout }, async () => {
    const declared = await declare(b, rita, { title: 'Cache stampede' });
    const { id, streamId } = declared.incident;
    const connection = await connected(a, vic);
    const feed = subscribe<{ events: Envelope }>(connection.client, EVENTS, { after: '', prefix: streamId });
    const received = await events(feed, 1);

    // Writes keep coming through the other instance before, while and after this one stops.
    const written = [await run(b, rita, 'acknowledge', { id })];
    const stopping = a.close();
    written.push(await run(b, rita, 'note', { id, text: 'rate limit raised' }));
    await stopping;
    written.push(await run(b, rita, 'note', { id, text: 'hit rate back to 97%' }));
    assert.deepEqual(await connection.closed, { code: 1001, reason: 'server shutting down' });

    // What the client had received before the close is its last cursor.
    for (;;) {
      const next = await feed.next().then(
        (result) => result.events,
        (error: unknown) => {
          assert.equal((error as { code?: unknown }).code, 1001, String(error));
          return undefined;
        },
      );
      if (next === undefined) break;
      received.push(next);
    }
    const last = received.at(-1) as Envelope;
    const resumed = subscribe<{ events: Envelope }>((await connected(b, vic)).client, EVENTS, { after: last.cursor, prefix: streamId });
    const rest = await events(resumed, written.filter(({ cursor }) => cursor > last.cursor).length);
    assert.deepEqual(
      [...received, ...rest].map(({ cursor }) => cursor),
      [declared, ...written].map(({ cursor }) => cursor),
    );
    // Live again, published by whichever instance remains.
    const resolved = await run(b, rita, 'resolve', { id, resolution: 'stampede over' });
    assert.equal((await events(resumed, 1))[0]?.cursor, resolved.cursor);
    await resumed.close();
  });
});
