// Helpers shared by the live delivery and bus tests.
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import type { JsonObject, NewEvent } from '../../infra/eventstore/port.ts';
import { NATS_TEST_URL, serviceSkip } from '../support/services.ts';

export function natsSkip(): Promise<false | string> {
  return serviceSkip('nats', async () => {
    const connection = await connect({ servers: NATS_TEST_URL, timeout: 2000, maxReconnectAttempts: 0 });
    await connection.close();
  });
}

/** CI reuses the NATS server: each run gets subjects of its own. */
export function uniqueSubjectPrefix(): string {
  return `test_${randomBytes(6).toString('hex')}.events`;
}

export function newEvent(tenantId: string, type: string, data: JsonObject = {}): NewEvent {
  const id = randomUUID();
  return {
    id,
    type,
    data,
    metadata: {
      tenantId,
      actor: { id: 'tester', kind: 'user', roles: ['responder'] },
      correlationId: id,
      causationId: id,
      schemaVersion: 1,
    },
  };
}

/** Polls `condition` until it holds; fails with `describe()` after the deadline. */
export async function eventually(condition: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(5);
  }
}

/** The next `count` items, failing (not hanging) if they do not arrive in time. */
export async function take<T>(iterator: AsyncIterator<T>, count: number, timeoutMs = 10_000): Promise<T[]> {
  const items: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (items.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`received ${items.length} of ${count} items within ${timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      const result = await Promise.race([iterator.next(), expired]);
      if (result.done === true) throw new Error(`iterator ended after ${items.length} of ${count} items`);
      items.push(result.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return items;
}
