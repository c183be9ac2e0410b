import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

interface Operation {
  method: string;
  path: string;
  roles: string[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const SOME_ID = '0190a4c2-0000-7000-8000-00000000abcd';

/** Bodies that would each fail validation if it ran first: the answer must not depend on them. */
const BODIES: Array<{ payload?: string | object; headers?: Record<string, string> }> = [
  { payload: { notAField: true, price: 'free' }, headers: { 'content-type': 'application/json' } },
  { payload: '{"truncated":', headers: { 'content-type': 'application/json' } },
  { payload: 'hello', headers: { 'content-type': 'text/plain' } },
];

/**
 * Authorization is decided before validation, on every route the OpenAPI document says is secured:
 * a caller without the right learns nothing about the route's schema from its answer.
 */
describe.each(dbKinds)('authorization before validation on %s', (kind) => {
  let system: TestSystem;
  let customer: SignedInUser;
  let operations: Operation[];
  beforeAll(async () => {
    system = await createTestSystem(kind);
    customer = await signIn(system);
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(
      ([path, item]) =>
        METHODS.filter((method) =>
          item[method]?.security?.some((requirement: object) => 'bearer' in requirement),
        ).map((method) => ({
          method: method.toUpperCase(),
          path: path.replaceAll(/\{[^}]+\}/g, SOME_ID),
          roles: item[method].security.find((requirement: object) => 'bearer' in requirement).bearer,
        })),
    );
  });
  afterAll(() => system.dispose());

  it('finds the staff and admin routes in the document', () => {
    expect(operations.filter((operation) => operation.roles.length > 0).length).toBeGreaterThan(20);
    expect(operations).toContainEqual({ method: 'POST', path: '/v1/products', roles: ['catalog:write'] });
    expect(operations).toContainEqual({ method: 'POST', path: '/v1/webhooks', roles: ['webhooks:write'] });
    expect(operations).toContainEqual({ method: 'POST', path: '/v1/roles', roles: ['staff:write'] });
    expect(operations).toContainEqual({ method: 'POST', path: '/v1/orders', roles: [] });
  });

  it('answers 401 to anonymous callers of every secured route, whatever the body', async () => {
    for (const operation of operations) {
      for (const body of operation.method === 'GET' || operation.method === 'DELETE' ? [{}] : BODIES) {
        const response = await system.app.inject({
          method: operation.method as 'GET',
          url: operation.path,
          ...body,
        });
        expect(response.statusCode, `${operation.method} ${operation.path} ${response.body}`).toBe(401);
        expect(response.json().code).toBe('UNAUTHENTICATED');
        expect(response.headers['www-authenticate']).toBe('Bearer');
      }
    }
  });

  it('answers 403 to customers on every staff and admin route, whatever the body', async () => {
    for (const operation of operations.filter((candidate) => candidate.roles.length > 0)) {
      for (const body of operation.method === 'GET' || operation.method === 'DELETE' ? [{}] : BODIES) {
        const response = await system.app.inject({
          method: operation.method as 'GET',
          url: operation.path,
          payload: body.payload,
          headers: { ...body.headers, ...customer.headers },
        });
        expect(response.statusCode, `${operation.method} ${operation.path} ${response.body}`).toBe(403);
        expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
        expect(response.json().errors).toBeUndefined();
      }
    }
  });
});
