import { randomUUID } from 'node:crypto';
import type { Options, Request } from 'autocannon';
import { BENCH_ADMIN } from './server.ts';

/** What a scenario's requests are aimed at, and the load shape. */
export interface Target {
  url: string;
  connections: number;
  catalog: Catalog;
}

/** Counts a scenario keeps beyond autocannon's own (checkout counts orders). */
export type Counters = Record<string, number>;

export type Preparation =
  | { available: true; note?: string; options(counters: Counters): Omit<Options, 'url' | 'duration'> }
  | { available: false; note: string };

export interface Scenario {
  name: string;
  description: string;
  prepare(target: Target): Promise<Preparation>;
}

export interface Catalog {
  /** The products.list answer as the server sent it, when the route exists. */
  listBody: string | undefined;
  /** Why the catalog could not be read, when it could not. */
  unavailable: string | undefined;
  total: number;
  products: Array<{ id: string; name: string; categories: string[]; price: number | undefined }>;
  variants: Array<{ id: string; sku: string; available: number }>;
}

interface Answer {
  status: number;
  text: string;
  json: any;
}

export async function call(
  url: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** The server has no such route (yet): its 404 handler says "No route", or the method is not served. */
function routeMissing(answer: Answer): boolean {
  return (
    answer.status === 405 ||
    (answer.status === 404 &&
      typeof answer.json?.detail === 'string' &&
      answer.json.detail.startsWith('No route'))
  );
}

function describeAnswer(what: string, answer: Answer): string {
  if (routeMissing(answer)) return `${what}: route not on this server (${answer.status})`;
  const code = answer.json?.code ? ` ${answer.json.code}` : '';
  return `${what} answered ${answer.status}${code}: ${answer.text.slice(0, 200)}`;
}

const DISCOVERY_PAGE_SIZE = 100;
const DISCOVERY_MAX_PAGES = 20;

/** Reads the seeded catalog through the public API: the ids, variants, names and prices to aim at. */
export async function discoverCatalog(url: string): Promise<Catalog> {
  const catalog: Catalog = {
    listBody: undefined,
    unavailable: undefined,
    total: 0,
    products: [],
    variants: [],
  };
  const first = await call(url, 'GET', '/v1/products');
  if (first.status !== 200) {
    catalog.unavailable = describeAnswer('GET /v1/products', first);
    return catalog;
  }
  catalog.listBody = first.text;
  catalog.total = Number(first.json?.total ?? 0);
  for (let page = 1; page <= DISCOVERY_MAX_PAGES; page++) {
    const answer = await call(url, 'GET', `/v1/products?page=${page}&size=${DISCOVERY_PAGE_SIZE}`);
    const items: any[] = answer.status === 200 && Array.isArray(answer.json?.items) ? answer.json.items : [];
    for (const item of items) {
      const variants: any[] = Array.isArray(item.variants) ? item.variants : [];
      catalog.products.push({
        id: String(item.id),
        name: String(item.name ?? ''),
        categories: Array.isArray(item.categories) ? item.categories.map(String) : [],
        price: typeof variants[0]?.price?.amount === 'number' ? variants[0].price.amount : undefined,
      });
      for (const variant of variants) {
        catalog.variants.push({
          id: String(variant.id),
          sku: String(variant.sku),
          available: typeof variant.available === 'number' ? variant.available : 0,
        });
      }
    }
    if (items.length < DISCOVERY_PAGE_SIZE) break;
  }
  return catalog;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

function catalogMissing(target: Target): Preparation | undefined {
  if (target.catalog.unavailable) return { available: false, note: target.catalog.unavailable };
  if (target.catalog.products.length === 0) return { available: false, note: 'the catalog is empty' };
  return undefined;
}

const productsList: Scenario = {
  name: 'products.list',
  description: 'GET /v1/products (first page, 20 items)',
  async prepare(target) {
    if (target.catalog.unavailable) return { available: false, note: target.catalog.unavailable };
    return { available: true, options: () => ({ requests: [{ method: 'GET', path: '/v1/products' }] }) };
  },
};

const productsGet: Scenario = {
  name: 'products.get',
  description: 'GET /v1/products/{id} with a random seeded id',
  async prepare(target) {
    const missing = catalogMissing(target);
    if (missing) return missing;
    const paths = target.catalog.products.map((product) => `/v1/products/${product.id}`);
    const probe = await call(target.url, 'GET', paths[0]);
    if (probe.status !== 200) return { available: false, note: describeAnswer(`GET ${paths[0]}`, probe) };
    return {
      available: true,
      options: () => ({
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: pick(paths) }) }],
      }),
    };
  },
};

/** A word of at least four letters from a product name, so the search finds that product. */
function searchWord(name: string): string | undefined {
  return name
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .find((word) => word.length >= 4);
}

const productsSearch: Scenario = {
  name: 'products.search',
  description:
    'GET /v1/products?q=<word from a product name>&category=<its category> (or maxPrice=<its price>)',
  async prepare(target) {
    const missing = catalogMissing(target);
    if (missing) return missing;
    const paths: string[] = [];
    for (const product of target.catalog.products.slice(0, 200)) {
      const word = searchWord(product.name);
      if (!word) continue;
      const filter =
        product.categories.length > 0
          ? `category=${encodeURIComponent(product.categories[0])}`
          : product.price !== undefined
            ? `maxPrice=${product.price}`
            : undefined;
      if (filter) paths.push(`/v1/products?q=${encodeURIComponent(word)}&${filter}`);
    }
    if (paths.length === 0)
      return { available: false, note: 'no product has a name word and a filterable field' };
    const probe = await call(target.url, 'GET', paths[0]);
    if (probe.status !== 200) return { available: false, note: describeAnswer(`GET ${paths[0]}`, probe) };
    const note =
      Array.isArray(probe.json?.items) && probe.json.items.length === 0
        ? `the probe search ${paths[0]} found nothing`
        : undefined;
    return {
      available: true,
      note,
      options: () => ({
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: pick(paths) }) }],
      }),
    };
  },
};

const SHIPPING_ADDRESS = {
  name: 'Bench Shopper',
  line1: '1 Load Street',
  city: 'Berlin',
  postalCode: '10115',
  country: 'DE',
};
const ORDER_BODY = JSON.stringify({ shippingAddress: SHIPPING_ADDRESS, payment: { token: 'tok_visa' } });
const CHECKOUT_VARIANTS = 64;
const TOP_UP_ON_HAND = 1_000_000;
const REGISTER_CONCURRENCY = 4;

async function registerShopper(url: string, label: string): Promise<{ token?: string; answer: Answer }> {
  const answer = await call(url, 'POST', '/v1/auth/register', {
    body: { email: `bench-${label}-${randomUUID()}@emporium.local`, password: 'bench-password', name: label },
  });
  return { token: answer.status === 201 ? String(answer.json.accessToken) : undefined, answer };
}

/** Raises stock on the variants checkout buys so the run measures orders, not OUT_OF_STOCK. */
async function topUpStock(url: string, skus: string[]): Promise<string | undefined> {
  const login = await call(url, 'POST', '/v1/auth/login', { body: BENCH_ADMIN });
  if (login.status !== 200) return describeAnswer('admin login for the stock top-up', login);
  for (const sku of skus) {
    const answer = await call(url, 'PUT', `/v1/inventory/${encodeURIComponent(sku)}`, {
      token: String(login.json.accessToken),
      body: { onHand: TOP_UP_ON_HAND },
    });
    if (answer.status !== 200) return describeAnswer(`stock top-up PUT /v1/inventory/${sku}`, answer);
  }
  return undefined;
}

const checkout: Scenario = {
  name: 'checkout',
  description:
    'per connection one signed-in shopper: POST /v1/cart/items, then POST /v1/orders (Idempotency-Key, tok_visa)',
  async prepare(target) {
    const missing = catalogMissing(target);
    if (missing) return missing;
    const variants = [...target.catalog.variants]
      .filter((variant) => variant.available > 0)
      .sort((a, b) => b.available - a.available)
      .slice(0, CHECKOUT_VARIANTS);
    if (variants.length === 0) return { available: false, note: 'no seeded variant has stock' };
    const topUpProblem = await topUpStock(
      target.url,
      variants.map((variant) => variant.sku),
    );

    // One full checkout first: the routes exist and an order goes through.
    const probe = await registerShopper(target.url, 'probe');
    if (!probe.token)
      return { available: false, note: describeAnswer('POST /v1/auth/register', probe.answer) };
    const added = await call(target.url, 'POST', '/v1/cart/items', {
      token: probe.token,
      body: { variantId: variants[0].id, quantity: 1 },
    });
    if (added.status !== 201 && added.status !== 200)
      return { available: false, note: describeAnswer('POST /v1/cart/items', added) };
    const ordered = await call(target.url, 'POST', '/v1/orders', {
      token: probe.token,
      headers: { 'idempotency-key': randomUUID() },
      body: JSON.parse(ORDER_BODY),
    });
    if (ordered.status !== 201 && ordered.status !== 202)
      return { available: false, note: describeAnswer('POST /v1/orders', ordered) };

    const tokens: string[] = [];
    while (tokens.length < target.connections) {
      const batch = Math.min(REGISTER_CONCURRENCY, target.connections - tokens.length);
      const shoppers = await Promise.all(
        Array.from({ length: batch }, (_, index) =>
          registerShopper(target.url, `vu${tokens.length + index}`),
        ),
      );
      for (const shopper of shoppers) {
        if (!shopper.token)
          return { available: false, note: describeAnswer('POST /v1/auth/register', shopper.answer) };
        tokens.push(shopper.token);
      }
    }

    const variantIds = variants.map((variant) => variant.id);
    return {
      available: true,
      note: topUpProblem ? `stock not topped up (${topUpProblem})` : undefined,
      options(counters) {
        counters.orders = 0;
        let nextShopper = 0;
        const requestsFor = (token: string): Request[] => {
          const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
          return [
            {
              method: 'POST',
              path: '/v1/cart/items',
              headers,
              setupRequest: (request) => ({
                ...request,
                body: JSON.stringify({ variantId: pick(variantIds), quantity: 1 }),
              }),
            },
            {
              method: 'POST',
              path: '/v1/orders',
              body: ORDER_BODY,
              setupRequest: (request) => ({
                ...request,
                headers: { ...headers, 'idempotency-key': randomUUID() },
              }),
              onResponse: (status) => {
                if (status === 201 || status === 202) counters.orders++;
              },
            },
          ];
        };
        return {
          requests: requestsFor(tokens[0]),
          // Each connection is one shopper with a cart of its own.
          setupClient: (client) => client.setRequests(requestsFor(tokens[nextShopper++ % tokens.length])),
        };
      },
    };
  },
};

export const SCENARIOS: readonly Scenario[] = [productsList, productsGet, productsSearch, checkout];
export const BASELINE = 'baseline';

/**
 * A products.list-shaped answer (20 products as API.md describes them) for the baseline to send
 * when the real server has no catalog to copy the body from.
 */
export function syntheticListBody(): string {
  const now = new Date('2026-01-01T00:00:00Z').toISOString();
  const items = Array.from({ length: 20 }, (_, index) => ({
    id: `0193a6f0-0000-7000-8000-${String(index).padStart(12, '0')}`,
    name: `Demo product ${index + 1}`,
    slug: `demo-product-${index + 1}`,
    description: 'A sturdy, everyday demo product used to size the benchmark baseline body.',
    categories: ['demo'],
    variants: [
      {
        id: `0193a6f0-0001-7000-8000-${String(index).padStart(12, '0')}`,
        sku: `DEMO-${index + 1}`,
        price: { amount: 1999 + index, currency: 'EUR' },
        attributes: { colour: 'blue', size: 'M' },
        available: 100,
      },
    ],
    rating: { average: 4.2, count: 17 },
    createdAt: now,
    updatedAt: now,
  }));
  return JSON.stringify({ items, page: 1, size: 20, total: 1000 });
}
