import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from './support/auth.ts';
import { dbKinds } from './support/db.ts';
import { createProduct, type TestVariant } from './support/shop.ts';
import { createTestSystem, type TestSystem } from './support/system.ts';

interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  parameters: string[];
  /** The JSON body's schema, when the operation takes one. */
  body?: JsonSchema;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** Operations whose answer is not about the input: a WebSocket upgrade, the readiness probe. */
const SKIPPED = new Set(['GET /v1/stream', 'GET /readyz']);
const RUNS = 600;

// Text that trips naive code: NUL (PostgreSQL text refuses it), lone surrogates, SQL and path
// metacharacters, huge numbers as strings, dates PostgreSQL refuses.
const nasty = fc.constantFrom(
  '\u0000',
  '\ud800',
  "' or 1=1 --",
  '../../etc/passwd',
  '%00',
  '9'.repeat(40),
  '2024-02-30T00:00:00Z',
  '-1',
  '1e309',
  'NaN',
  '{}',
  '',
);
const text = fc.oneof(fc.string({ maxLength: 40 }), nasty);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(text, scalar, { maxKeys: 4 }),
);

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
};

/**
 * Values shaped like a JSON schema, mostly valid and sometimes just off (a bound crossed, a field
 * left out): requests that get past validation into the services, where a 5xx would hide.
 */
function shaped(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return value;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((option) => shaped(option, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      const required = new Set(schema.required ?? []);
      return fc.record(
        Object.fromEntries(properties.map(([name, property]) => [name, shaped(property, depth + 1)])),
        {
          requiredKeys: properties
            .map(([name]) => name)
            .filter((name) => required.has(name) && Math.random() > 0.05),
        },
      );
    }
    case 'array':
      return fc.array(shaped(schema.items, depth + 1), { maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'integer': {
      const min = schema.minimum ?? -1_000_000;
      const max = schema.maximum ?? 1_000_000_000;
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max, min - 1, max + 1, 0, 2 ** 31));
    }
    case 'number':
      return fc.double({ noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string': {
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.format === 'date-time')
        return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
      if (schema.pattern === '^[A-Z]{3}$') return fc.constantFrom('EUR', 'USD', 'GBP', 'XXX');
      if (schema.pattern === '^[A-Z]{2}$') return fc.constantFrom('DE', 'FR', 'GB', 'US', 'JP');
      const maxLength = Math.min(schema.maxLength ?? 60, 60);
      return fc.oneof(fc.string({ minLength: schema.minLength ?? 0, maxLength }), nasty);
    }
    default:
      return value;
  }
}

describe.each(dbKinds)('every operation under arbitrary input on %s', (kind) => {
  let system: TestSystem;
  let operations: Operation[];
  let callers: Array<Record<string, string>>;
  let known: { variant: TestVariant; orderId?: string };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    const staff = await signIn(system, 'staff');
    const customer: SignedInUser = await signIn(system);
    callers = [{}, customer.headers, staff.headers];
    known = { variant: await createProduct(system, staff, { stock: 1000 }) };
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) =>
        METHODS.filter((method) => item[method] && !SKIPPED.has(`${method.toUpperCase()} ${path}`)).map(
          (method) => ({
            method: method.toUpperCase() as Operation['method'],
            path,
            parameters: [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]),
            body: (item[method] as { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } })
              .requestBody?.content?.['application/json']?.schema,
          }),
        ),
    );
  });
  afterAll(() => system.dispose());

  const send = async (operation: Operation, url: string, headers: Record<string, string>, body?: string) => {
    const withBody = operation.method !== 'GET' && operation.method !== 'DELETE';
    const response = await system.app.inject({
      method: operation.method,
      url,
      headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) },
      ...(withBody && body !== undefined ? { payload: body } : {}),
    });
    const label = `${operation.method} ${url} ${body?.slice(0, 200) ?? ''} → ${response.statusCode} ${response.body.slice(0, 300)}`;
    expect(response.statusCode, label).toBeLessThan(500);
    if (response.statusCode >= 400) {
      expect(response.headers['content-type'], label).toMatch(/^application\/(problem\+)?json/);
    }
  };

  it(`answers ${RUNS} requests shaped like each operation's schema, valid or just off, never with a 5xx`, async () => {
    const withBodies = operations.filter((operation) => operation.body);
    const request = fc.nat({ max: withBodies.length - 1 }).chain((index) =>
      fc.record({
        operation: fc.constant(withBodies[index]),
        body: shaped(withBodies[index].body),
        caller: fc.constantFrom(1, 2, 2),
        key: fc.uuid(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ({ operation, body, caller, key }) => {
        const url = operation.path.replace(/\{[^}]+\}/g, (name) =>
          encodeURIComponent(name === '{sku}' ? known.variant.sku : known.variant.productId),
        );
        await send(operation, url, { ...callers[caller], 'idempotency-key': key }, JSON.stringify(body));
      }),
      { numRuns: RUNS },
    );
  });

  it(`answers ${RUNS} arbitrary requests across every operation with a 4xx or a success, never a 5xx`, async () => {
    // Path parameters: real ids some of the time, so requests get past "not found" into the logic.
    const parameter = fc.oneof(
      text,
      fc.uuid(),
      fc.constant(known.variant.productId),
      fc.constant(known.variant.variantId),
      fc.constant(known.variant.sku),
    );
    const request = fc.record({
      operation: fc.nat({ max: 10_000 }),
      caller: fc.nat({ max: 2 }),
      parameters: fc.array(parameter, { minLength: 3, maxLength: 3 }),
      query: fc.dictionary(
        fc.constantFrom('page', 'size', 'sort', 'q', 'cursor', 'status', 'country', 'w'),
        text,
        {
          maxKeys: 3,
        },
      ),
      body: fc.oneof(value, fc.dictionary(text, value, { maxKeys: 5 }), fc.string({ maxLength: 200 })),
      raw: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const operation = operations[input.operation % operations.length];
        let index = 0;
        const url =
          operation.path.replace(/\{[^}]+\}/g, () =>
            encodeURIComponent(String(input.parameters[index++]).toWellFormed()),
          ) + (Object.keys(input.query).length > 0 ? `?${new URLSearchParams(input.query)}` : '');
        const withBody = operation.method !== 'GET' && operation.method !== 'DELETE';
        const response = await system.app.inject({
          method: operation.method,
          url,
          headers: {
            ...callers[input.caller],
            ...(withBody
              ? { 'content-type': 'application/json', 'idempotency-key': `fuzz-${input.operation}` }
              : {}),
          },
          ...(withBody
            ? {
                payload:
                  input.raw && typeof input.body === 'string' ? input.body : JSON.stringify(input.body),
              }
            : {}),
        });
        const label = `${operation.method} ${url} → ${response.statusCode} ${response.body.slice(0, 300)}`;
        expect(response.statusCode, label).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expect(response.headers['content-type'], label).toMatch(/^application\/(problem\+)?json/);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
