import type { Db } from '../../platform/db/index.ts';
import { badRequest, conflict, type DomainError, notFound } from '../../platform/errors.ts';
import type { CheckoutVariant } from '../catalog/index.ts';
import { outOfStock } from '../inventory/index.ts';
import type { PricingService, Quote, ShippingMethod, ShippingProblem } from '../pricing/index.ts';
import { priceUnavailable, productUnavailable } from './errors.ts';
import {
  type CartContents,
  cartChoices,
  type Destination,
  MAX_LINE_QUANTITY,
  cartStore as store,
} from './store.ts';

export type { Destination };
export { MAX_LINE_QUANTITY };

export interface Money {
  amount: number;
  currency: string;
}

/** What the cart needs from the catalog: current prices, re-read on every view and at checkout. */
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
  /** This line's share of the discount and its tax, in the cart's currency. */
  discount: Money;
  tax: Money;
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
  promotion?: { code: string; kind: string };
  /** A chosen code that does not apply now, and why. */
  promotionProblem?: { code: string; detail: string };
  /** The method the totals include: the chosen one, or the destination's cheapest. */
  shippingMethod?: ShippingMethod;
  /** Why the chosen method was replaced, in a sentence for the shopper. */
  shippingNotice?: string;
  /** Why the cart cannot ship to its destination as it is; checkout refuses until it is solved. */
  shippingProblem?: ShippingProblem;
  /** Where it ships: tax and shipping in the totals are this destination's. */
  shippingAddress?: Destination;
  /** Variants in the cart that can no longer be bought (archived, or no price in the currency). */
  unavailable?: string[];
}

/** The cart as checkout takes it: priced for the destination, with the shipping and tax lines. */
export interface CheckoutCart extends Cart {
  shippingTax: Money;
  country?: string;
}

function priceIn(variant: CheckoutVariant, currency: string): Money | undefined {
  if (variant.price.currency === currency) return variant.price;
  return variant.prices.find((price) => price.currency === currency);
}

export function createCartService(deps: {
  db: Db;
  catalog: CatalogReader;
  stock: StockReader;
  pricing: Pick<PricingService, 'quote' | 'checkCode' | 'shippingMethod'>;
}) {
  const { db, catalog, stock, pricing } = deps;

  function assertPurchasable(found: CheckoutVariant | undefined, currency: string): void {
    if (!found || found.archived) throw notFound('Variant');
    if (!priceIn(found, currency))
      throw conflict('PRICE_UNAVAILABLE', `This item has no price in ${currency}`);
  }

  async function variantsOf(
    variantIds: readonly string[],
    executor: Db,
  ): Promise<Map<string, CheckoutVariant>> {
    const found = await catalog.variantsForCheckout([...new Set(variantIds)], executor);
    return new Map(found.map((variant) => [variant.variantId, variant]));
  }

  /** The cart with its lines, created on first use. */
  async function load(userId: string, executor: Db): Promise<CartContents> {
    return (
      (await store.contents(executor, userId)) ?? { ...(await store.ensureCart(executor, userId)), lines: [] }
    );
  }

  async function ensureAvailable(variantId: string, quantity: number): Promise<void> {
    const available = (await stock.availability([variantId])).get(variantId) ?? 0;
    if (quantity > available) throw outOfStock([variantId]);
  }

  /**
   * Prices every line from the catalog as it is now and applies the pricing rules; nothing is
   * stored priced. `variants` may hold the lines' variants when the caller has just read them.
   */
  async function price(
    userId: string,
    cart: CartContents,
    executor: Db,
    country?: string,
    variants?: Map<string, CheckoutVariant>,
  ): Promise<{ cart: CheckoutCart; promotionError?: DomainError }> {
    const rows = cart.lines;
    variants ??= await variantsOf(
      rows.map((row) => row.variantId),
      executor,
    );
    const lines: Array<{ row: (typeof rows)[number]; variant: CheckoutVariant; unit: Money }> = [];
    const missing: string[] = [];
    for (const row of rows) {
      const variant = variants.get(row.variantId);
      const unit = variant && !variant.archived ? priceIn(variant, cart.currency) : undefined;
      if (!variant || !unit) missing.push(row.variantId);
      else lines.push({ row, variant, unit });
    }
    const quote: Quote = await pricing.quote(
      {
        currency: cart.currency,
        lines: lines.map(({ row, unit }) => ({
          id: row.id,
          unitAmount: unit.amount,
          quantity: row.quantity,
        })),
        userId,
        promotionCode: cart.promotionCode,
        shippingMethodId: cart.shippingMethodId,
        country: country ?? cart.shippingAddress?.country,
      },
      executor,
    );
    const money = (amount: number): Money => ({ amount, currency: cart.currency });
    const items = lines.map(({ row, variant, unit }, index) => ({
      id: row.id,
      variantId: row.variantId,
      sku: variant.sku,
      name: variant.productName,
      quantity: row.quantity,
      unitPrice: unit,
      lineTotal: money(quote.lines[index].subtotal),
      discount: money(quote.lines[index].discount),
      tax: money(quote.lines[index].tax),
    }));
    const totals: Totals = {
      subtotal: money(quote.subtotal),
      discountTotal: money(quote.discountTotal),
      shippingTotal: money(quote.shippingTotal),
      taxTotal: money(quote.taxTotal),
      total: money(quote.total),
    };
    const result: CheckoutCart = {
      id: cart.id,
      currency: cart.currency,
      items,
      totals,
      total: totals.total,
      shippingTax: money(quote.shippingTax),
    };
    if (quote.promotion) result.promotion = quote.promotion;
    if (quote.promotionProblem && cart.promotionCode) {
      result.promotionProblem = { code: cart.promotionCode, detail: quote.promotionProblem.message };
    }
    if (quote.shippingMethod) result.shippingMethod = quote.shippingMethod;
    if (quote.shippingNotice) result.shippingNotice = quote.shippingNotice;
    if (quote.shippingProblem) result.shippingProblem = quote.shippingProblem;
    if (cart.shippingAddress) result.shippingAddress = cart.shippingAddress;
    if (quote.country) result.country = quote.country;
    if (missing.length > 0) result.unavailable = missing;
    return { cart: result, promotionError: cart.promotionCode ? quote.promotionProblem : undefined };
  }

  const view = async (userId: string, executor: Db = db, country?: string) =>
    price(userId, await load(userId, executor), executor, country);

  const shopperView = ({ cart }: { cart: CheckoutCart }): Cart => {
    const { shippingTax: _shippingTax, country: _country, ...shown } = cart;
    return shown;
  };

  const publicView = async (userId: string): Promise<Cart> => shopperView(await view(userId));

  return {
    view: publicView,

    async addItem(userId: string, variantId: string, quantity: number): Promise<Cart> {
      const cart = await load(userId, db);
      const variants = await variantsOf([...cart.lines.map((line) => line.variantId), variantId], db);
      assertPurchasable(variants.get(variantId), cart.currency);
      const existing = cart.lines.find((line) => line.variantId === variantId);
      const total = (existing?.quantity ?? 0) + quantity;
      if (total > MAX_LINE_QUANTITY) {
        throw badRequest('QUANTITY_TOO_LARGE', `A line holds at most ${MAX_LINE_QUANTITY} units`, {
          errors: [
            { path: '/quantity', message: `the line would hold ${total}; at most ${MAX_LINE_QUANTITY}` },
          ],
        });
      }
      await ensureAvailable(variantId, total);
      const lineId = await store.upsertLine(db, cart.id, variantId, total);
      if (existing) existing.quantity = total;
      else cart.lines.push({ id: lineId, variantId, quantity: total });
      return shopperView(await price(userId, cart, db, undefined, variants));
    },

    async setQuantity(userId: string, lineId: string, quantity: number): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const line = await store.line(db, cart.id, lineId);
      if (!line) throw notFound('Cart item');
      await ensureAvailable(line.variantId, quantity);
      await store.setQuantity(db, cart.id, lineId, quantity);
      return publicView(userId);
    },

    async removeItem(userId: string, lineId: string): Promise<void> {
      const cart = await store.ensureCart(db, userId);
      if (!(await store.deleteLine(db, cart.id, lineId))) throw notFound('Cart item');
    },

    async applyPromotion(userId: string, code: string): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const { cart: current } = await view(userId);
      const accepted = await pricing.checkCode(code, {
        subtotal: current.totals.subtotal.amount,
        currency: cart.currency,
        userId,
      });
      await cartChoices.set(db, cart.id, { promotionCode: accepted });
      return publicView(userId);
    },

    async removePromotion(userId: string, code: string): Promise<void> {
      const cart = await store.ensureCart(db, userId);
      if (!cart.promotionCode || cart.promotionCode !== code.trim().toUpperCase())
        throw notFound('Promotion in the cart');
      await cartChoices.set(db, cart.id, { promotionCode: null });
    },

    async setShippingMethod(userId: string, shippingMethodId: string): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const method = await pricing.shippingMethod(shippingMethodId);
      if (method.price.currency !== cart.currency) {
        throw conflict('PRICE_UNAVAILABLE', `This shipping method has no price in ${cart.currency}`);
      }
      const country = cart.shippingAddress?.country;
      if (country && method.country !== country) {
        throw conflict('SHIPPING_UNAVAILABLE', `${method.name} does not ship to ${country}`);
      }
      await cartChoices.set(db, cart.id, { shippingMethodId });
      return publicView(userId);
    },

    /** Sets where the cart ships: its totals become that destination's (tax, cheapest shipping). */
    async setAddress(userId: string, shippingAddress: Destination): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      await cartChoices.set(db, cart.id, { shippingAddress });
      return publicView(userId);
    },

    /**
     * Gives a checkout's lines back to the cart (the saga's compensation of emptying it), with the
     * code, method and address it was checked out with unless the cart has chosen others since.
     */
    restore: store.restore,

    /** Switches the cart's currency; refused while a line has no price in it. */
    async setCurrency(userId: string, currency: string): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const rows = await store.lines(db, cart.id);
      const variants = await catalog.variantsForCheckout(rows.map((row) => row.variantId));
      const missing = variants
        .filter((variant) => !priceIn(variant, currency))
        .map((variant) => variant.variantId);
      if (missing.length > 0) {
        throw priceUnavailable(currency, missing);
      }
      // A shipping method priced in the old currency no longer applies.
      await cartChoices.set(db, cart.id, { currency, shippingMethodId: null });
      return publicView(userId);
    },

    clear: (userId: string, executor: Db = db) => store.clear(executor, userId),

    /**
     * The cart as checkout sees it, priced for the destination country: every line priced now,
     * nothing unavailable, the code valid. Throws instead of silently dropping what was chosen.
     */
    async forCheckout(userId: string, country: string, executor: Db = db): Promise<CheckoutCart> {
      const { cart, promotionError } = await view(userId, executor, country);
      if (cart.unavailable) throw productUnavailable(cart.unavailable);
      if (cart.items.length === 0) throw badRequest('CART_EMPTY', 'The cart is empty');
      if (promotionError) throw promotionError;
      if (cart.shippingProblem) {
        throw conflict('SHIPPING_UNAVAILABLE', cart.shippingProblem.detail, {
          extensions: { currencies: cart.shippingProblem.currencies },
        });
      }
      return cart;
    },
  };
}

export type CartService = ReturnType<typeof createCartService>;
