// The service aggregate as given / when / then: registration, updates, dependencies, retirement and the catalog
// entries an import applies, each with the refusals that say what is allowed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DependencyNotFoundError,
  serviceDecider,
  ServiceNotFoundError,
  type ServiceCommand,
  type ServiceEvent,
} from '../../domain/service/index.ts';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import { deciderSpec } from './support/given-when-then.ts';

const given = deciderSpec(serviceDecider);
const NOW = '2025-03-01T10:00:00.000Z';
const metadata = { now: NOW, actorId: 'carol' };
const RUNBOOK = 'https://runbooks.example.com/checkout';

type CommandOf<T extends ServiceCommand['type']> = Extract<ServiceCommand, { type: T }>;
type Data<T extends ServiceCommand['type']> = CommandOf<T>['data'];

const register = (data: Partial<Data<'RegisterService'>> = {}): CommandOf<'RegisterService'> => ({
  type: 'RegisterService',
  data: { name: 'checkout', tier: 1, owner: 'payments-team', runbookUrl: RUNBOOK, tags: ['pci'], ...data },
  metadata,
});
const update = (data: Omit<Data<'UpdateService'>, 'name'>): CommandOf<'UpdateService'> => ({
  type: 'UpdateService',
  data: { name: 'checkout', ...data },
  metadata,
});
const declare = (to: string, name = 'checkout'): CommandOf<'DeclareDependency'> => ({ type: 'DeclareDependency', data: { name, to }, metadata });
const remove = (to: string): CommandOf<'RemoveDependency'> => ({ type: 'RemoveDependency', data: { name: 'checkout', to }, metadata });
const retire = (reason?: string): CommandOf<'RetireService'> => ({ type: 'RetireService', data: { name: 'checkout', reason }, metadata });
const entry = (data: Partial<Data<'ApplyCatalogEntry'>> = {}): CommandOf<'ApplyCatalogEntry'> => ({
  type: 'ApplyCatalogEntry',
  data: { name: 'checkout', tier: 1, owner: 'payments-team', runbookUrl: RUNBOOK, tags: ['pci'], dependsOn: [], ...data },
  metadata,
});

const description = { tier: 1, owner: 'payments-team', runbookUrl: RUNBOOK, tags: ['pci'] };
const registered: ServiceEvent = { type: 'ServiceRegistered', data: { name: 'checkout', ...description, at: NOW } };
const declared = (to: string): ServiceEvent => ({ type: 'ServiceDependencyDeclared', data: { from: 'checkout', to, at: NOW } });
const removed = (to: string): ServiceEvent => ({ type: 'ServiceDependencyRemoved', data: { from: 'checkout', to, at: NOW } });
const retired: ServiceEvent = { type: 'ServiceRetired', data: { name: 'checkout', reason: null, at: NOW } };

describe('register', () => {
  test('registering names the service and describes it; name, owner and tags are trimmed', () => {
    given([])
      .when(register({ name: ' checkout ', owner: ' payments-team ', tags: [' pci '] }))
      .then([registered]);
  });

  test('only the name is required: the rest is unset', () => {
    given([])
      .when({ type: 'RegisterService', data: { name: 'cart' }, metadata })
      .then([{ type: 'ServiceRegistered', data: { name: 'cart', tier: null, owner: null, runbookUrl: null, tags: [], at: NOW } }]);
  });

  test('registering it again exactly as it is changes nothing (a retry)', () => {
    given([registered]).when(register()).then([]);
  });

  test('registering it again differently is refused: updateService changes it', () => {
    given([registered]).when(register({ tier: 2 })).thenThrows(IllegalTransitionError, /already registered; register needs a name not registered yet/);
  });

  test('a retired service cannot be registered again', () => {
    given([registered, retired]).when(register()).thenThrows(IllegalTransitionError, /service checkout is RETIRED/);
  });

  for (const [name, why] of [
    ['Checkout', 'upper case'],
    ['check out', 'a space'],
    ['', 'empty'],
    ['x'.repeat(101), '101 characters'],
    ['svc/one', 'a slash'],
  ] as const) {
    test(`a name with ${why} is refused`, () => {
      given([]).when(register({ name })).thenThrows(ValidationError, /^name: .* is not a service name/);
    });
  }

  test('a name of 100 characters of a-z, 0-9, ".", "_" and "-" is accepted', () => {
    const name = `a.b_c-1${'x'.repeat(93)}`;
    given([]).when(register({ name })).thenState((state) => assert.equal(state.status === null ? null : state.name, name));
  });

  for (const tier of [0, 6, 1.5]) {
    test(`tier ${tier} is refused (1 to 5)`, () => {
      given([]).when(register({ tier })).thenThrows(ValidationError, /^tier: must be an integer from 1 \(most critical\) to 5/);
    });
  }

  for (const runbookUrl of ['runbooks/checkout', 'ftp://example.com/runbook', 'javascript:alert(1)']) {
    test(`runbook URL ${runbookUrl} is refused (absolute http(s) only)`, () => {
      given([]).when(register({ runbookUrl })).thenThrows(ValidationError, /^runbookUrl: .* is not an http\(s\) URL/);
    });
  }

  test('a tag listed twice is refused', () => {
    given([]).when(register({ tags: ['pci', ' pci'] })).thenThrows(ValidationError, 'tags: "pci" is listed twice');
  });

  test('a blank tag is refused', () => {
    given([]).when(register({ tags: ['  '] })).thenThrows(ValidationError, /^tags: "" must be 1–100 characters/);
  });
});

describe('update', () => {
  test('given fields change, absent ones are kept, null clears one; the event carries the whole description', () => {
    given([registered])
      .when(update({ tier: 2, runbookUrl: null }))
      .then([{ type: 'ServiceUpdated', data: { name: 'checkout', tier: 2, owner: 'payments-team', runbookUrl: null, tags: ['pci'], at: NOW } }]);
  });

  test('an update that changes nothing appends nothing', () => {
    given([registered]).when(update({ tier: 1, owner: 'payments-team' })).then([]);
  });

  test('an unregistered service cannot be updated', () => {
    given([]).when(update({ tier: 2 })).thenThrows(ServiceNotFoundError, 'service checkout is not registered; update needs a registered service');
  });

  test('a retired service cannot be updated', () => {
    given([registered, retired]).when(update({ tier: 2 })).thenThrows(IllegalTransitionError, 'service checkout is RETIRED; update needs ACTIVE');
  });
});

describe('dependencies', () => {
  test('a registered service declares what it calls, registered or not', () => {
    given([registered]).when(declare('stripe-api')).then([declared('stripe-api')]);
  });

  test('declaring a dependency twice changes nothing', () => {
    given([registered, declared('payments')]).when(declare('payments')).then([]);
  });

  test('a service cannot depend on itself', () => {
    given([registered]).when(declare('checkout')).thenThrows(ValidationError, 'dependsOn: checkout cannot depend on itself');
  });

  test('an unregistered service cannot declare dependencies', () => {
    given([]).when(declare('payments')).thenThrows(ServiceNotFoundError, /declare dependency needs a registered service/);
  });

  test('a retired service declares no new dependencies', () => {
    given([registered, retired]).when(declare('payments')).thenThrows(IllegalTransitionError, 'service checkout is RETIRED; declare dependency needs ACTIVE');
  });

  test('a declared dependency can be removed, also from a retired service', () => {
    given([registered, declared('payments')]).when(remove('payments')).then([removed('payments')]);
    given([registered, declared('payments'), retired]).when(remove('payments')).then([removed('payments')]);
  });

  test('removing a dependency that is not declared is NOT_FOUND', () => {
    given([registered, declared('payments'), removed('payments')])
      .when(remove('payments'))
      .thenThrows(DependencyNotFoundError, 'service checkout does not depend on payments; nothing to remove');
  });

  test('the state lists dependencies in the order declared, without the removed ones', () => {
    given([registered, declared('payments'), declared('cart')])
      .when(remove('payments'))
      .thenState((state) => assert.deepEqual(state.status === null ? null : state.dependsOn, ['cart']));
  });

  test('a command for another service than the stream holds is refused', () => {
    given([registered]).when(declare('payments', 'cart')).thenThrows(ValidationError, 'name: this stream holds service checkout, not cart');
  });
});

describe('retire', () => {
  test('retiring keeps the reason; the service stays, RETIRED', () => {
    given([registered, declared('payments')])
      .when(retire('replaced by checkout-v2'))
      .then([{ type: 'ServiceRetired', data: { name: 'checkout', reason: 'replaced by checkout-v2', at: NOW } }]);
    given([registered, declared('payments')])
      .when(retire())
      .thenState((state) => {
        assert.equal(state.status, 'RETIRED');
        assert.deepEqual(state.status === null ? null : state.dependsOn, ['payments']);
      });
  });

  test('retiring a retired service changes nothing', () => {
    given([registered, retired]).when(retire()).then([]);
  });

  test('an unregistered service cannot be retired', () => {
    given([]).when(retire()).thenThrows(ServiceNotFoundError, /retire needs a registered service/);
  });
});

describe('catalog entries', () => {
  test('a new service is registered with every dependency it lists, in catalog order', () => {
    given([]).when(entry({ dependsOn: ['payments', 'cart'] })).then([registered, declared('payments'), declared('cart')]);
  });

  test('the same entry again changes nothing', () => {
    given([registered, declared('payments'), declared('cart')]).when(entry({ dependsOn: ['cart', 'payments'] })).then([]);
  });

  test('a changed entry updates the service and makes its dependencies exactly the listed ones', () => {
    given([registered, declared('payments'), declared('cart')])
      .when(entry({ tier: 2, dependsOn: ['cart', 'search'] }))
      .then([
        { type: 'ServiceUpdated', data: { name: 'checkout', ...description, tier: 2, at: NOW } },
        removed('payments'),
        declared('search'),
      ]);
  });

  test('an entry for a retired service is refused', () => {
    given([registered, retired]).when(entry()).thenThrows(IllegalTransitionError, 'service checkout is RETIRED; import needs ACTIVE');
  });

  test('an entry listing a dependency twice or itself is refused', () => {
    given([]).when(entry({ dependsOn: ['cart', 'cart'] })).thenThrows(ValidationError, 'dependsOn: cart is listed twice');
    given([]).when(entry({ dependsOn: ['checkout'] })).thenThrows(ValidationError, 'dependsOn: checkout cannot depend on itself');
  });
});
