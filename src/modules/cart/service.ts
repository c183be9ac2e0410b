import type { Db } from '../../platform/db/index.ts';
import { badRequest, conflict, DomainError, notFound } from '../../platform/errors.ts';
import { outOfStock } from '../inventory/index.ts';
import { cartStore as store } from './store.ts';

export interface Money {
  amount: number;
  currency: string;
}

/** What the cart needs from the catalog: current prices, re-read on every view and at checkout. */
export interface CheckoutVariant {
  variantId: string;
  sku: string;
  productId: string;
  productName: string;
  price: Money;
  archived: boolean;
}

export interface CatalogReader {
  variantsForCheckout(variantIds: readonly string[], executor?: Db): Promise<CheckoutVariant[]>;
}

export interface StockReader {
  availability(variantIds: readonly string[], executor?: Db): Promise<Map<string, number>>;
}

export interface CartLine {
  id: string;
  variantId: string;
  sku: string;
  name: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
}

export interface Totals {
  subtotal: Money;
  discountTotal: Money;
  shippingTotal: Money;
  taxTotal: Money;
  total: Money;
}

export interface Cart {
  id: string;
  currency: string;
  items: CartLine[];
  totals: Totals;
  total: Money;
  /** Variants in the cart that can no longer be bought (archived, or no price in the currency). */
  unavailable?: string[];
}

export const MAX_LINE_QUANTITY = 99;

const unavailable = (variantIds: string[]) =>
  new DomainError(409, 'PRODUCT_UNAVAILABLE', 'Product unavailable', 'Some items are no longer sold', {
    extensions: { variantIds },
  });

export function computeTotals(currency: string, lines: Array<{ lineTotal: Money }>): Totals {
  const money = (amount: number): Money => ({ amount, currency });
  const subtotal = lines.reduce((sum, line) => sum + line.lineTotal.amount, 0);
  return {
    subtotal: money(subtotal),
    discountTotal: money(0),
    shippingTotal: money(0),
    taxTotal: money(0),
    total: money(subtotal),
  };
}

export function createCartService(deps: { db: Db; catalog: CatalogReader; stock: StockReader }) {
  const { db, catalog, stock } = deps;

  async function variant(variantId: string, currency: string): Promise<CheckoutVariant> {
    const [found] = await catalog.variantsForCheckout([variantId]);
    if (!found || found.archived) throw notFound('Variant');
    if (found.price.currency !== currency) {
      throw conflict('PRICE_UNAVAILABLE', `This item has no price in ${currency}`);
    }
    return found;
  }

  async function ensureAvailable(variantId: string, quantity: number): Promise<void> {
    const available = (await stock.availability([variantId])).get(variantId) ?? 0;
    if (quantity > available) throw outOfStock([variantId]);
  }

  /** Prices every line from the catalog as it is now; the cart never stores a price. */
  async function view(userId: string, executor: Db = db): Promise<Cart> {
    const cart = (await store.findCart(executor, userId)) ?? (await store.ensureCart(executor, userId));
    const rows = await store.lines(executor, cart.id);
    const variants = new Map(
      (
        await catalog.variantsForCheckout(
          rows.map((row) => row.variantId),
          executor,
        )
      ).map((found) => [found.variantId, found]),
    );
    const items: CartLine[] = [];
    const missing: string[] = [];
    for (const row of rows) {
      const found = variants.get(row.variantId);
      if (!found || found.archived || found.price.currency !== cart.currency) {
        missing.push(row.variantId);
        continue;
      }
      items.push({
        id: row.id,
        variantId: row.variantId,
        sku: found.sku,
        name: found.productName,
        quantity: row.quantity,
        unitPrice: found.price,
        lineTotal: { amount: found.price.amount * row.quantity, currency: found.price.currency },
      });
    }
    const totals = computeTotals(cart.currency, items);
    const result: Cart = { id: cart.id, currency: cart.currency, items, totals, total: totals.total };
    if (missing.length > 0) result.unavailable = missing;
    return result;
  }

  return {
    view: (userId: string) => view(userId),

    async addItem(userId: string, variantId: string, quantity: number): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      await variant(variantId, cart.currency);
      const existing = await store.lineForVariant(db, cart.id, variantId);
      const total = (existing?.quantity ?? 0) + quantity;
      if (total > MAX_LINE_QUANTITY) {
        throw badRequest('QUANTITY_TOO_LARGE', `A line holds at most ${MAX_LINE_QUANTITY} units`, {
          errors: [
            { path: '/quantity', message: `the line would hold ${total}; at most ${MAX_LINE_QUANTITY}` },
          ],
        });
      }
      await ensureAvailable(variantId, total);
      await store.upsertLine(db, cart.id, variantId, total);
      return view(userId);
    },

    async setQuantity(userId: string, lineId: string, quantity: number): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const line = await store.line(db, cart.id, lineId);
      if (!line) throw notFound('Cart item');
      await ensureAvailable(line.variantId, quantity);
      await store.setQuantity(db, cart.id, lineId, quantity);
      return view(userId);
    },

    async removeItem(userId: string, lineId: string): Promise<void> {
      const cart = await store.ensureCart(db, userId);
      if (!(await store.deleteLine(db, cart.id, lineId))) throw notFound('Cart item');
    },

    clear: (userId: string, executor: Db = db) => store.clear(executor, userId),

    /**
     * The cart as checkout sees it: every line priced now, nothing unavailable. Throws CART_EMPTY
     * or PRODUCT_UNAVAILABLE instead of silently dropping what the customer chose.
     */
    async forCheckout(userId: string, executor: Db = db): Promise<Cart> {
      const cart = await view(userId, executor);
      if (cart.unavailable) throw unavailable(cart.unavailable);
      if (cart.items.length === 0) throw badRequest('CART_EMPTY', 'The cart is empty');
      return cart;
    },
  };
}

export type CartService = ReturnType<typeof createCartService>;
