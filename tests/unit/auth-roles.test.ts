import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ForbiddenError, UnauthenticatedError } from '../../gateway/auth/errors.ts';
import { allows, requireRole, ROLES, type Action, type Role } from '../../gateway/auth/roles.ts';

// The matrix as DESIGN.md states it; a change to roles.ts that breaks it fails here.
const expected: Record<Role, readonly Action[]> = {
  viewer: ['read'],
  responder: ['read', 'incident:respond', 'change:record'],
  commander: ['read', 'incident:respond', 'incident:command', 'change:record', 'topology:write'],
  auditor: ['read', 'audit:read'],
  admin: ['read', 'incident:respond', 'incident:command', 'change:record', 'topology:write', 'audit:read', 'ingest', 'operate'],
  ingest: ['ingest'],
};
const actions: readonly Action[] = expected.admin;

describe('role matrix', () => {
  for (const role of ROLES) {
    test(`${role} may ${expected[role].join(', ')} and nothing else`, () => {
      assert.deepEqual(
        actions.filter((action) => allows([role], action)),
        expected[role],
      );
    });
  }

  test('several roles allow the union of their actions', () => {
    assert.ok(allows(['viewer', 'ingest'], 'read'));
    assert.ok(allows(['viewer', 'ingest'], 'ingest'));
    assert.ok(!allows(['viewer', 'ingest'], 'incident:respond'));
  });
});

describe('requireRole', () => {
  test('returns the principal when a role allows the action', () => {
    const auth = { sub: 'carol', tenant: 'acme', roles: ['commander'] as const };
    assert.equal(requireRole({ auth }, 'incident:command'), auth);
  });

  test('throws ForbiddenError naming the action and the roles that would allow it', () => {
    const auth = { sub: 'vic', tenant: 'acme', roles: ['viewer'] as const };
    assert.throws(() => requireRole({ auth }, 'incident:respond'), (error: unknown) => {
      assert.ok(error instanceof ForbiddenError);
      assert.equal(error.action, 'incident:respond');
      assert.match(error.message, /needs one of the roles admin, responder, commander; this token has viewer/);
      return true;
    });
  });

  test('throws UnauthenticatedError without a principal', () => {
    assert.throws(() => requireRole({ auth: null }, 'read'), UnauthenticatedError);
  });
});
