import type { Db } from '../../platform/db/index.ts';
import { badRequest, conflict, DomainError, notFound } from '../../platform/errors.ts';
import { outOfStock } from '../inventory/index.ts';
import type { PricingModule, Quote } from '../pricing/index.ts';
import { cartChoices, cartStore as store } from './store.ts';

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
  /** The price in the store's default currency. */
  price: Money;
  /** Prices in other currencies. */
  prices?: Money[];
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
  shippingMethod?: {
    id: string;
    name: string;
    country: string;
    price: Money;
    minDays: number;
    maxDays: number;
  };
  /** Variants in the cart that can no longer be bought (archived, or no price in the currency). */
  unavailable?: string[];
}

/** The cart as checkout takes it: priced for the destination, with the shipping and tax lines. */
export interface CheckoutCart extends Cart {
  shippingTax: Money;
  country?: string;
}

export const MAX_LINE_QUANTITY = 99;

const unavailable = (variantIds: string[]) =>
  new DomainError(
    409,
    'PRODUCT_UNAVAILABLE',
    'Product unavailable',
    'Some items can no longer be bought in this currency',
    {
      extensions: { variantIds },
    },
  );

export function priceIn(variant: CheckoutVariant, currency: string): Money | undefined {
  if (variant.price.currency === currency) return variant.price;
  return variant.prices?.find((price) => price.currency === currency);
}

export function createCartService(deps: {
  db: Db;
  catalog: CatalogReader;
  stock: StockReader;
  pricing: PricingModule;
}) {
  const { db, catalog, stock, pricing } = deps;

  async function purchasable(variantId: string, currency: string): Promise<CheckoutVariant> {
    const [found] = await catalog.variantsForCheckout([variantId]);
    if (!found || found.archived) throw notFound('Variant');
    if (!priceIn(found, currency))
      throw conflict('PRICE_UNAVAILABLE', `This item has no price in ${currency}`);
    return found;
  }

  async function ensureAvailable(variantId: string, quantity: number): Promise<void> {
    const available = (await stock.availability([variantId])).get(variantId) ?? 0;
    if (quantity > available) throw outOfStock([variantId]);
  }

  /** Prices every line from the catalog as it is now and applies the pricing rules; nothing is stored priced. */
  async function view(
    userId: string,
    executor: Db = db,
    country?: string,
  ): Promise<{ cart: CheckoutCart; promotionError?: DomainError }> {
    const cart = (await store.findCart(executor, userId)) ?? (await store.ensureCart(executor, userId));
    const choices = await cartChoices.get(executor, cart.id);
    const rows = await store.lines(executor, cart.id);
    const variants = new Map(
      (
        await catalog.variantsForCheckout(
          rows.map((row) => row.variantId),
          executor,
        )
      ).map((found) => [found.variantId, found]),
    );
    const lines: Array<{ row: (typeof rows)[number]; variant: CheckoutVariant; unit: Money }> = [];
    const missing: string[] = [];
    for (const row of rows) {
      const variant = variants.get(row.variantId);
      const unit = variant && !variant.archived ? priceIn(variant, choices.currency) : undefined;
      if (!variant || !unit) missing.push(row.variantId);
      else lines.push({ row, variant, unit });
    }
    const quote: Quote = await pricing.quote(
      {
        currency: choices.currency,
        lines: lines.map(({ row, unit }) => ({
          id: row.id,
          unitAmount: unit.amount,
          quantity: row.quantity,
        })),
        userId,
        promotionCode: choices.promotionCode,
        shippingMethodId: choices.shippingMethodId,
        country,
      },
      executor,
    );
    const money = (amount: number): Money => ({ amount, currency: choices.currency });
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
      currency: choices.currency,
      items,
      totals,
      total: totals.total,
      shippingTax: money(quote.shippingTax),
    };
    if (quote.promotion) result.promotion = quote.promotion;
    if (quote.promotionProblem && choices.promotionCode) {
      result.promotionProblem = { code: choices.promotionCode, detail: quote.promotionProblem.message };
    }
    if (quote.shippingMethod) result.shippingMethod = quote.shippingMethod;
    if (quote.country) result.country = quote.country;
    if (missing.length > 0) result.unavailable = missing;
    return { cart: result, promotionError: choices.promotionCode ? quote.promotionProblem : undefined };
  }

  const publicView = async (userId: string): Promise<Cart> => {
    const { shippingTax: _shippingTax, country: _country, ...cart } = (await view(userId)).cart;
    return cart;
  };

  return {
    view: publicView,

    async addItem(userId: string, variantId: string, quantity: number): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      await purchasable(variantId, cart.currency);
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
      return publicView(userId);
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
      const choices = await cartChoices.get(db, cart.id);
      if (!choices.promotionCode || choices.promotionCode !== code.trim().toUpperCase())
        throw notFound('Promotion in the cart');
      await cartChoices.set(db, cart.id, { promotionCode: null });
    },

    async setShippingMethod(userId: string, shippingMethodId: string): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const method = await pricing.shippingMethod(shippingMethodId);
      if (method.price.currency !== cart.currency) {
        throw conflict('PRICE_UNAVAILABLE', `This shipping method has no price in ${cart.currency}`);
      }
      await cartChoices.set(db, cart.id, { shippingMethodId });
      return publicView(userId);
    },

    /** Switches the cart's currency; refused while a line has no price in it. */
    async setCurrency(userId: string, currency: string): Promise<Cart> {
      const cart = await store.ensureCart(db, userId);
      const rows = await store.lines(db, cart.id);
      const variants = await catalog.variantsForCheckout(rows.map((row) => row.variantId));
      const missing = variants
        .filter((variant) => !priceIn(variant, currency))
        .map((variant) => variant.variantId);
      if (missing.length > 0) {
        throw new DomainError(
          409,
          'PRICE_UNAVAILABLE',
          'Price unavailable',
          `Some items have no price in ${currency}`,
          {
            extensions: { variantIds: missing },
          },
        );
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
      if (cart.unavailable) throw unavailable(cart.unavailable);
      if (cart.items.length === 0) throw badRequest('CART_EMPTY', 'The cart is empty');
      if (promotionError) throw promotionError;
      return cart;
    },

    /** The code the checkout redeems, if any. */
    async promotionCode(userId: string, executor: Db = db): Promise<string | null> {
      const cart = await store.findCart(executor, userId);
      return cart ? (await cartChoices.get(executor, cart.id)).promotionCode : null;
    },
  };
}

export type CartService = ReturnType<typeof createCartService>;
