// One active runner per projection across processes, and exactly-once effects when a runner dies mid-batch: real
// child processes (tests/fixtures/projection-runner.ts) killed with SIGKILL, against PostgreSQL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createPostgresEventStore } from '../../infra/eventstore/postgres.ts';
import type { EventStore } from '../../infra/eventstore/port.ts';
import { createPgDatabase } from '../../infra/sql/pg.ts';
import type { SqlDatabase } from '../../infra/sql/port.ts';
import { createProjectionEngine, type ProjectionEngine } from '../../projections/engine.ts';
import { ProjectionLockedError } from '../../projections/errors.ts';
import { appendMany, countedState, countingProjection, eventually } from '../fixtures/projection-kit.ts';
import { createTestDatabase, postgresSkip, type TestDatabase } from '../support/services.ts';

const quiet = { info: () => undefined, error: () => undefined };
const BATCH = 50;
const skip = await postgresSkip();

interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves when the child prints `line`. */
  printed(line: string): Promise<void>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

describe('projection runners across processes on PostgreSQL', { skip, timeout: 60_000 }, () => {
  let database: TestDatabase;
  let db: SqlDatabase;
  let store: EventStore;
  let engines: ProjectionEngine[];
  /** Each in-process engine gets its own pool, as it would in its own process. */
  let pools: SqlDatabase[];
  let children: Child[];

  beforeEach(async () => {
    database = await createTestDatabase('projection_takeover');
    db = createPgDatabase(database.url, { max: 6 });
    store = await createPostgresEventStore(db);
    engines = [];
    pools = [];
    children = [];
  });
  afterEach(async () => {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await Promise.all(children.map((child) => child.exited));
    await Promise.all(engines.map((engine) => engine.stop()));
    await Promise.all(pools.map((pool) => pool.close()));
    await store.close();
    await db.close();
    await database.drop();
  });

  function runner(label: string, stallAt?: number): Child {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/projection-runner.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        RUNNER: label,
        BATCH_SIZE: String(BATCH),
        ...(stallAt === undefined ? {} : { STALL_AT: String(stallAt) }),
      },
    });
    const lines: string[] = [];
    const listeners = new Set<() => void>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      for (const listener of listeners) listener();
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const started: Child = {
      process: child,
      exited,
      printed: (line) =>
        new Promise((resolve, reject) => {
          const check = (): void => {
            if (!lines.includes(line)) return;
            listeners.delete(check);
            resolve();
          };
          listeners.add(check);
          check();
          void exited.then(([code]) => reject(new Error(`${label} exited (${code}) before printing ${line}: ${stderr}`)));
        }),
    };
    children.push(started);
    return started;
  }

  function engine(label: string): ProjectionEngine {
    const pool = createPgDatabase(database.url, { max: 4 });
    pools.push(pool);
    const created = createProjectionEngine({
      store,
      db: pool,
      projections: [countingProjection({ runner: label })],
      batchSize: BATCH,
      idlePollMs: 50,
      lockPollMs: 100,
      logger: quiet,
    });
    engines.push(created);
    return created;
  }

  test('a runner killed mid-batch leaves none of that batch, and after a restart every event is applied exactly once', async () => {
    const head = await appendMany(store, 300);
    // Stalls on its 120th event: two batches (100 events) committed, the third open with 19 applied.
    const first = runner('first', 120);
    await first.printed('stalled');
    assert.deepEqual(await countedState(db), { rows: 100, total: 100, doubled: 0, runners: { first: 100 } });
    first.process.kill('SIGKILL');
    assert.deepEqual(await first.exited, [null, 'SIGKILL']);
    assert.deepEqual(await countedState(db), { rows: 100, total: 100, doubled: 0, runners: { first: 100 } });

    const second = runner('second');
    await second.printed('started');
    const caughtUp = await eventually(
      async () => {
        const state = await countedState(db);
        return state.rows === 300 ? state : undefined;
      },
      { what: 'the restarted runner to catch up' },
    );
    second.process.kill('SIGTERM');
    assert.deepEqual(await second.exited, [0, null]);

    assert.deepEqual(caughtUp, { rows: 300, total: 300, doubled: 0, runners: { first: 100, second: 200 } });
    assert.deepEqual(await countedState(db), caughtUp);
    const { rows } = await db.query<{ position: string }>("SELECT position FROM projection_checkpoints WHERE name = 'counting'");
    assert.equal(rows[0]?.position, head);
  });

  test('of two engines only the lock holder applies; after it stops the other takes over and finishes', async () => {
    const first = engine('first');
    const second = engine('second');
    await first.start();
    await eventually(async () => ((await first.status())[0]?.state === 'live' ? true : undefined), { what: 'first live' });
    await second.start();
    const wave = await appendMany(store, 120);
    await first.waitForPosition(wave, { timeoutMs: 20_000 });
    await second.waitForPosition(wave, { timeoutMs: 20_000 });
    assert.equal((await second.status())[0]?.state, 'standby');
    assert.deepEqual(await countedState(db), { rows: 120, total: 120, doubled: 0, runners: { first: 120 } });

    // Rebuilding needs the lock too: the standby engine cannot, while the first one runs.
    await assert.rejects(
      createProjectionEngine({ store, db, projections: [countingProjection({ runner: 'x' })], rebuildLockTimeoutMs: 200, lockPollMs: 50 })
        .rebuild('counting'),
      ProjectionLockedError,
    );

    await first.stop();
    const secondWave = await appendMany(store, 80);
    await second.waitForPosition(secondWave, { timeoutMs: 20_000 });
    assert.equal((await second.status())[0]?.state, 'live');
    assert.deepEqual(await countedState(db), { rows: 200, total: 200, doubled: 0, runners: { first: 120, second: 80 } });
  });

  test('when the process holding the lock is killed mid-batch, a standby engine takes over and finishes', async () => {
    // The child applies the first wave (100 events), then stalls on its 120th: mid-way through the next batch.
    const child = runner('child', 120);
    await child.printed('started');
    await appendMany(store, 100);
    await eventually(async () => ((await countedState(db)).rows === 100 ? true : undefined), { what: 'the child to apply' });
    const standby = engine('parent');
    await standby.start();
    const head = await appendMany(store, 100);
    await child.printed('stalled');
    assert.equal((await standby.status())[0]?.state, 'standby');

    child.process.kill('SIGKILL');
    await child.exited;
    await standby.waitForPosition(head, { timeoutMs: 20_000 });
    assert.deepEqual(await countedState(db), { rows: 200, total: 200, doubled: 0, runners: { child: 100, parent: 100 } });
  });
});
