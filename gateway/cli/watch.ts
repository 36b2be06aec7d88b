// `npm run watch -- --token <JWT> [--url http://127.0.0.1:4000] [--after <cursor>] [--prefix incident] [--type T]`:
// follows the tenant's live event feed over graphql-transport-ws and prints one line per event with its cursor, so
// a responder can watch an incident from a terminal and resume exactly where a previous run stopped.
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const USAGE =
  'usage: npm run watch -- --token <JWT> [--url http://127.0.0.1:4000] [--after <cursor>|""] [--prefix incident] [--type T…]';

const SUBSCRIPTION = `subscription Watch($after: Cursor, $streamPrefix: String, $types: [String!]) {
  events(after: $after, streamPrefix: $streamPrefix, types: $types) {
    cursor streamId revision type occurredAt actor { id kind } data
  }
}`;

interface Envelope {
  cursor: string;
  streamId: string;
  revision: number;
  type: string;
  occurredAt: string;
  actor: { id: string; kind: string };
  data: unknown;
}

function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      token: { type: 'string' },
      url: { type: 'string', default: 'http://127.0.0.1:4000' },
      after: { type: 'string' },
      prefix: { type: 'string' },
      type: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || values.token === undefined) {
    console.log(USAGE);
    return Promise.resolve();
  }
  const url = new URL('/graphql', values.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = createClient({ url: url.toString(), webSocketImpl: WebSocket, connectionParams: { token: values.token } });
  const variables = { after: values.after, streamPrefix: values.prefix, types: values.type };
  return new Promise((resolve, reject) => {
    const stop = client.subscribe<{ events: Envelope }>(
      { query: SUBSCRIPTION, variables },
      {
        next: ({ data, errors }) => {
          if (errors) console.error(JSON.stringify(errors));
          const event = data?.events;
          if (event) {
            const at = event.occurredAt;
            console.log(`${event.cursor}  ${at}  ${event.streamId}@${event.revision}  ${event.type}  by ${event.actor.id}  ${JSON.stringify(event.data)}`);
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: resolve,
      },
    );
    process.once('SIGINT', () => {
      stop();
      void client.dispose();
      resolve();
    });
  });
}

main().catch((error: unknown) => {
  console.error(`watch: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
