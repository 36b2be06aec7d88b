// The embedded backend's data directory: one process at a time (a real second process is refused with a clear
// error, and gets in once the first closes), stale locks of dead processes are taken over, and events persist.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCK_FILE_NAME } from '../../infra/embedded-lock.ts';
import { createEmbeddedEventStore, openEmbeddedDatabase } from '../../infra/eventstore/embedded.ts';
import { DataDirectoryLockedError } from '../../infra/eventstore/errors.ts';
import { verifyStream } from '../../infra/eventstore/hash-chain.ts';
import { collect, events, newStream, newTenant } from '../contract/eventstore.ts';

const CHILD = fileURLToPath(new URL('./eventstore-embedded-child.ts', import.meta.url));
const directories: string[] = [];
const newDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'eventstore-embedded-'));
  directories.push(dir);
  return dir;
};

interface ChildReport {
  opened?: boolean;
  closed?: boolean;
  pid?: number;
  error?: string;
  message?: string;
}

/** Starts the child on `dataDir`; `reports` yields its JSON lines as they come. */
function startChild(dataDir: string, mode?: 'hold'): { child: ChildProcessWithoutNullStreams; reports: AsyncIterator<ChildReport> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, ...(mode ? [mode] : [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const reports: AsyncIterator<ChildReport> = {
    async next() {
      const line = await lines.next();
      return line.done ? { done: true, value: undefined } : { done: false, value: JSON.parse(line.value) as ChildReport };
    },
  };
  return { child, reports };
}

async function report(reports: AsyncIterator<ChildReport>): Promise<ChildReport> {
  const next = await reports.next();
  assert.ok(!next.done, 'the child exited without reporting');
  return next.value;
}

describe('embedded data directory', () => {
  after(() => {
    for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  });

  test('a second process is refused while the first has it open, and gets in after it closes', async () => {
    const dataDir = newDataDir();
    const db = await openEmbeddedDatabase(dataDir);
    let closed = false;
    try {
      const refused = await report(startChild(dataDir).reports);
      assert.equal(refused.error, 'DataDirectoryLockedError');
      assert.ok(refused.message?.includes(db.dataDir), `the message names the directory: ${refused.message}`);
      assert.ok(refused.message?.includes(`process ${process.pid}`), `the message names the owner: ${refused.message}`);
      await db.close();
      closed = true;
      assert.equal(existsSync(join(dataDir, LOCK_FILE_NAME)), false, 'closing removes the lock file');
      const { reports } = startChild(dataDir);
      assert.deepEqual((await report(reports)).opened, true);
      assert.deepEqual(await report(reports), { closed: true });
    } finally {
      if (!closed) await db.close();
    }
  });

  test('a directory held by another process is refused here; once that process dies, its stale lock is taken over', async () => {
    const dataDir = newDataDir();
    const { child, reports } = startChild(dataDir, 'hold');
    try {
      const opened = await report(reports);
      assert.equal(opened.opened, true);
      await assert.rejects(openEmbeddedDatabase(dataDir), (error: unknown) => {
        assert.ok(error instanceof DataDirectoryLockedError);
        assert.match(error.message, new RegExp(`process ${opened.pid}`));
        return true;
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      assert.equal(readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8').trim(), String(opened.pid), 'the dead owner left its lock');
      const db = await openEmbeddedDatabase(dataDir);
      await db.close();
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('the same process cannot open a directory twice', async () => {
    const dataDir = newDataDir();
    const db = await openEmbeddedDatabase(dataDir);
    try {
      await assert.rejects(openEmbeddedDatabase(dataDir), DataDirectoryLockedError);
    } finally {
      await db.close();
    }
  });

  test('a lock file without a pid is taken over', async () => {
    const dataDir = newDataDir();
    writeFileSync(join(dataDir, LOCK_FILE_NAME), '');
    const db = await openEmbeddedDatabase(dataDir);
    assert.equal(readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8').trim(), String(process.pid));
    await db.close();
  });

  test('events persist across close and reopen, hash chain intact', async () => {
    const dataDir = newDataDir();
    const tenant = newTenant();
    const streamId = newStream(tenant);
    const batch = events(tenant, 5);
    const first = await openEmbeddedDatabase(dataDir);
    const store = await createEmbeddedEventStore(first);
    const result = await store.append(streamId, batch, { expectedRevision: 'no_stream' });
    await store.close();
    await first.close();

    const second = await openEmbeddedDatabase(dataDir);
    const reopened = await createEmbeddedEventStore(second);
    try {
      const stored = await collect(reopened.readStream(streamId));
      assert.deepEqual(stored.map((event) => event.id), batch.map((event) => event.id));
      assert.equal(stored[4]?.position, result.position);
      assert.equal((await verifyStream(stored)).ok, true);
      const next = await reopened.append(streamId, events(tenant, 1), { expectedRevision: 4n });
      assert.ok(next.position > result.position);
    } finally {
      await reopened.close();
      await second.close();
    }
  });
});
