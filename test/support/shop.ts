import { randomUUID } from 'node:crypto';
import type { SignedInUser } from './auth.ts';
import type { TestSystem } from './system.ts';

/**
 * A function that calls the API in-process as `user` (their headers), with a JSON body and any
 * further headers. `system` is asked for on each call: a suite makes it in `beforeAll`.
 */
export function apiCaller(system: () => TestSystem) {
  return (
    method: string,
    url: string,
    user?: Shopper,
    payload?: object,
    headers: Record<string, string> = {},
  ) =>
    system().app.inject({ method: method as 'GET', url, headers: { ...user?.headers, ...headers }, payload });
}

export const ADDRESS = {
  name: 'Ada Lovelace',
  line1: '1 Analytical St',
  city: 'London',
  postalCode: 'N1 9GU',
  country: 'GB',
};

/** A German address: 19 % VAT, in the tests' tax-inclusive EU region where they make one. */
export const BERLIN = { ...ADDRESS, city: 'Berlin', postalCode: '10115', country: 'DE' };

export interface TestVariant {
  productId: string;
  variantId: string;
  sku: string;
  price: number;
}

/** Creates a one-variant product through the staff API, with this much stock. */
export async function createProduct(
  system: TestSystem,
  staff: SignedInUser,
  options: {
    price?: number;
    stock?: number;
    name?: string;
    /** Prices in other currencies than the store's EUR. */
    prices?: Array<{ amount: number; currency: string }>;
    categorySlugs?: string[];
  } = {},
): Promise<TestVariant> {
  const sku = `SKU-${randomUUID().slice(0, 13)}`;
  const price = options.price ?? 1999;
  const response = await system.app.inject({
    method: 'POST',
    url: '/v1/products',
    headers: staff.headers,
    payload: {
      name: options.name ?? `Test product ${sku}`,
      description: 'A product made by a test',
      ...(options.categorySlugs ? { categorySlugs: options.categorySlugs } : {}),
      variants: [
        {
          sku,
          price: { amount: price, currency: 'EUR' },
          stock: options.stock ?? 10,
          attributes: { size: 'M' },
          ...(options.prices ? { prices: options.prices } : {}),
        },
      ],
    },
  });
  if (response.statusCode !== 201)
    throw new Error(`product create failed: ${response.statusCode} ${response.body}`);
  const product = response.json();
  return { productId: product.id, variantId: product.variants[0].id, sku, price };
}

/** Whoever shops: a signed-in user, or a guest (`{ headers: { 'cart-token': … } }`). */
export interface Shopper {
  headers: Record<string, string>;
}

/** A guest's new cart, and the headers that carry its token. */
export async function startGuestCart(system: TestSystem, remoteAddress = '127.0.0.1') {
  const response = await system.app.inject({ method: 'POST', url: '/v1/carts', remoteAddress });
  if (response.statusCode !== 201)
    throw new Error(`guest cart failed: ${response.statusCode} ${response.body}`);
  const { cartToken } = response.json() as { cartToken: string };
  return { cartToken, headers: { 'cart-token': cartToken } };
}

export async function addToCart(system: TestSystem, user: Shopper, variantId: string, quantity = 1) {
  return system.app.inject({
    method: 'POST',
    url: '/v1/cart/items',
    headers: user.headers,
    payload: { variantId, quantity },
  });
}

export async function checkout(
  system: TestSystem,
  user: Shopper,
  options: {
    token?: string;
    key?: string;
    address?: object;
    expectedTotal?: { amount: number; currency: string };
    /** A guest's address for the confirmation. */
    email?: string;
  } = {},
) {
  return system.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...user.headers, 'idempotency-key': options.key ?? randomUUID() },
    payload: {
      shippingAddress: options.address ?? ADDRESS,
      payment: { token: options.token ?? 'tok_visa' },
      ...(options.expectedTotal ? { expectedTotal: options.expectedTotal } : {}),
      ...(options.email !== undefined ? { email: options.email } : {}),
    },
  });
}

export async function review(
  system: TestSystem,
  buyer: SignedInUser,
  productId: string,
  input: { rating: number; title?: string; body: string },
) {
  return system.app.inject({
    method: 'POST',
    url: `/v1/products/${productId}/reviews`,
    headers: buyer.headers,
    payload: input,
  });
}

/** Ships every unit of the order's first line. */
export async function shipFirstLine(
  system: TestSystem,
  staff: SignedInUser,
  order: { id: string; items: Array<{ id: string; quantity: number }> },
  parcel: { carrier: string; trackingNumber: string },
) {
  const [line] = order.items;
  return system.app.inject({
    method: 'POST',
    url: `/v1/orders/${order.id}/fulfillments`,
    headers: staff.headers,
    payload: { items: [{ orderItemId: line.id, quantity: line.quantity }], ...parcel },
  });
}

export async function stockOf(system: TestSystem, staff: SignedInUser, sku: string) {
  const response = await system.app.inject({
    method: 'GET',
    url: `/v1/inventory/${sku}`,
    headers: staff.headers,
  });
  return response.json() as { onHand: number; reserved: number; available: number };
}

/** Polls until `check` returns a value or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

interface PricedSale {
  items: Array<{ id: string; variantId: string }>;
  totals: { discounts: Array<{ lines: Array<{ itemId: string }> }> };
}

/**
 * The cart's totals as the order that came of it must show them: the same figures, with the
 * discounts' lines naming the order's items (each cart line became one order item of its variant).
 */
export function totalsOnOrder(cart: PricedSale, order: PricedSale) {
  const variantOf = new Map(cart.items.map((item) => [item.id, item.variantId]));
  const itemOf = new Map(order.items.map((item) => [item.variantId, item.id]));
  return {
    ...cart.totals,
    discounts: cart.totals.discounts.map((discount) => ({
      ...discount,
      lines: discount.lines.map((line) => ({ ...line, itemId: itemOf.get(variantOf.get(line.itemId)!) })),
    })),
  };
}
