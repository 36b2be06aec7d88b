// A subscriber that stops reading its socket while the log grows by far more than the network can hold must not make
// the server buffer what it cannot send. Observed on the server's own TCP socket: its user-space write queue (what
// Node holds beyond what the kernel took) stays at about one message, and the bytes handed to the kernel stop far
// short of what was appended, so the rest was neither sent nor queued in the socket. The subscription waits for each
// send to complete before taking the next event, and its bus buffer is bounded: what overflows is re-read from the
// store once the client reads again, so it then receives every event once and in order.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { NewEvent } from '../../infra/eventstore/port.ts';
import { qualify } from '../../infra/eventstore/stream-name.ts';
import { eventually, natsSkip, newEvent } from '../int/live-support.ts';
import { postgresSkip } from '../support/services.ts';
import { subscribe } from './support/graphql.ts';
import { startPlatform, type Platform } from './support/platform.ts';
import type { TestServer } from './support/server.ts';
import { connect, disposeClients } from './support/subscriptions.ts';

const skip = (await postgresSkip()) || (await natsSkip());

const EVENT_COUNT = 1_000;
const PAYLOAD_BYTES = 32 * 1024;
const BATCH = 100;
/** One `next` message carries one event: its payload and the envelope around it. */
const MESSAGE_BYTES = PAYLOAD_BYTES + 1024;

interface Envelope {
  cursor: string;
  revision: number;
  type: string;
}

const EVENTS = `subscription Load($prefix: String, $types: [String!]) {
  events(after: "", streamPrefix: $prefix, types: $types) { cursor revision type data }
}`;

describe('backpressure of a subscriber that does not read', { skip }, () => {
  let platform: Platform;
  let server: TestServer;
  const upgraded: Socket[] = [];

  before(async () => {
    platform = await startPlatform('postgres', 'subscription_backpressure', { nats: true });
    server = await platform.start();
    // The server side of every WebSocket, as the HTTP server hands it to the WebSocket server.
    server.server.app.server.on('upgrade', (_request, socket) => {
      assert.ok(socket instanceof Socket);
      upgraded.push(socket);
    });
  });

  after(async () => {
    await disposeClients();
    await platform?.close();
  });

  test('the server holds about one message for a stalled socket, sends nothing more, and loses nothing', { timeout: 120_000 }, async () => {
    const streamId = `load-${randomUUID()}`;
    const payload = 'x'.repeat(PAYLOAD_BYTES);
    const append = (events: NewEvent[]) =>
      server.server.services.eventStore.append(qualify('acme', streamId), events, { expectedRevision: 'any' });
    await append([newEvent('acme', 'LoadGenerated', { index: 0, payload })]);

    const connection = await connect(server.wsUrl, { token: server.token({ roles: ['viewer'] }) });
    assert.ok('client' in connection, JSON.stringify(connection));
    const serverSocket = upgraded.at(-1) as Socket;
    const feed = subscribe<{ events: Envelope }>(connection.client, EVENTS, { prefix: streamId });
    assert.equal((await feed.next()).events.revision, 0);
    // A second, reading subscriber of the same instance hears of the end of the load, and with it (the instance's
    // bus hands each message to every subscription in turn) the stalled one has been offered everything before.
    const watcher = await connect(server.wsUrl, { token: server.token({ roles: ['viewer'] }) });
    assert.ok('client' in watcher, JSON.stringify(watcher));
    const finish = subscribe<{ events: Envelope }>(watcher.client, EVENTS, { prefix: streamId, types: ['LoadFinished'] });

    // The client stops reading: its receive buffer fills, then the server's send buffer in the kernel.
    connection.socket.pause();
    let mostQueued = 0;
    const sample = setInterval(() => (mostQueued = Math.max(mostQueued, serverSocket.writableLength)), 2);
    try {
      for (let index = 1; index < EVENT_COUNT; index += BATCH) {
        const count = Math.min(BATCH, EVENT_COUNT - index);
        await append(Array.from({ length: count }, (_, offset) => newEvent('acme', 'LoadGenerated', { index: index + offset, payload })));
      }
      await append([newEvent('acme', 'LoadFinished')]);
      assert.equal((await finish.next()).events.revision, EVENT_COUNT);
      // A message waiting in Node's queue means the kernel took all it would: the server is blocked on the send.
      await eventually(
        () => serverSocket.writableLength > 0,
        () => `the server's socket never backed up (${serverSocket.bytesWritten} bytes written)`,
        30_000,
      );
    } finally {
      clearInterval(sample);
    }
    const handedToKernel = serverSocket.bytesWritten - serverSocket.writableLength;
    const appendedBytes = EVENT_COUNT * PAYLOAD_BYTES;
    assert.ok(mostQueued <= 2 * MESSAGE_BYTES, `the server queued ${mostQueued} bytes for a socket that does not read`);
    assert.ok(handedToKernel < appendedBytes / 2, `${handedToKernel} of ${appendedBytes} bytes were sent to a stalled client`);

    // Reading again, the client gets every event once and in order: what overflowed was re-read from the store.
    connection.socket.resume();
    const revisions: number[] = [];
    let previous = '';
    while (revisions.length < EVENT_COUNT) {
      const { cursor, revision } = (await feed.next()).events;
      assert.ok(cursor > previous, `cursor ${cursor} after ${previous}`);
      previous = cursor;
      revisions.push(revision);
    }
    assert.deepEqual(revisions, Array.from({ length: EVENT_COUNT }, (_, index) => index + 1));
    await Promise.all([feed.close(), finish.close()]);
  });
});
