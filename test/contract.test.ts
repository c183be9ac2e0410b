import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSystem, type TestSystem } from './support/system.ts';

/**
 * Every route API.md (the public contract) names, as `METHOD path`. API.md is outside the
 * repository, so the list is kept here; a route added there is added here.
 */
const CONTRACT = [
  'GET /.well-known/jwks.json',
  'POST /v1/auth/register',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'POST /v1/auth/logout',
  'GET /v1/users/me',
  'GET /v1/products',
  'GET /v1/products/{id}',
  'POST /v1/products',
  'PUT /v1/products/{id}',
  'PATCH /v1/products/{id}',
  'DELETE /v1/products/{id}',
  'GET /v1/categories',
  'POST /v1/categories',
  'GET /v1/inventory/{sku}',
  'PUT /v1/inventory/{sku}',
  'POST /v1/inventory/{sku}/adjustments',
  'GET /v1/cart',
  'POST /v1/cart/items',
  'PATCH /v1/cart/items/{itemId}',
  'DELETE /v1/cart/items/{itemId}',
  'DELETE /v1/cart',
  'POST /v1/cart/currency',
  'POST /v1/cart/promotions',
  'DELETE /v1/cart/promotions/{code}',
  'PUT /v1/cart/shipping-method',
  'PUT /v1/cart/address',
  'POST /v1/orders',
  'GET /v1/orders',
  'GET /v1/orders/{id}',
  'POST /v1/orders/{id}/cancel',
  'POST /v1/orders/{id}/fulfillments',
  'POST /v1/orders/{id}/returns',
  'POST /v1/returns/{id}/receive',
  'POST /v1/promotions',
  'GET /v1/promotions',
  'PATCH /v1/promotions/{code}',
  'DELETE /v1/promotions/{code}',
  'PUT /v1/tax-rates/{country}',
  'GET /v1/tax-rates',
  'GET /v1/shipping-methods',
  'POST /v1/shipping-methods',
  'PATCH /v1/shipping-methods/{id}',
  'DELETE /v1/shipping-methods/{id}',
  'GET /v1/products/{id}/reviews',
  'POST /v1/products/{id}/reviews',
  'POST /v1/webhooks',
  'GET /v1/webhooks/{id}/deliveries',
] as const;

/** Served outside the OpenAPI document (operations, the document itself, the WebSocket). */
const OPERATIONAL = [
  'GET /livez',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
  'GET /docs',
  'GET /v1/stream',
];

/** `/v1/orders/{id}` and `/v1/orders/{orderId}` are the same route: compare with parameters unnamed. */
const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');

describe('the HTTP contract (API.md)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await createTestSystem('pglite');
  });
  afterAll(() => system?.dispose());

  it('documents every route API.md names in the OpenAPI document', async () => {
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${shape(path)}`),
      ),
    );
    const missing = CONTRACT.filter((route) => {
      const [method, path] = route.split(' ');
      return !documented.has(`${method} ${shape(path)}`);
    });
    expect(missing).toEqual([]);
  });

  it("names every operation of the OpenAPI document in the project's own account (docs/api.md)", async () => {
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const page = await readFile(path.join(import.meta.dirname, '../docs/api.md'), 'utf8');
    const unnamed = Object.entries(document.paths)
      .flatMap(([route, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${route}`),
      )
      .filter((operation) => !page.includes(`\`${operation}\``));
    expect(unnamed).toEqual([]);
  });

  it.each([...CONTRACT, ...OPERATIONAL])('serves %s (never the router 404 or 405)', async (route) => {
    const [method, path] = route.split(' ');
    const url = path.replace(/\{[^}]+\}/g, '01941f56-5860-7357-a6d9-000000000000');
    const response = await system.app.inject({
      method: method as 'GET',
      url,
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
    });
    // A missing resource may be 404, but then with its own code, never the router's.
    expect(response.statusCode).not.toBe(405);
    if (response.statusCode === 404) expect(response.json().detail).not.toMatch(/^No route/);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.headers['x-request-id']).toBeTruthy();
  });
});
