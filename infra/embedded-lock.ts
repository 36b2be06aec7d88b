// One process at a time may open an embedded data directory: two PGlite instances on the same files corrupt them.
// The lock is a file created atomically (link(2) fails if it exists) holding the owner's pid. A lock whose pid is no
// longer running is stale (the owner crashed) and is taken over; taking over is itself guarded by a second exclusive
// file, so two processes finding the same stale lock cannot both win.
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataDirectoryLockedError } from './eventstore/errors.ts';

export const LOCK_FILE_NAME = 'LOCK';

export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

/** Lock files held by this process, so opening the same directory twice in one process is refused too. */
const held = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in a lock file, undefined if the file is gone; NaN when it holds no pid. */
function ownerOf(path: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(path, 'utf8').split('\n')[0] ?? '', 10);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Creates `path` holding our pid, or returns false if it exists. The pid is written to a private file first and
 * linked into place, so a lock file is never seen empty: an empty or garbled one is left over from something else.
 */
function createExclusive(path: string): boolean {
  const draft = `${path}.${process.pid}.draft`;
  writeFileSync(draft, `${process.pid}\n`);
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(draft);
  }
}

function removeIfOwnedBy(path: string, pid: number): void {
  // Object.is: an unreadable lock's owner is NaN, which must match itself.
  if (!Object.is(ownerOf(path), pid)) return;
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** A pid that cannot be the live owner: dead, unreadable, or our own pid reused after a restart (e.g. pid 1 in a container). */
function isStale(pid: number | undefined, path: string): boolean {
  if (pid === undefined) return false;
  if (!Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return !held.has(path);
  return !isRunning(pid);
}

function lockedError(dir: string, path: string, pid: number): DataDirectoryLockedError {
  return new DataDirectoryLockedError(
    `data directory ${dir} is in use by process ${pid} (lock file ${path}); ` +
      'stop that process or point DATA_DIR at another directory',
  );
}

/** Takes the lock of `dir` (which must exist) or throws DataDirectoryLockedError naming the directory and the owner. */
export function lockDirectory(dir: string): DirectoryLock {
  const absolute = resolve(dir);
  const path = join(absolute, LOCK_FILE_NAME);
  const takeover = `${path}.takeover`;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (createExclusive(path)) {
      held.add(path);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        held.delete(path);
        process.off('exit', release);
        removeIfOwnedBy(path, process.pid);
      };
      // A process that exits without closing leaves no stale lock behind.
      process.on('exit', release);
      return { path, release };
    }
    const owner = ownerOf(path);
    if (owner !== undefined && !isStale(owner, path)) throw lockedError(absolute, path, owner);
    if (owner === undefined) continue;
    if (!createExclusive(takeover)) {
      // Someone else is taking over; if they died doing so, clear their marker and look again.
      const taker = ownerOf(takeover);
      if (isStale(taker, takeover) && taker !== undefined) removeIfOwnedBy(takeover, taker);
      continue;
    }
    try {
      // Re-read under the takeover marker: only the lock we judged stale may be removed.
      removeIfOwnedBy(path, owner);
    } finally {
      removeIfOwnedBy(takeover, process.pid);
    }
  }
  const owner = ownerOf(path);
  throw lockedError(absolute, path, owner ?? Number.NaN);
}
