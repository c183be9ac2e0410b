import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SCOPES, type ApiScope, scopeFor } from '../src/platform/http/auth.ts';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { createProduct } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

const KEY_LIMIT = 150;

/**
 * Keys for integrations: made by admins with scopes, the secret shown once and kept hashed,
 * refused outside their scopes on every route the API has (the matrix below walks the OpenAPI
 * document), revoked at once, and limited per key.
 */
describe.each(dbKinds)('API keys on %s', (kind) => {
  let system: TestSystem;
  let admin: SignedInUser;
  let staff: SignedInUser;
  beforeAll(async () => {
    system = await createTestSystem(kind, { API_KEY_LIMIT_PER_MINUTE: String(KEY_LIMIT) });
    admin = await signIn(system, 'admin');
    staff = await signIn(system, 'staff');
  });
  afterAll(() => system.dispose());

  async function newKey(scopes: readonly ApiScope[], name = 'Test integration') {
    const response = await system.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin.headers,
      payload: { name, scopes },
    });
    expect(response.statusCode).toBe(201);
    const key = response.json() as { id: string; secret: string; scopes: string[] };
    return { ...key, headers: { authorization: `Bearer ${key.secret}` } };
  }

  it('is made by an admin only, shows its secret once, and acts as staff within its scopes', async () => {
    for (const user of [staff, await signIn(system)]) {
      const refused = await system.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: user.headers,
        payload: { name: 'x', scopes: ['catalog:read'] },
      });
      expect(refused.statusCode).toBe(403);
    }
    const unknownScope = await system.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin.headers,
      payload: { name: 'x', scopes: ['everything'] },
    });
    expect(unknownScope.statusCode).toBe(400);
    const blankName = await system.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: admin.headers,
      payload: { name: '   ', scopes: ['catalog:read'] },
    });
    expect(blankName.json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });

    const key = await newKey(['inventory:write', 'catalog:read', 'inventory:write'], 'Warehouse sync');
    expect(key.secret).toMatch(/^emp_[\w-]{43}$/);
    expect(key.scopes).toEqual(['catalog:read', 'inventory:write']);
    const listed = (
      await system.app.inject({ method: 'GET', url: '/v1/api-keys', headers: admin.headers })
    ).json();
    const shown = listed.items.find((item: { id: string }) => item.id === key.id);
    expect(shown).toMatchObject({ name: 'Warehouse sync', lastUsedAt: null, revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(key.secret);

    const product = await createProduct(system, staff, { stock: 5 });
    const adjusted = await system.app.inject({
      method: 'POST',
      url: `/v1/inventory/${product.sku}/adjustments`,
      headers: key.headers,
      payload: { delta: 3, reason: 'cycle count' },
    });
    expect(adjusted.statusCode).toBeLessThan(300);
    const create = await system.app.inject({
      method: 'POST',
      url: '/v1/products',
      headers: key.headers,
      payload: { name: 'x' },
    });
    expect(create.json()).toMatchObject({ status: 403, code: 'SCOPE_MISSING' });
    expect(create.json().detail).toBe('This API key does not have the scope catalog:write');
    const cart = await system.app.inject({ method: 'GET', url: '/v1/cart', headers: key.headers });
    expect(cart.json()).toMatchObject({ status: 403, code: 'SCOPE_MISSING' });
    const used = (
      await system.app.inject({ method: 'GET', url: '/v1/api-keys', headers: admin.headers })
    ).json();
    expect(used.items.find((item: { id: string }) => item.id === key.id).lastUsedAt).not.toBeNull();
  });

  it('every operation of the API refuses a key without its scope, and lets one with it through', async () => {
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { tags?: string[]; security?: Array<Record<string, string[]>> }>>;
    };
    // One key per scope missing (every other scope), and one with every scope.
    const lacking = new Map<ApiScope, Awaited<ReturnType<typeof newKey>>>();
    for (const scope of API_SCOPES)
      lacking.set(scope, await newKey(API_SCOPES.filter((other) => other !== scope)));
    const full = await newKey(API_SCOPES);
    let checked = 0;
    for (const [template, operations] of Object.entries(document.paths)) {
      const url = template.replace(/\{[^}]+\}/g, randomUUID());
      for (const [method, operation] of Object.entries(operations)) {
        const bearer = operation.security?.find((requirement) => 'bearer' in requirement)?.bearer;
        if (!bearer || template === '/v1/stream') continue;
        const verb = method.toUpperCase();
        // The permission the operation documents, else what a key needs on a route for anyone signed in.
        const needed = bearer[0] ?? scopeFor(operation.tags, verb);
        const forKeys = (API_SCOPES as readonly string[]).includes(needed);
        const call = (headers: Record<string, string>) =>
          system.app.inject({
            method: verb as 'GET',
            url,
            headers,
            payload: verb === 'GET' ? undefined : {},
          });
        const without = await call((forKeys ? lacking.get(needed as ApiScope)! : full).headers);
        expect(without.statusCode, `${verb} ${template} without ${needed ?? 'a scope for keys'}`).toBe(403);
        const withScope = await call(full.headers);
        if (forKeys)
          expect([401, 403], `${verb} ${template} with ${needed}`).not.toContain(withScope.statusCode);
        else expect(withScope.statusCode, `${verb} ${template} is not for keys`).toBe(403);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('stops working the moment it is revoked, and is limited per key', async () => {
    const key = await newKey(['orders:read']);
    expect(
      (await system.app.inject({ method: 'GET', url: '/v1/orders', headers: key.headers })).statusCode,
    ).toBe(200);
    const revoked = await system.app.inject({
      method: 'DELETE',
      url: `/v1/api-keys/${key.id}`,
      headers: admin.headers,
    });
    expect(revoked.statusCode).toBe(204);
    const after = await system.app.inject({ method: 'GET', url: '/v1/orders', headers: key.headers });
    expect(after.json()).toMatchObject({ status: 401, code: 'API_KEY_REVOKED' });
    const unknown = await system.app.inject({
      method: 'GET',
      url: '/v1/orders',
      headers: { authorization: `Bearer emp_${'x'.repeat(43)}` },
    });
    expect(unknown.statusCode).toBe(401);

    const busy = await newKey(['orders:read']);
    const answers = [];
    for (let sent = 0; sent <= KEY_LIMIT; sent++)
      answers.push(
        (await system.app.inject({ method: 'GET', url: '/v1/orders?size=1', headers: busy.headers }))
          .statusCode,
      );
    expect(answers.slice(0, KEY_LIMIT).every((status) => status === 200)).toBe(true);
    expect(answers[KEY_LIMIT]).toBe(429);
    // Another key, and staff, are not held back by that key's budget.
    const other = await newKey(['orders:read']);
    expect(
      (await system.app.inject({ method: 'GET', url: '/v1/orders', headers: other.headers })).statusCode,
    ).toBe(200);
  });
});
