// The JetStream ingestion queue against a real NATS server: batches, deduplication by message id, redelivery while
// the store is down, work shared by instances, shutdown, and 503 when NATS cannot be reached. Each test gets a
// subject prefix (so a stream and a consumer) of its own, deleted afterwards.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager, type ConsumerInfo } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { after, describe, test } from 'node:test';
import { StoreUnavailableError } from '../../infra/eventstore/errors.ts';
import {
  createJetStreamIngestQueue,
  ingestStreamName,
  INGEST_CONSUMER,
  type IngestLogger,
  type JetStreamIngestTuning,
} from '../../infra/ingest/jetstream.ts';
import {
  IngestUnavailableError,
  UnknownIngestKindError,
  type IngestHandlers,
  type IngestMessage,
  type IngestQueue,
} from '../../infra/ingest/port.ts';
import { deleteIngestStream } from '../support/ingest-stream.ts';
import { NATS_TEST_URL } from '../support/services.ts';
import { eventually, natsSkip, uniqueSubjectPrefix } from './live-support.ts';

const skip = await natsSkip();

function message(kind: string, dedupKey: string, payload: IngestMessage['payload'] = {}): IngestMessage {
  return {
    kind,
    tenant: 'acme',
    dedupKey,
    actor: { id: 'alertmanager', kind: 'service', roles: ['ingest'] },
    receivedAt: new Date().toISOString(),
    payload,
  };
}

/** Handler batches as they were called, and the dedup keys handled successfully, in order. */
class Recorder {
  readonly batches: { kind: string; keys: string[] }[] = [];
  readonly handled: string[] = [];

  /** `before` runs first in every call: it may throw (the batch fails) or wait. */
  handlers(
    kinds: readonly string[],
    before: (batch: readonly IngestMessage[]) => void | Promise<void> = () => undefined,
  ): IngestHandlers {
    return Object.fromEntries(
      kinds.map((kind) => [
        kind,
        async (messages: readonly IngestMessage[]) => {
          this.batches.push({ kind, keys: messages.map((each) => each.dedupKey) });
          await before(messages);
          this.handled.push(...messages.map((each) => each.dedupKey));
        },
      ]),
    );
  }

  count(key: string): number {
    return this.handled.filter((each) => each === key).length;
  }
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(10);
  }
}

/** Every message acked: nothing pending in the stream nor in anybody's hands. */
function drained(queue: IngestQueue): Promise<void> {
  return until(async () => (await queue.depth()) === 0, 'depth 0');
}

async function consumerInfo(prefix: string): Promise<ConsumerInfo> {
  const nats = await connect({ servers: NATS_TEST_URL });
  try {
    return await (await jetstreamManager(nats)).consumers.info(ingestStreamName(prefix), INGEST_CONSUMER);
  } finally {
    await nats.close();
  }
}

const quietLogger: IngestLogger = { warn: () => undefined, error: () => undefined };

describe('JetStream ingestion queue', { skip }, () => {
  const prefixes: string[] = [];
  const queues: IngestQueue[] = [];

  async function open(
    handlers: IngestHandlers,
    options: { prefix?: string; tuning?: Partial<JetStreamIngestTuning> } = {},
  ): Promise<{ queue: IngestQueue; prefix: string }> {
    const prefix = options.prefix ?? uniqueSubjectPrefix();
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    const queue = await createJetStreamIngestQueue({
      url: NATS_TEST_URL,
      subjectPrefix: prefix,
      handlers,
      tuning: { retryInitialMs: 50, retryMaxMs: 200, ...options.tuning },
      logger: quietLogger,
    });
    queues.push(queue);
    return { queue, prefix };
  }

  after(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    for (const prefix of prefixes) {
      assert.equal(await deleteIngestStream(NATS_TEST_URL, prefix), true, `stream of ${prefix} was there`);
      assert.equal(await deleteIngestStream(NATS_TEST_URL, prefix), false, `stream of ${prefix} is gone`);
    }
  });

  test('submitted messages reach their handler in batches of one kind, each message once', async () => {
    const recorder = new Recorder();
    const { queue } = await open(recorder.handlers(['alertmanager', 'changes']), { tuning: { batchSize: 100 } });
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((key, i) => queue.submit(message(i % 4 === 0 ? 'changes' : 'alertmanager', key))));
    await eventually(() => recorder.handled.length >= keys.length, () => `${recorder.handled.length} handled`);
    await drained(queue);
    assert.deepEqual([...recorder.handled].sort(), [...keys].sort());
    assert.ok(recorder.batches.every((batch) => batch.keys.length <= 100), 'no batch above batchSize');
    assert.ok(recorder.batches.length < keys.length / 4, `${recorder.batches.length} handler calls for ${keys.length}`);
    for (const batch of recorder.batches) {
      const changes = batch.keys.filter((key) => Number(key.slice(1)) % 4 === 0).length;
      assert.equal(changes, batch.kind === 'changes' ? batch.keys.length : 0, 'each batch holds one kind');
    }
    await drained(queue);
  });

  test('a message submitted again with the same dedup key (a retried POST) is handled once', async () => {
    const recorder = new Recorder();
    const { queue } = await open(recorder.handlers(['alertmanager', 'events-v2']));
    await queue.submit(message('alertmanager', 'group-1'));
    await Promise.all([1, 2, 3].map(() => queue.submit(message('alertmanager', 'group-1'))));
    // The same key of another kind is another message.
    await queue.submit(message('events-v2', 'group-1'));
    await queue.submit(message('alertmanager', 'after'));
    await eventually(() => recorder.count('after') === 1, () => `handled ${recorder.handled.join(',')}`);
    await eventually(() => recorder.handled.length === 3, () => `handled ${recorder.handled.join(',')}`);
    assert.equal(recorder.count('group-1'), 2);
    assert.deepEqual(
      recorder.batches.flatMap((batch) => batch.keys.map((key) => `${batch.kind}:${key}`)).sort(),
      ['alertmanager:after', 'alertmanager:group-1', 'events-v2:group-1'],
    );
  });

  test('while the store is unavailable, batches are redelivered later: nothing lost, nothing appended twice', async () => {
    const recorder = new Recorder();
    let failures = 0;
    const { queue } = await open(
      recorder.handlers(['alertmanager'], () => {
        if (failures < 3) {
          failures++;
          throw new StoreUnavailableError('connection refused');
        }
      }),
    );
    const keys = Array.from({ length: 50 }, (_, i) => `down-${i}`);
    // Accepted (202) while the store is down: the stream holds them.
    await Promise.all(keys.map((key) => queue.submit(message('alertmanager', key))));
    await eventually(() => recorder.handled.length >= keys.length, () => `${recorder.handled.length} handled`);
    await drained(queue);
    assert.equal(failures, 3);
    assert.deepEqual([...recorder.handled].sort(), [...keys].sort());
  });

  test('a message its handler refuses fails alone; the rest of its batch is appended', async () => {
    const recorder = new Recorder();
    let poisonAttempts = 0;
    const { queue } = await open(
      recorder.handlers(['alertmanager'], (batch) => {
        if (batch.some((each) => each.payload.poison === true)) {
          poisonAttempts++;
          throw new TypeError('cannot read the notification');
        }
      }),
      { tuning: { batchWaitMs: 200 } },
    );
    const keys = Array.from({ length: 20 }, (_, i) => `fine-${i}`);
    await Promise.all([
      ...keys.map((key) => queue.submit(message('alertmanager', key))),
      queue.submit(message('alertmanager', 'poison', { poison: true })),
    ]);
    await eventually(() => recorder.handled.length >= keys.length, () => `${recorder.handled.length} handled`);
    // Kept and retried (an operator may fix the handler), never appended.
    await eventually(() => poisonAttempts >= 3, () => `poison tried ${poisonAttempts} times`);
    assert.deepEqual([...recorder.handled].sort(), [...keys].sort());
    assert.ok((await queue.depth()) >= 1, 'the poison message is still in the stream');
  });

  test('instances sharing the prefix share the work: every message is handled by exactly one of them', async () => {
    const first = new Recorder();
    const second = new Recorder();
    const tuning = { batchSize: 10 };
    const a = await open(first.handlers(['alertmanager']), { tuning });
    const b = await open(second.handlers(['alertmanager']), { prefix: a.prefix, tuning });
    const keys = Array.from({ length: 600 }, (_, i) => `shared-${i}`);
    await Promise.all(keys.map((key, i) => (i % 2 === 0 ? a.queue : b.queue).submit(message('alertmanager', key))));
    const handled = () => first.handled.length + second.handled.length;
    await eventually(() => handled() >= keys.length, () => `${handled()} handled`);
    await drained(a.queue);
    assert.deepEqual([...first.handled, ...second.handled].sort(), [...keys].sort());
    assert.ok(first.handled.length > 0 && second.handled.length > 0, `${first.handled.length} / ${second.handled.length}`);
  });

  test('close finishes the batch in hand and hands the messages it did not take back to the other instances', async () => {
    const first = new Recorder();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inHand = false;
    const tuning = { batchSize: 5 };
    const a = await open(
      first.handlers(['alertmanager'], async () => {
        inHand = true;
        await released;
      }),
      { tuning },
    );
    const keys = Array.from({ length: 40 }, (_, i) => `drain-${i}`);
    await Promise.all(keys.map((key) => a.queue.submit(message('alertmanager', key))));
    await eventually(() => inHand, () => 'a batch in hand');
    // Everything delivered to the first instance: a message on the wire when it unsubscribes would only come back
    // after ack_wait.
    await until(async () => (await consumerInfo(a.prefix)).num_pending === 0, 'all delivered');
    const closing = a.queue.close();
    release();
    await closing;
    assert.equal(first.batches.length, 1, 'only the batch in hand was finished');

    // ack_wait is a minute: the rest arrives within the deadline only because it was handed back.
    const second = new Recorder();
    await open(second.handlers(['alertmanager']), { prefix: a.prefix, tuning });
    await eventually(
      () => first.handled.length + second.handled.length >= keys.length,
      () => `${first.handled.length} + ${second.handled.length} handled`,
    );
    assert.deepEqual([...first.handled, ...second.handled].sort(), [...keys].sort());
  });

  test('when JetStream cannot store the message (its stream is gone), submit rejects with IngestUnavailableError', async () => {
    const { queue, prefix } = await open(new Recorder().handlers(['alertmanager']));
    await queue.submit(message('alertmanager', 'before'));
    assert.equal(await deleteIngestStream(NATS_TEST_URL, prefix), true);
    prefixes.splice(prefixes.indexOf(prefix), 1);
    await assert.rejects(queue.submit(message('alertmanager', 'after')), IngestUnavailableError);
    await assert.rejects(queue.depth(), IngestUnavailableError);
  });

  test('a kind without a handler is refused at submit', async () => {
    const { queue } = await open(new Recorder().handlers(['alertmanager']));
    await assert.rejects(queue.submit(message('prometheus', 'x')), UnknownIngestKindError);
    await assert.rejects(queue.submit(message('constructor', 'x')), UnknownIngestKindError);
  });
});

describe('JetStream ingestion queue without NATS', () => {
  test('submit and depth reject with IngestUnavailableError (503) while NATS cannot be reached', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const queue = await createJetStreamIngestQueue({
      url: `nats://127.0.0.1:${closedPort}`,
      subjectPrefix: uniqueSubjectPrefix(),
      handlers: new Recorder().handlers(['alertmanager']),
      logger: quietLogger,
    });
    try {
      const error = await queue.submit(message('alertmanager', 'x')).then(
        () => assert.fail('submit resolved'),
        (rejection: unknown) => rejection,
      );
      assert.ok(error instanceof IngestUnavailableError, String(error));
      assert.ok(error.retryAfterSeconds > 0);
      await assert.rejects(queue.depth(), IngestUnavailableError);
    } finally {
      await queue.close();
    }
  });
});
