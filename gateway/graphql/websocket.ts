// The WebSocket side of /graphql (graphql-transport-ws). We register @fastify/websocket ourselves, before mercurius,
// to own what mercurius leaves open: the token in `connection_init` is checked as the message arrives, and a
// refused client gets the protocol's close 4403 (mercurius would answer with `connection_error`, a message of the
// legacy protocol); a client that never initialises is closed with 4408; a stopping server says 1001 Going Away.
import { setTimeout as sleep } from 'node:timers/promises';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { UnauthenticatedError } from '../auth/errors.ts';
import { bearerToken, type Principal, type TokenVerifier } from '../auth/token.ts';

/** Close codes of graphql-transport-ws (PROTOCOL.md) and RFC 6455. */
export const CloseCode = {
  GoingAway: 1001,
  InternalError: 1011,
  Forbidden: 4403,
  ConnectionInitialisationTimeout: 4408,
} as const;

export interface WebSocketOptions {
  verifier: TokenVerifier;
  /** Largest message accepted; bigger ones close the socket with 1009. */
  maxPayload: number;
  /** How long a socket may stay open without sending `connection_init`. */
  initTimeoutMs: number;
  /** How long shutdown waits for clients to answer the close frame before cutting them off. */
  closeTimeoutMs: number;
}

/** `{ authorization: 'Bearer …' }` (as a header would say it) or `{ token }`. */
function connectionInitToken(payload: unknown): string {
  if (typeof payload === 'object' && payload !== null) {
    const { authorization, Authorization, token } = payload as Record<string, unknown>;
    const header = authorization ?? Authorization;
    if (typeof header === 'string') return bearerToken(header);
    if (typeof token === 'string' && token !== '') return token;
  }
  throw new UnauthenticatedError('connection_init payload must carry { authorization: "Bearer <token>" } or { token }');
}

function parseMessage(data: RawData): { type?: unknown; payload?: unknown } | undefined {
  try {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const text = bytes.toString();
    const message: unknown = JSON.parse(text);
    return typeof message === 'object' && message !== null ? message : undefined;
  } catch {
    return undefined;
  }
}

async function goAway(server: WebSocketServer, timeoutMs: number): Promise<void> {
  const closed = [...server.clients].map(
    (socket) =>
      new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close(CloseCode.GoingAway, 'server shutting down');
      }),
  );
  await Promise.race([Promise.all(closed), sleep(timeoutMs)]);
  for (const socket of server.clients) socket.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Registers the WebSocket server on `app` (mercurius then reuses it) and returns how to find the principal of a
 * socket once its `connection_init` was accepted.
 */
export async function registerWebSocket(
  app: FastifyInstance,
  options: WebSocketOptions,
): Promise<(socket: WebSocket) => Principal | null> {
  const { verifier, maxPayload, initTimeoutMs, closeTimeoutMs } = options;
  const principals = new WeakMap<WebSocket, Principal>();
  await app.register(websocket, {
    options: { maxPayload },
    preClose: () => goAway(app.websocketServer, closeTimeoutMs),
  });

  // 'connection' fires before mercurius gets the socket, so this listener sees `connection_init` first.
  app.websocketServer.on('connection', (socket: WebSocket) => {
    const timer = setTimeout(
      () => socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout'),
      initTimeoutMs,
    );
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', (data: RawData) => {
      clearTimeout(timer);
      const message = parseMessage(data);
      // Anything else first is a protocol error that mercurius answers itself.
      if (message?.type !== 'connection_init') return;
      try {
        principals.set(socket, verifier.verify(connectionInitToken(message.payload)));
      } catch (error) {
        // The reason stays in the log: a close reason is short, and the protocol suggests plain "Forbidden".
        if (error instanceof UnauthenticatedError) {
          app.log.info({ reason: error.message }, 'WebSocket connection refused');
          socket.close(CloseCode.Forbidden, 'Forbidden');
        } else {
          app.log.error({ err: error }, 'WebSocket authentication failed');
          socket.close(CloseCode.InternalError, 'Internal error');
        }
      }
    });
  });
  return (socket) => principals.get(socket) ?? null;
}
