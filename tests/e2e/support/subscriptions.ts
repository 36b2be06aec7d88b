// The WebSocket connection itself, for tests about its life rather than its messages (graphql.ts reads those): how
// it was refused or closed, and its socket, which a test can stop reading from as a stalled client would.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export interface Connection {
  client: Client;
  /** The client's socket: `pause()` stops reading from it, so the server's writes back up. */
  socket: WebSocket;
  /** Settles with the close event once the connection ends (1001 when the server shuts down). */
  closed: Promise<Closed>;
}

const clients = new Set<Client>();

/**
 * Connects to `wsUrl` with `connectionParams` in connection_init: the acknowledged connection, or the close event
 * that refused it. The client never reconnects by itself: each test says where and from which cursor it resumes.
 */
export function connect(wsUrl: string, connectionParams?: Record<string, unknown>): Promise<Connection | Closed> {
  let socket: WebSocket | undefined;
  const record = (created: WebSocket) => (socket = created);
  // graphql-ws builds the socket itself; this subclass hands it over.
  class RecordedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      record(this);
    }
  }
  return new Promise((resolve) => {
    let settleClosed: (event: Closed) => void = () => undefined;
    const closed = new Promise<Closed>((settle) => (settleClosed = settle));
    const client = createClient({
      url: wsUrl,
      webSocketImpl: RecordedWebSocket,
      connectionParams,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: {
        connected: () => resolve({ client, socket: socket as WebSocket, closed }),
        closed: (event) => {
          const { code, reason } = event as Closed;
          settleClosed({ code, reason });
          resolve({ code, reason });
        },
      },
    });
    clients.add(client);
  });
}

/** Ends every client `connect` made (after all tests of a file). */
export async function disposeClients(): Promise<void> {
  await Promise.all([...clients].map((client) => client.dispose()));
  clients.clear();
}
