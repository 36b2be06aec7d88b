// Silences over GraphQL on the embedded server: who may create them, refused input by code, pending / active /
// expired by the clock (a silence expires on time with nothing appended), expiring by hand, and the tenant wall.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from './support/alerts.ts';
import { codes, data, graphql } from './support/graphql.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const CREATE = `mutation($input: CreateSilenceInput!) {
  createSilence(input: $input) { silence { id matchers { name op value } startsAt endsAt createdBy comment status } cursor } }`;
const LIST = 'query($active: Boolean) { silences(active: $active) { id status } }';

interface SilenceView {
  id: string;
  status: string;
}

describe('silences over GraphQL (embedded)', () => {
  let server: TestServer;
  const in_ = (ms: number) => new Date(Date.now() + ms).toISOString();

  before(async () => {
    server = await startTestServer('embedded', 'silences');
  });

  after(async () => {
    await server?.close();
  });

  const tokens = (tenant: string) => ({
    responder: server.token({ sub: 'rita', tenant, roles: ['responder'] }),
    viewer: server.token({ sub: 'vic', tenant, roles: ['viewer'] }),
  });

  async function list(token: string, active: boolean | null): Promise<SilenceView[]> {
    return (await data<{ silences: SilenceView[] }>(server.url, token, LIST, { active })).silences;
  }

  test('a responder creates a silence with regex matchers; it is listed as active to its tenant only', async () => {
    const { responder, viewer } = tokens('sil-create');
    const input = { matchers: [{ name: 'alertname', op: '=~', value: 'Disk.*|Memory.*' }], endsAt: in_(3_600_000), comment: 'noisy' };
    const created = await data<{ createSilence: { silence: Record<string, unknown> & { id: string } } }>(server.url, responder, CREATE, { input });
    const { silence } = created.createSilence;
    assert.deepEqual(silence.matchers, input.matchers);
    assert.equal(silence.createdBy, 'rita');
    assert.equal(silence.comment, 'noisy');
    assert.equal(silence.status, 'ACTIVE');
    assert.deepEqual(await eventually(() => list(viewer, true), (found) => found.length === 1), [{ id: silence.id, status: 'ACTIVE' }]);
    assert.deepEqual(await list(tokens('sil-other').viewer, null), []);
  });

  test('a viewer may not create a silence', async () => {
    const { viewer } = tokens('sil-forbidden');
    const answer = await graphql(server.url, viewer, CREATE, { input: { service: 'checkout', endsAt: in_(60_000) } });
    assert.deepEqual(codes(answer), ['FORBIDDEN']);
  });

  test('bad matchers and ranges are BAD_USER_INPUT; an unknown silence is NOT_FOUND', async () => {
    const { responder } = tokens('sil-refused');
    const refused = async (input: Record<string, unknown>) => codes(await graphql(server.url, responder, CREATE, { input }));
    assert.deepEqual(await refused({ matchers: [{ name: 'a', op: '=~', value: '(a)\\1' }], endsAt: in_(60_000) }), ['BAD_USER_INPUT']);
    assert.deepEqual(await refused({ matchers: [{ name: 'a', op: '~', value: 'x' }], endsAt: in_(60_000) }), ['BAD_USER_INPUT']);
    assert.deepEqual(await refused({ matchers: [], endsAt: in_(60_000) }), ['BAD_USER_INPUT']);
    assert.deepEqual(await refused({ service: 'checkout', startsAt: in_(120_000), endsAt: in_(60_000) }), ['BAD_USER_INPUT']);
    const unknown = await graphql(server.url, responder, 'mutation { expireSilence(id: "no-such-silence") { cursor } }');
    assert.deepEqual(codes(unknown), ['NOT_FOUND']);
  });

  test('a silence is pending before its start and expires at its end by the clock alone', async () => {
    const { responder } = tokens('sil-clock');
    const later = await data<{ createSilence: { silence: { id: string } } }>(server.url, responder, CREATE, {
      input: { service: 'later', startsAt: in_(3_600_000), endsAt: in_(7_200_000) },
    });
    const short = await data<{ createSilence: { silence: { id: string } } }>(server.url, responder, CREATE, {
      input: { service: 'now', endsAt: in_(3_000) },
    });
    const { id } = short.createSilence.silence;
    const laterId = later.createSilence.silence.id;
    const pending = await eventually(() => list(responder, false), (found) => found.some((each) => each.id === laterId));
    assert.equal(pending.find((each) => each.id === laterId)?.status, 'PENDING');
    const ended = await eventually(() => list(responder, false), (found) => found.some((each) => each.id === id));
    assert.equal(ended.find((each) => each.id === id)?.status, 'EXPIRED');
    assert.deepEqual(await list(responder, true), []);
  });

  test('expiring a silence ends it now; expiring it again changes nothing', async () => {
    const { responder } = tokens('sil-expire');
    const created = await data<{ createSilence: { silence: { id: string } } }>(server.url, responder, CREATE, {
      input: { service: 'checkout', endsAt: in_(3_600_000) },
    });
    const expire = `mutation($id: ID!) { expireSilence(id: $id) { silence { status } cursor } }`;
    const variables = { id: created.createSilence.silence.id };
    const first = await data<{ expireSilence: { silence: { status: string }; cursor: string } }>(server.url, responder, expire, variables);
    assert.equal(first.expireSilence.silence.status, 'EXPIRED');
    const again = await data<{ expireSilence: { cursor: string } }>(server.url, responder, expire, variables);
    assert.equal(again.expireSilence.cursor, first.expireSilence.cursor);
    const listed = await data<{ silences: SilenceView[] }>(server.url, responder, 'query($c: Cursor) { silences(consistentWith: $c) { id status } }', {
      c: first.expireSilence.cursor,
    });
    assert.deepEqual(listed.silences, [{ id: variables.id, status: 'EXPIRED' }]);
  });
});
