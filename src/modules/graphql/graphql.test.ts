import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { addToCart, checkout, createProduct, type TestVariant } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';

describe.each(dbKinds)('GraphQL on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  let products: TestVariant[];
  const exporter = new InMemorySpanExporter();
  const logLines: Array<{ level: number; msg?: string }> = [];

  const graphql = async (
    query: string,
    variables?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => {
    const response = await system.app.inject({
      method: 'POST',
      url: '/graphql',
      headers,
      payload: { query, variables },
    });
    return { status: response.statusCode, body: response.json() };
  };

  beforeAll(async () => {
    // A low depth limit so a query this schema allows can still exceed it.
    system = await createTestSystem(
      kind,
      { GRAPHQL_MAX_DEPTH: '4', LOG_LEVEL: 'warn' },
      {},
      { spanExporter: exporter, logLines },
    );
    staff = await signIn(system, 'staff');
    products = [];
    for (let index = 0; index < 20; index++) {
      // The first ten are bought three times below (by their reviewers), leaving 3 + index available.
      products.push(
        await createProduct(system, staff, { price: 1000 + index, stock: 3 + index + (index < 10 ? 3 : 0) }),
      );
    }
    // Reviews are for buyers: each reviewer buys the first ten products in one order.
    const reviewers = await Promise.all([signIn(system), signIn(system), signIn(system)]);
    for (const reviewer of reviewers) {
      for (const product of products.slice(0, 10)) await addToCart(system, reviewer, product.variantId);
      expect((await checkout(system, reviewer)).statusCode).toBe(201);
    }
    for (const [index, reviewer] of reviewers.entries()) {
      for (const product of products.slice(0, 10)) {
        const answer = await system.app.inject({
          method: 'POST',
          url: `/v1/products/${product.productId}/reviews`,
          headers: reviewer.headers,
          payload: { rating: index + 3, body: `Review ${index} of ${product.sku}` },
        });
        expect(answer.statusCode).toBe(201);
      }
    }
  });
  afterAll(() => system.dispose());

  it('products: filters, sort and cursor pagination from the catalog listing', async () => {
    const query = `query Page($after: String) {
      products(minPrice: 1000, maxPrice: 1004, sort: "price", first: 2, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { id name variants { sku available } }
      }
    }`;
    const prices: number[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { status, body } = await graphql(query, { after });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      const page = body.data.products;
      expect(page.totalCount).toBe(5);
      for (const node of page.nodes) {
        const made = products.find((product) => product.productId === node.id)!;
        expect(node.variants).toEqual([{ sku: made.sku, available: made.price - 997 }]);
        prices.push(made.price);
      }
      after = page.pageInfo.endCursor;
      expect(page.pageInfo.hasNextPage).toBe(after !== null);
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(prices).toEqual([1000, 1001, 1002, 1003, 1004]);
  });

  it('product(id): variants and its newest reviews; an unknown or malformed id is null', async () => {
    const [first] = products;
    const { body } = await graphql(
      `query One($id: ID!) { product(id: $id) { id rating { count } variants { sku available price { amount currency } } reviews(first: 2) { rating body } } }`,
      { id: first.productId },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.product).toMatchObject({ id: first.productId, rating: { count: 3 } });
    expect(body.data.product.variants).toEqual([
      { sku: first.sku, available: 3, price: { amount: first.price, currency: 'EUR' } },
    ]);
    expect(body.data.product.reviews.map((review: { rating: number }) => review.rating)).toEqual([5, 4]);
    for (const id of [randomUUID(), 'not-an-id']) {
      const missing = await graphql('query($id: ID!) { product(id: $id) { id } }', { id });
      expect(missing).toEqual({ status: 200, body: { data: { product: null } } });
    }
  });

  it("20 products' reviews load in one batched query, the same as for 2 products", async () => {
    const reviewQueries = async (first: number) => {
      exporter.reset();
      const { body } = await graphql(
        `query($first: Int) { products(first: $first, sort: "price") { nodes { id reviews(first: 2) { rating } } } }`,
        { first },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.products.nodes).toHaveLength(first);
      const statements = exporter
        .getFinishedSpans()
        .filter((span) => span.attributes['db.system'] === 'postgresql')
        .map((span) => String(span.attributes['db.query.text']));
      return { body, statements: statements.filter((text) => /from reviews/i.test(text)) };
    };
    const few = await reviewQueries(2);
    const many = await reviewQueries(20);
    expect(few.statements).toHaveLength(1);
    expect(many.statements).toHaveLength(1);
    const counts = many.body.data.products.nodes.map((node: { reviews: unknown[] }) => node.reviews.length);
    expect(counts).toEqual([...Array(10).fill(2), ...Array(10).fill(0)]);
  });

  it('me and myOrders need the Bearer access token; without one the code is UNAUTHENTICATED', async () => {
    const buyer = await signIn(system);
    const anonymous: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-a-token' },
      { authorization: 'Basic x' },
    ];
    for (const headers of anonymous) {
      const { status, body } = await graphql('{ me { id } }', undefined, headers);
      expect(status).toBe(200);
      expect(body.data).toBeNull();
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(body.errors[0].path).toEqual(['me']);
    }
    expect((await addToCart(system, buyer, products[5].variantId, 2)).statusCode).toBe(201);
    expect((await checkout(system, buyer)).statusCode).toBe(201);
    const { body } = await graphql(
      '{ me { id email role } myOrders(first: 5) { id status total { amount currency } items { sku quantity } } }',
      undefined,
      buyer.headers,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.me).toEqual({ id: buyer.id, email: buyer.email, role: 'customer' });
    expect(body.data.myOrders).toHaveLength(1);
    expect(body.data.myOrders[0]).toMatchObject({
      status: 'confirmed',
      items: [{ sku: products[5].sku, quantity: 2 }],
    });
    // Staff see only their own orders here too.
    const staffOrders = await graphql('{ myOrders { id } }', undefined, staff.headers);
    expect(staffOrders.body.data.myOrders).toEqual([]);
  });

  it('refuses too deep and too costly queries with 400 and a stable code; introspection works', async () => {
    const deep = await graphql('{ products { nodes { variants { price { amount } } } } }');
    expect(deep.status).toBe(400);
    expect(deep.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', maxDepth: 4 });
    const costly = `query($n: Int) { products(first: $n) { nodes { id name reviews(first: 100) { id body rating } } } }`;
    const refused = await graphql(costly, { n: 100 });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 5000 });
    expect((await graphql(costly, { n: 2 })).status).toBe(200);

    const introspection = await graphql(getIntrospectionQuery());
    expect(introspection.status).toBe(200);
    const names = introspection.body.data.__schema.types.map((type: { name: string }) => type.name);
    expect(names).toEqual(expect.arrayContaining(['Product', 'ProductConnection', 'Order', 'Review']));
  });

  it('bad input is an error with a code, never a 5xx', async () => {
    const cases: Array<[string, Record<string, unknown> | undefined, string]> = [
      ['{ products(first: 0) { totalCount } }', undefined, 'BAD_USER_INPUT'],
      ['{ products(first: 101) { totalCount } }', undefined, 'BAD_USER_INPUT'],
      ['{ products(after: "garbage") { totalCount } }', undefined, 'INVALID_CURSOR'],
      ['{ products(minPrice: 5, maxPrice: 1) { totalCount } }', undefined, 'INVALID_PRICE_RANGE'],
      ['{ products { nope } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
      ['{ products(', undefined, 'GRAPHQL_VALIDATION_FAILED'],
      ['query($id: ID!) { product(id: $id) { id } }', {}, 'GRAPHQL_VALIDATION_FAILED'],
    ];
    for (const [query, variables, code] of cases) {
      const { status, body } = await graphql(query, variables);
      expect(status, query).toBeLessThan(500);
      expect(body.errors[0].extensions.code, query).toBe(code);
    }
  });

  it('answers malformed requests with 400 and a GraphQL error, and logs nothing at error level', async () => {
    const requests = [
      { payload: {}, headers: { 'content-type': 'application/json' } },
      { payload: '{"query":', headers: { 'content-type': 'application/json' } },
      { payload: '', headers: { 'content-type': 'application/json' } },
      { payload: '[1, 2]', headers: { 'content-type': 'application/json' } },
      { payload: 'query { products { totalCount } }', headers: { 'content-type': 'text/plain' } },
      { payload: { query: 5 }, headers: { 'content-type': 'application/json' } },
      { payload: { query: '{ products { totalCount } }', operationName: 'Nope' }, headers: {} },
      { payload: { query: '{ products { totalCount } }', variables: 'x' }, headers: {} },
      { payload: { query: 'mutation { anything }' }, headers: {} },
    ];
    const before = logLines.length;
    for (const request of requests) {
      const response = await system.app.inject({ method: 'POST', url: '/graphql', ...request });
      const label = JSON.stringify(request.payload);
      expect(response.statusCode, label).toBe(400);
      const body = response.json();
      expect(body.errors[0].message, label).toEqual(expect.any(String));
      expect(body.errors[0].extensions.code, label).not.toBe('INTERNAL_SERVER_ERROR');
      expect(body.errors[0].message, label).not.toBe('Internal error');
    }
    const get = await system.app.inject({ method: 'GET', url: '/graphql' });
    expect(get.statusCode).toBe(400);
    expect(get.json().errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(logLines.slice(before).filter((line) => line.level >= 50)).toEqual([]);
  });

  it('counts introspection toward the cost: the standard query fits, several copies of it do not', async () => {
    const single = await graphql(getIntrospectionQuery());
    expect(single.status).toBe(200);
    const fragmentStart = getIntrospectionQuery().indexOf('fragment FullType');
    const fragments = getIntrospectionQuery().slice(fragmentStart);
    const copies = Array.from({ length: 3 }, (_, index) => `s${index}: __schema { types { ...FullType } }`);
    const several = await graphql(`query { ${copies.join(' ')} } ${fragments}`);
    expect(several.status).toBe(400);
    expect(several.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    // Nesting through type references multiplies like any list.
    const nested = await graphql(
      '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }',
    );
    expect(nested.status).toBe(400);
    expect(nested.body.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('bounds aliases and fields per operation, even when fragments spread each other many times', async () => {
    const aliased = Array.from(
      { length: 21 },
      (_, index) => `p${index}: product(id: "${randomUUID()}") { id }`,
    );
    const tooManyAliases = await graphql(`{ ${aliased.join(' ')} }`);
    expect(tooManyAliases.status).toBe(400);
    expect(tooManyAliases.body.errors[0].extensions).toMatchObject({
      code: 'QUERY_TOO_MANY_ALIASES',
      maxAliases: 20,
    });
    expect((await graphql(`{ ${aliased.slice(0, 20).join(' ')} }`)).status).toBe(200);

    // Each fragment spreads the next twice: 2^20 fields if expanded naively.
    const levels = Array.from(
      { length: 20 },
      (_, index) => `fragment F${index} on Product { ...F${index + 1} ...F${index + 1} }`,
    );
    const bomb = `{ products(first: 1) { nodes { ...F0 } } } ${levels.join(' ')} fragment F20 on Product { id }`;
    const started = Date.now();
    const exploded = await graphql(bomb);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(exploded.status).toBe(400);
    expect(
      exploded.body.errors.map((error: { extensions: { code: string } }) => error.extensions.code),
    ).toContain('QUERY_TOO_MANY_FIELDS');
  });
});

describe('GraphQL introspection switch', () => {
  // Production names its payment provider; introspection never calls it.
  const PROVIDER = { PAYMENTS_PROVIDER: 'sandbox', PAYMENTS_URL: 'http://127.0.0.1:9' };
  it('is off by default in production and on in development; __typename always works', async () => {
    for (const [env, allowed] of [
      [{ NODE_ENV: 'production', ...PROVIDER }, false],
      [{ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', ...PROVIDER }, true],
      [{}, true],
      [{ GRAPHQL_INTROSPECTION: 'false' }, false],
    ] as const) {
      const system = await createTestSystem('pglite', env);
      try {
        const post = (query: string) =>
          system.app.inject({ method: 'POST', url: '/graphql', payload: { query } });
        const schema = await post('{ __schema { queryType { name } } }');
        const type = await post('{ __type(name: "Product") { name } }');
        expect(schema.statusCode, JSON.stringify(env)).toBe(allowed ? 200 : 400);
        expect(type.statusCode, JSON.stringify(env)).toBe(allowed ? 200 : 400);
        if (!allowed) expect(schema.json().errors[0].extensions.code).toBe('INTROSPECTION_DISABLED');
        expect((await post('{ __typename }')).json()).toEqual({ data: { __typename: 'Query' } });
      } finally {
        await system.dispose();
      }
    }
  });
});
