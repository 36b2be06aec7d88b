import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createNatsBus } from '../../infra/bus/nats.ts';
import type { Bus, BusListener, BusMessage } from '../../infra/bus/port.ts';
import type { StoredEvent } from '../../infra/eventstore/port.ts';
import { NATS_TEST_URL } from '../support/services.ts';
import { eventually, natsSkip, newEvent, uniqueSubjectPrefix } from './live-support.ts';

const skip = await natsSkip();

function storedEvent(tenant: string, streamId: string, type: string, position: number): StoredEvent {
  const { id, data, metadata } = newEvent(tenant, type, { n: position });
  return {
    id,
    type,
    data,
    streamId: `${tenant}/${streamId}`,
    revision: BigInt(position),
    position: String(position).padStart(12, '0'),
    recordedAt: new Date(),
    metadata: { ...metadata, prevHash: '', hash: 'h' },
  };
}

function recorder(): BusListener & { messages: BusMessage[]; resets: number } {
  return {
    messages: [],
    resets: 0,
    onMessage(message) {
      this.messages.push(message);
    },
    onReset() {
      this.resets++;
    },
  };
}

describe('NATS bus', { skip }, () => {
  const prefix = uniqueSubjectPrefix();
  let instanceA: Bus;
  let instanceB: Bus;

  before(async () => {
    instanceA = await createNatsBus({ url: NATS_TEST_URL, subjectPrefix: prefix, name: 'bus-test-a' });
    instanceB = await createNatsBus({ url: NATS_TEST_URL, subjectPrefix: prefix, name: 'bus-test-b' });
  });
  after(async () => {
    await instanceA?.close();
    await instanceB?.close();
  });

  test('messages published on one connection reach a subscriber on another, decoded and in order', async () => {
    const listener = recorder();
    const subscription = await instanceB.subscribe('acme', listener);
    const sent = Array.from({ length: 50 }, (_, i) => ({
      event: storedEvent('acme', 'incident-1', 'Incident.Noted', i + 1),
      prevPosition: i === 0 ? '' : String(i).padStart(12, '0'),
    }));
    for (const message of sent) instanceA.publish(message);
    await eventually(() => listener.messages.length >= sent.length, () => `${listener.messages.length} received`);
    assert.deepEqual(listener.messages, sent);
    await subscription.close();
  });

  test("a tenant's subscribers see nothing of another tenant", async () => {
    const acme = recorder();
    const globex = recorder();
    const subscriptions = [await instanceB.subscribe('acme', acme), await instanceB.subscribe('globex', globex)];
    instanceA.publish({ event: storedEvent('globex', 'incident-2', 'IncidentDeclared', 100), prevPosition: '' });
    instanceA.publish({ event: storedEvent('acme', 'incident-3', 'IncidentDeclared', 101), prevPosition: '' });
    await eventually(() => acme.messages.length === 1 && globex.messages.length === 1, () => 'one message each');
    assert.equal(acme.messages[0]?.event.streamId, 'acme/incident-3');
    assert.equal(globex.messages[0]?.event.streamId, 'globex/incident-2');
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  test('every listener of a tenant gets every message, and a closed one no more', async () => {
    const listeners = Array.from({ length: 100 }, recorder);
    const subscriptions = await Promise.all(listeners.map((l) => instanceB.subscribe('acme', l)));
    instanceA.publish({ event: storedEvent('acme', 'incident-4', 'IncidentDeclared', 200), prevPosition: '' });
    await eventually(() => listeners.every((l) => l.messages.length === 1), () => 'all 100 listeners got it');
    await subscriptions[0]?.close();
    instanceA.publish({ event: storedEvent('acme', 'incident-4', 'IncidentAcknowledged', 201), prevPosition: '' });
    await eventually(() => listeners.slice(1).every((l) => l.messages.length === 2), () => 'the other 99 got it');
    assert.equal(listeners[0]?.messages.length, 1);
    await Promise.all(subscriptions.slice(1).map((s) => s.close()));
  });

  test('a reset published by one instance reaches the listeners of every instance', async () => {
    const onA = recorder();
    const onB = recorder();
    const subscriptions = [await instanceA.subscribe('acme', onA), await instanceB.subscribe('globex', onB)];
    instanceA.publishReset();
    await eventually(() => onA.resets === 1 && onB.resets === 1, () => `resets ${onA.resets}/${onB.resets}`);
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  test('closing drains: what was published just before close is delivered', async () => {
    const listener = recorder();
    const subscription = await instanceB.subscribe('acme', listener);
    const closing = await createNatsBus({ url: NATS_TEST_URL, subjectPrefix: prefix, name: 'bus-test-closing' });
    closing.publish({ event: storedEvent('acme', 'incident-5', 'IncidentDeclared', 300), prevPosition: '' });
    await closing.close();
    await eventually(() => listener.messages.length === 1, () => 'the message sent before close');
    assert.throws(() => closing.publish({ event: storedEvent('acme', 'incident-5', 'X', 301), prevPosition: '' }));
    await subscription.close();
  });
});
