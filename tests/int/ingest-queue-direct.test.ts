// The embedded ingestion queue: submit resolves once the handler has appended, busy handlers get the submits that
// arrived meanwhile as one batch, and failures reach the route as the errors it maps (503 for an unavailable store).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreUnavailableError } from '../../infra/eventstore/errors.ts';
import { createDirectIngestQueue } from '../../infra/ingest/direct.ts';
import {
  IngestUnavailableError,
  UnknownIngestKindError,
  type IngestHandler,
  type IngestMessage,
} from '../../infra/ingest/port.ts';

function message(dedupKey: string, payload: IngestMessage['payload'] = {}): IngestMessage {
  return {
    kind: 'changes',
    tenant: 'acme',
    dedupKey,
    actor: { id: 'ci', kind: 'service', roles: ['ingest'] },
    receivedAt: new Date().toISOString(),
    payload,
  };
}

/** A handler that holds each batch until released, recording the batches. */
function gate(): { handler: IngestHandler; batches: string[][]; release(): void } {
  const batches: string[][] = [];
  let open!: () => void;
  let opened = new Promise<void>((resolve) => (open = resolve));
  return {
    batches,
    handler: async (messages) => {
      batches.push(messages.map((each) => each.dedupKey));
      await opened;
    },
    release() {
      open();
      opened = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

describe('direct ingestion queue', () => {
  test('submit resolves after the handler appended the message; depth is 0', async () => {
    const handled: string[] = [];
    const queue = createDirectIngestQueue({
      handlers: { changes: async (messages) => void handled.push(...messages.map((each) => each.dedupKey)) },
    });
    await queue.submit(message('deploy-1'));
    assert.deepEqual(handled, ['deploy-1']);
    assert.equal(await queue.depth(), 0);
    await queue.close();
  });

  test('submits arriving while the handler is busy are handled as the next batch, up to the batch size', async () => {
    const { handler, batches, release } = gate();
    const queue = createDirectIngestQueue({ handlers: { changes: handler }, maxBatchSize: 3 });
    const submitted = ['a', 'b', 'c', 'd', 'e'].map((key) => queue.submit(message(key)));
    assert.deepEqual(batches, [['a']], 'the first runs at once, alone');
    release();
    await submitted[0];
    await new Promise(setImmediate);
    assert.deepEqual(batches, [['a'], ['b', 'c', 'd']]);
    release();
    await Promise.all(submitted.slice(1, 4));
    release();
    await Promise.all(submitted);
    assert.deepEqual(batches, [['a'], ['b', 'c', 'd'], ['e']]);
    await queue.close();
  });

  test('an unavailable store is answered as IngestUnavailableError (503 with Retry-After)', async () => {
    const cause = new StoreUnavailableError('connection refused');
    const queue = createDirectIngestQueue({
      handlers: {
        changes: async () => {
          throw cause;
        },
      },
      retryAfterSeconds: 7,
    });
    const error = await queue.submit(message('x')).then(
      () => assert.fail('submit resolved'),
      (rejection: unknown) => rejection,
    );
    assert.ok(error instanceof IngestUnavailableError);
    assert.equal(error.retryAfterSeconds, 7);
    assert.equal(error.cause, cause);
    await queue.close();
  });

  test('a message its handler refuses fails alone; the others of its batch are appended', async () => {
    const { handler: held, release } = gate();
    const handled: string[] = [];
    let first = true;
    const queue = createDirectIngestQueue({
      handlers: {
        changes: async (messages) => {
          if (first) {
            first = false;
            return held(messages);
          }
          if (messages.some((each) => each.payload.bad === true)) throw new TypeError('unreadable');
          handled.push(...messages.map((each) => each.dedupKey));
        },
      },
    });
    // While the first is held, the other three queue up as one batch.
    const submitted = [message('first'), message('ok-1'), message('bad', { bad: true }), message('ok-2')].map((each) =>
      queue.submit(each),
    );
    release();
    const results = await Promise.allSettled(submitted);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok((results[2] as PromiseRejectedResult).reason instanceof TypeError);
    assert.deepEqual(handled, ['ok-1', 'ok-2']);
    await queue.close();
  });

  test('a kind without a handler is refused; after close every submit is refused with 503', async () => {
    const { handler, release } = gate();
    const queue = createDirectIngestQueue({ handlers: { changes: handler } });
    await assert.rejects(queue.submit({ ...message('x'), kind: 'toString' }), UnknownIngestKindError);
    const inFlight = queue.submit(message('in-flight'));
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await assert.rejects(queue.submit(message('late')), IngestUnavailableError);
    await new Promise(setImmediate);
    assert.equal(closed, false, 'close waits for the message in flight');
    release();
    await inFlight;
    await closing;
  });
});
