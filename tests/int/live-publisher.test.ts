// Publisher election on PostgreSQL: with several gateway instances only the holder of the session advisory lock
// publishes; another takes over when it stops or loses its connection, and subscribers miss nothing meanwhile.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createMemoryBus } from '../../infra/bus/memory.ts';
import type { Bus } from '../../infra/bus/port.ts';
import { startPublisher, type Publisher } from '../../infra/bus/publisher.ts';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import type { EventStore, Position } from '../../infra/eventstore/port.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import type { SqlDatabase } from '../../infra/sql/port.ts';
import { liveEvents } from '../../queries/live-events.ts';
import { createTestDatabase, postgresSkip, type TestDatabase } from '../support/services.ts';
import { eventually, newEvent, take } from './live-support.ts';

const skip = await postgresSkip();
const tenant = 'acme';

interface Instance {
  name: string;
  db: SqlDatabase;
  store: EventStore;
  /** What this instance's publisher put on the shared bus. */
  published: Position[];
  resets: number;
  bus: Bus;
  publisher?: Publisher;
}

describe('live publisher election (PostgreSQL)', { skip }, () => {
  let database: TestDatabase;
  const bus = createMemoryBus();
  let instances: Instance[] = [];

  const openInstance = async (name: string): Promise<Instance> => {
    const db = createPgDatabase(database.url, { applicationName: name });
    const instance: Instance = {
      name,
      db,
      store: await createPostgresEventStore(db),
      published: [],
      resets: 0,
      bus: {
        ...bus,
        publish(message) {
          instance.published.push(message.event.position);
          bus.publish(message);
        },
        publishReset() {
          instance.resets++;
          bus.publishReset();
        },
      },
    };
    instance.publisher = startPublisher({ store: instance.store, bus: instance.bus, election: { db }, retryMs: 50 });
    return instance;
  };
  const leaders = () => instances.filter((instance) => instance.publisher?.leading);
  const appendNotes = async (store: EventStore, count: number) => {
    for (let i = 0; i < count; i++) {
      await store.append(qualify(tenant, 'incident-1'), [newEvent(tenant, 'IncidentNoted')], { expectedRevision: 'any' });
    }
  };

  before(async () => {
    database = await createTestDatabase('live_publisher');
  });
  afterEach(async () => {
    for (const instance of instances) {
      await instance.publisher?.stop();
      await instance.store.close();
      await instance.db.close();
    }
    instances = [];
  });
  after(async () => {
    await bus.close();
    await database?.drop();
  });

  test('one of two instances publishes, and the other takes over when it stops', async () => {
    instances = [await openInstance('live-pub-a'), await openInstance('live-pub-b')];
    await eventually(() => leaders().length === 1, () => `${leaders().length} leaders`);
    const [leader] = leaders();
    const follower = instances.find((instance) => instance !== leader);
    assert.ok(leader && follower);
    const events = liveEvents({ store: follower.store, bus, tenant, after: await follower.store.headPosition() });

    await appendNotes(follower.store, 3);
    const first = await take(events, 3);
    await eventually(() => leader.published.length >= 3, () => `leader published ${leader.published.length}`);
    assert.deepEqual(leader.published, first.map((item) => item.cursor));
    assert.deepEqual(follower.published, []);

    await leader.publisher?.stop();
    await appendNotes(follower.store, 3);
    await eventually(() => follower.publisher?.leading === true, () => 'the follower never took over');
    await appendNotes(follower.store, 2);
    const rest = await take(events, 5);
    const expected: Position[] = [];
    for await (const event of follower.store.readAll({ after: first.at(-1)?.cursor })) expected.push(event.position);
    assert.deepEqual(rest.map((item) => item.cursor), expected);
    await events.return();
  });

  test('a leader whose database connection dies stops, publishing resumes, and nothing is missed', async () => {
    instances = [await openInstance('live-pub-c'), await openInstance('live-pub-d')];
    await eventually(() => leaders().length === 1, () => `${leaders().length} leaders`);
    const [leader] = leaders();
    assert.ok(leader);
    const resetsBefore = instances.reduce((sum, instance) => sum + instance.resets, 0);
    const start = await leader.store.headPosition();
    const events = liveEvents({ store: leader.store, bus, tenant, after: start });
    await appendNotes(leader.store, 2);
    await take(events, 2);

    await leader.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1`,
      [`${leader.name}:session`],
    );
    // Whoever leads next restarts publishing, which announces a reset.
    await eventually(
      () => instances.reduce((sum, instance) => sum + instance.resets, 0) > resetsBefore && leaders().length === 1,
      () => 'publishing did not restart',
    );
    await appendNotes(leader.store, 3);
    const expected: Position[] = [];
    for await (const event of leader.store.readAll({ after: start })) expected.push(event.position);
    const rest = await take(events, 3);
    assert.deepEqual(rest.map((item) => item.cursor), expected.slice(2));
    await events.return();
  });
});
