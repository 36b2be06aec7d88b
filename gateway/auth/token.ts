// Bearer tokens: HS256 with a shared secret or RS256 with a public key, the verifier pinned to exactly the one
// configured algorithm so that `alg: none`, HS/RS confusion and tokens signed for another algorithm all fail.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { assertTenant } from '../../infra/eventstore/stream-name.ts';
import { UnauthenticatedError } from './errors.ts';
import { isRole, ROLES, type Role } from './roles.ts';

/** Who is calling, taken only from a verified token. */
export interface Principal {
  sub: string;
  tenant: string;
  roles: readonly Role[];
}

export type VerificationKey = { algorithm: 'HS256'; key: KeyObject } | { algorithm: 'RS256'; key: KeyObject };
/** A shared secret both verifies and signs. */
export type Hs256Key = VerificationKey & { algorithm: 'HS256' };

export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
}

/** Claims that do not describe a principal; a verified token with such claims is still refused. */
export class InvalidClaimsError extends Error {
  override name = 'InvalidClaimsError';
}

/** RFC 7518 §3.2: an HS256 key shorter than the hash output weakens the MAC. */
const MIN_SECRET_BYTES = 32;

export function hs256Key(secret: string): Hs256Key {
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    throw new InvalidKeyError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  return { algorithm: 'HS256', key: createSecretKey(Buffer.from(secret)) };
}

export function rs256Key(publicKeyPem: string): VerificationKey {
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (error) {
    throw new InvalidKeyError(`JWT_PUBLIC_KEY is not a PEM public key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new InvalidKeyError(`JWT_PUBLIC_KEY must be an RSA key for RS256, got ${key.asymmetricKeyType}`);
  }
  return { algorithm: 'RS256', key };
}

export interface TokenVerifier {
  /** The principal of a valid token; throws UnauthenticatedError otherwise. */
  verify(token: string): Principal;
}

const MAX_SUBJECT_LENGTH = 256;

function principalFromClaims(claims: { sub?: unknown; tenant?: unknown; roles?: unknown }): Principal {
  const { sub, tenant, roles } = claims;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
    throw new InvalidClaimsError(`claim "sub" must be a string of 1–${MAX_SUBJECT_LENGTH} characters`);
  }
  if (typeof tenant !== 'string') throw new InvalidClaimsError('claim "tenant" is missing');
  try {
    assertTenant(tenant);
  } catch (error) {
    throw new InvalidClaimsError(`claim "tenant": ${(error as Error).message}`);
  }
  if (!Array.isArray(roles) || roles.length === 0) throw new InvalidClaimsError('claim "roles" must be a non-empty list');
  const unknown = roles.filter((role) => !isRole(role));
  if (unknown.length > 0) {
    const names = unknown.map((role) => JSON.stringify(role)).join(', ');
    throw new InvalidClaimsError(`claim "roles" has unknown ${names}; known roles: ${ROLES.join(', ')}`);
  }
  return { sub, tenant, roles: [...new Set(roles.filter(isRole))] };
}

export function createTokenVerifier({ algorithm, key }: VerificationKey): TokenVerifier {
  return {
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, { algorithms: [algorithm] });
      } catch (error) {
        if (error instanceof jwt.TokenExpiredError) throw new UnauthenticatedError('token expired');
        if (error instanceof jwt.JsonWebTokenError) throw new UnauthenticatedError(`invalid token: ${error.message}`);
        throw error;
      }
      if (typeof payload === 'string') throw new UnauthenticatedError('invalid token: payload is not a claims object');
      try {
        return principalFromClaims(payload);
      } catch (error) {
        if (error instanceof InvalidClaimsError) throw new UnauthenticatedError(`invalid token: ${error.message}`);
        throw error;
      }
    },
  };
}

/** `Authorization: Bearer <token>` → the token; anything else is refused. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw new UnauthenticatedError('missing bearer token');
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (match?.[1] === undefined) throw new UnauthenticatedError('Authorization header must be "Bearer <token>"');
  return match[1];
}

/** Mints a token with the HS256 secret (the CLI, the embedded first start, tests). */
export function signToken(
  key: Hs256Key,
  claims: { sub: string; tenant: string; roles: readonly string[] },
  ttlSeconds: number,
): string {
  const { sub, tenant, roles } = principalFromClaims(claims);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new InvalidClaimsError('ttl must be a positive number of seconds');
  }
  return jwt.sign({ tenant, roles }, key.key, { algorithm: 'HS256', subject: sub, expiresIn: ttlSeconds });
}
