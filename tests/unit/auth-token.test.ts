import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { UnauthenticatedError } from '../../gateway/auth/errors.ts';
import {
  bearerToken,
  createTokenVerifier,
  hs256Key,
  InvalidClaimsError,
  InvalidKeyError,
  rs256Key,
  signToken,
} from '../../gateway/auth/token.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const claims = { tenant: 'acme', roles: ['responder'] };
const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

function refusal(verify: () => unknown): string {
  try {
    verify();
  } catch (error) {
    assert.ok(error instanceof UnauthenticatedError, `expected UnauthenticatedError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('the token was accepted');
}

describe('HS256 verifier', () => {
  const verifier = createTokenVerifier(hs256Key(SECRET));

  test('accepts a valid token and returns its principal', () => {
    const token = jwt.sign(claims, SECRET, { algorithm: 'HS256', subject: 'alice', expiresIn: 60 });
    assert.deepEqual(verifier.verify(token), { sub: 'alice', tenant: 'acme', roles: ['responder'] });
  });

  test('accepts what signToken mints', () => {
    const token = signToken(hs256Key(SECRET), { sub: 'bob', tenant: 'acme', roles: ['viewer', 'auditor'] }, 60);
    assert.deepEqual(verifier.verify(token), { sub: 'bob', tenant: 'acme', roles: ['viewer', 'auditor'] });
  });

  test('refuses an expired token', () => {
    const token = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { subject: 'alice' });
    assert.equal(refusal(() => verifier.verify(token)), 'token expired');
  });

  test('refuses a token signed with another secret', () => {
    const token = jwt.sign(claims, `${SECRET}-forged`, { algorithm: 'HS256', subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /invalid signature/);
  });

  test('refuses a token whose payload was changed after signing', () => {
    const [header, , signature] = jwt.sign(claims, SECRET, { subject: 'alice' }).split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'], sub: 'alice' })).toString('base64url');
    assert.match(refusal(() => verifier.verify(`${header}.${payload}.${signature}`)), /invalid signature/);
  });

  test('refuses alg none', () => {
    const token = jwt.sign(claims, null, { algorithm: 'none', subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /invalid token/);
  });

  test('refuses the same secret with another HMAC algorithm', () => {
    const token = jwt.sign(claims, SECRET, { algorithm: 'HS512', subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /invalid algorithm/);
  });

  test('refuses an RS256 token', () => {
    const token = jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256', subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /invalid algorithm/);
  });

  test('refuses a role outside the known set', () => {
    const token = jwt.sign({ ...claims, roles: ['responder', 'root'] }, SECRET, { subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /claim "roles" has unknown "root"/);
  });

  test('refuses a token without tenant', () => {
    const token = jwt.sign({ roles: ['viewer'] }, SECRET, { subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /claim "tenant" is missing/);
  });

  test('refuses a tenant that is not a valid tenant id', () => {
    const token = jwt.sign({ ...claims, tenant: 'Acme/../other' }, SECRET, { subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /claim "tenant": invalid tenant id/);
  });

  test('refuses a token without subject or roles', () => {
    assert.match(refusal(() => verifier.verify(jwt.sign(claims, SECRET))), /claim "sub"/);
    const noRoles = jwt.sign({ tenant: 'acme', roles: [] }, SECRET, { subject: 'alice' });
    assert.match(refusal(() => verifier.verify(noRoles)), /claim "roles" must be a non-empty list/);
  });

  test('refuses something that is not a JWT', () => {
    assert.match(refusal(() => verifier.verify('not-a-jwt')), /jwt malformed/);
  });
});

describe('RS256 verifier', () => {
  const verifier = createTokenVerifier(rs256Key(rsa.publicKey));

  test('accepts a token signed with the private key', () => {
    const token = jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256', subject: 'alice', expiresIn: 60 });
    assert.deepEqual(verifier.verify(token), { sub: 'alice', tenant: 'acme', roles: ['responder'] });
  });

  test('refuses an HS256 token signed with the public key as its secret (algorithm confusion)', () => {
    const [header, payload] = [{ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: 'mallory' }].map((part) =>
      Buffer.from(JSON.stringify(part)).toString('base64url'),
    );
    // Signed by hand: jsonwebtoken itself refuses to use a PEM public key as an HMAC secret.
    const signature = createHmac('sha256', rsa.publicKey).update(`${header}.${payload}`).digest('base64url');
    assert.match(refusal(() => verifier.verify(`${header}.${payload}.${signature}`)), /invalid algorithm/);
  });

  test('refuses an expired token', () => {
    const token = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, rsa.privateKey, {
      algorithm: 'RS256',
      subject: 'alice',
    });
    assert.equal(refusal(() => verifier.verify(token)), 'token expired');
  });

  test('refuses a token signed by another key pair', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = jwt.sign(claims, other.privateKey, { algorithm: 'RS256', subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /invalid signature/);
  });

  test('refuses alg none', () => {
    const token = jwt.sign(claims, null, { algorithm: 'none', subject: 'alice' });
    assert.match(refusal(() => verifier.verify(token)), /invalid token/);
  });
});

describe('keys', () => {
  test('an HS256 secret shorter than 32 bytes is refused', () => {
    assert.throws(() => hs256Key('short'), InvalidKeyError);
  });

  test('JWT_PUBLIC_KEY must be an RSA public key in PEM', () => {
    assert.throws(() => rs256Key('not a key'), InvalidKeyError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => rs256Key(ec.publicKey.export({ type: 'spki', format: 'pem' }).toString()), /must be an RSA key/);
  });
});

describe('signToken', () => {
  test('refuses unknown roles and invalid tenants with a message naming them', () => {
    const key = hs256Key(SECRET);
    assert.throws(() => signToken(key, { sub: 'a', tenant: 'acme', roles: ['chief'] }, 60), {
      name: InvalidClaimsError.name,
      message: /unknown "chief"; known roles: viewer, responder, commander, auditor, admin, ingest/,
    });
    assert.throws(() => signToken(key, { sub: 'a', tenant: 'ACME', roles: ['viewer'] }, 60), /claim "tenant"/);
  });
});

describe('bearerToken', () => {
  test('takes the token out of an Authorization header, scheme case-insensitively', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer abc.def.ghi'), 'abc.def.ghi');
  });

  test('refuses a missing header and other schemes', () => {
    assert.throws(() => bearerToken(undefined), { message: 'missing bearer token' });
    assert.throws(() => bearerToken('Basic YWxpY2U6c2VjcmV0'), UnauthenticatedError);
    assert.throws(() => bearerToken('Bearer'), UnauthenticatedError);
  });
});
