import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
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
  /** The body's media type and schema, when the operation takes one. */
  body?: { mediaType: string; schema: JsonSchema };
  /** The statuses the document lists, with the media types each may carry. */
  responses: Record<string, { content?: Record<string, unknown> }>;
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

interface DocumentedOperation {
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses: Operation['responses'];
}

function bodyOf(operation: DocumentedOperation): Operation['body'] {
  const [mediaType, entry] = Object.entries(operation.requestBody?.content ?? {})[0] ?? [];
  return mediaType && entry?.schema ? { mediaType, schema: entry.schema } : undefined;
}

/** JSON pointer of a key (RFC 6901). */
const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The contract is the document: every answer's status is one the operation lists, and its body
 * validates against the schema the document gives for that status and media type.
 */
describe.each(dbKinds)('the server answers as its OpenAPI document says, on %s', (kind) => {
  let system: TestSystem;
  let operations: Operation[];
  let ajv: Ajv2020;
  let callers: Array<Record<string, string>>;
  let known: { variant: TestVariant; orderId?: string };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    const staff = await signIn(system, 'staff');
    const customer: SignedInUser = await signIn(system);
    callers = [{}, customer.headers, staff.headers];
    known = { variant: await createProduct(system, staff, { stock: 1000 }) };
    const document = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(ajv);
    ajv.addSchema(document, 'openapi');
    operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) =>
        METHODS.filter((method) => item[method] && !SKIPPED.has(`${method.toUpperCase()} ${path}`)).map(
          (method) => ({
            method: method.toUpperCase() as Operation['method'],
            path,
            parameters: [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]),
            body: bodyOf(item[method] as DocumentedOperation),
            responses: (item[method] as DocumentedOperation).responses,
          }),
        ),
    );
  });
  afterAll(() => system.dispose());

  /** Sends a request and checks the answer against the operation's documented responses. */
  const send = async (operation: Operation, url: string, headers: Record<string, string>, body?: string) => {
    const response = await system.app.inject({
      method: operation.method,
      url,
      headers: {
        ...headers,
        ...(body !== undefined ? { 'content-type': operation.body?.mediaType ?? 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: body } : {}),
    });
    const label = `${operation.method} ${url} ${body?.slice(0, 200) ?? ''} → ${response.statusCode} ${response.body.slice(0, 300)}`;
    expect(response.statusCode, label).toBeLessThan(500);
    const status = String(response.statusCode);
    const documented = operation.responses[status];
    expect(documented, `${label}: status not in the document`).toBeDefined();
    if (response.statusCode === 201)
      expect(response.headers.location, `${label}: 201 without Location`).toBeDefined();
    if (!response.body) return;
    const mediaType = String(response.headers['content-type']).split(';')[0];
    expect(Object.keys(documented.content ?? {}), `${label}: media type not documented`).toContain(mediaType);
    // A CSV or an image is checked by its media type; JSON answers by their schema too.
    if (!/[/+]json$/.test(mediaType)) return;
    const schemaRef = `openapi#/paths/${pointer(operation.path)}/${operation.method.toLowerCase()}/responses/${status}/content/${pointer(mediaType)}/schema`;
    const validate = ajv.getSchema(schemaRef) ?? ajv.compile({ $ref: schemaRef });
    expect(validate(response.json()), `${label}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  };

  it(`answers ${RUNS} requests shaped like each operation's schema (valid or just off) as documented, never with a 5xx`, async () => {
    const withBodies = operations.filter((operation) => operation.body);
    const request = fc.nat({ max: withBodies.length - 1 }).chain((index) =>
      fc.record({
        operation: fc.constant(withBodies[index]),
        body: shaped(withBodies[index].body!.schema),
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

  it(`answers ${RUNS} arbitrary requests across every operation as documented, never with a 5xx`, async () => {
    // Path parameters: real ids some of the time, so requests get past "not found" into the logic.
    // Never empty: an empty segment names another path (the collection), not this operation.
    const parameter = fc.oneof(
      // "." and ".." are dot segments: a client resolves them away (RFC 3986), so they name another path.
      text.filter((candidate) => candidate.length > 0 && candidate !== '.' && candidate !== '..'),
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
        // Bodies sometimes, to operations with or without one: both must answer as documented.
        const body = input.raw && typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
        const sendBody = operation.method !== 'GET' && (operation.body !== undefined || input.raw);
        await send(
          operation,
          url,
          { ...callers[input.caller], 'idempotency-key': `fuzz-${input.operation}` },
          sendBody ? body : undefined,
        );
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the OpenAPI document under Redocly's recommended rules", () => {
  /**
   * Warnings the rules raise that are right for this API: signing in with a provider answers a
   * redirect (302), and the stream answers a protocol switch (101); neither has a 2xx.
   */
  const ACCEPTED = new Set([
    'operation-2xx-response #/paths/~1v1~1auth~1oidc~1{provider}~1start/get/responses',
    'operation-2xx-response #/paths/~1v1~1stream/get/responses',
  ]);

  it('has no errors, and no warnings but the accepted ones', async () => {
    const system = await createTestSystem('pglite');
    try {
      const source = (await system.app.inject({ method: 'GET', url: '/openapi.json' })).body;
      const findings = await lintFromString({
        source,
        absoluteRef: 'openapi.json',
        config: await createConfig({ extends: ['recommended'] }),
      });
      const described = findings.map(
        (finding) =>
          `${finding.severity} ${finding.ruleId} ${finding.location[0]?.pointer}: ${finding.message}`,
      );
      expect(described.filter((line) => line.startsWith('error'))).toEqual([]);
      expect(
        findings
          .filter((finding) => !ACCEPTED.has(`${finding.ruleId} ${finding.location[0]?.pointer}`))
          .map((finding) => `${finding.ruleId} ${finding.location[0]?.pointer}: ${finding.message}`),
      ).toEqual([]);
    } finally {
      await system.dispose();
    }
  });
});
