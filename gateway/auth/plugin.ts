// The auth plugin: every request gets `request.auth` (null until a hook authenticates it). Routes opt in with
// `onRequest: app.authenticate` (any valid token) or `onRequest: app.authorize(action)` (a role allowed to act),
// so unauthenticated requests are refused before their body is read.
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { requireRole, type Action } from './roles.ts';
import { bearerToken, type Principal, type TokenVerifier } from './token.ts';
import { UnauthenticatedError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    auth: Principal | null;
  }
  interface FastifyInstance {
    /** An onRequest hook: sets `request.auth` from a valid bearer token, or refuses with 401. */
    authenticate: AuthHook;
    /** An onRequest hook: authenticate, then refuse with 403 unless a role allows `action`. */
    authorize(action: Action): AuthHook;
  }
}

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface AuthPluginOptions {
  verifier: TokenVerifier;
}

export const authPlugin = fp<AuthPluginOptions>(
  async (app, { verifier }) => {
    const authenticate: AuthHook = async (request, reply) => {
      try {
        request.auth = verifier.verify(bearerToken(request.headers.authorization));
      } catch (error) {
        // RFC 6750 §3: a 401 names the scheme, and says invalid_token when a token was sent.
        if (error instanceof UnauthenticatedError) {
          const sent = request.headers.authorization !== undefined;
          reply.header('www-authenticate', sent ? 'Bearer error="invalid_token"' : 'Bearer');
        }
        throw error;
      }
    };
    app.decorateRequest('auth', null);
    app.decorate('authenticate', authenticate);
    app.decorate('authorize', (action: Action): AuthHook => async (request, reply) => {
      await authenticate(request, reply);
      requireRole(request, action);
    });
  },
  { name: 'auth', fastify: '5.x' },
);
