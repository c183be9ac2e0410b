import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, conflict, type DomainError, notFound, unauthorized } from '../../platform/errors.ts';
import type { CartTokenVerifier, Principal } from '../../platform/http/auth.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../platform/opaque-token.ts';
import type { CheckoutVariant } from '../catalog/index.ts';
import { outOfStock } from '../inventory/index.ts';
import type {
  PricedDiscount,
  PricingService,
  Quote,
  ShippingMethod,
  ShippingProblem,
} from '../pricing/index.ts';
import { priceUnavailable, productUnavailable } from './errors.ts';
import {
  type CartContents,
  type CartLineRow,
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
  /** The price charged per unit: the shelf price, or a price list's (named in `priceList`). */
  unitPrice: Money;
  lineTotal: Money;
  /** This line's share of the discount and its tax, in the cart's currency. */
  discount: Money;
  tax: Money;
  /** The price list that priced this line below the shelf. */
  priceList?: { id: string; name: string };
}

/** One promotion's part of the discount, and the lines it touched. */
export interface Discount {
  promotionId: string;
  code?: string;
  name?: string;
  kind: PricedDiscount['kind'];
  amount: Money;
  shipping?: Money;
  lines: Array<{ itemId: string; amount: Money }>;
}

export interface Totals {
  subtotal: Money;
  discountTotal: Money;
  discounts: Discount[];
  shippingTotal: Money;
  taxTotal: Money;
  total: Money;
  /** The prices contain the tax: taxTotal is part of the total, not added to it. */
  taxInclusive: boolean;
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
  /** The region the destination is in: its currency, and whether the prices contain tax. */
  region?: { code: string; name: string; currency: string; taxInclusive: boolean };
  /** Why the cart is not in its region's currency, in a sentence for the shopper. */
  regionNotice?: string;
  /** Variants in the cart that can no longer be bought (archived, or no price in the currency). */
  unavailable?: string[];
}

/** The cart as checkout takes it: priced for the destination, with the shipping and tax lines. */
export interface CheckoutCart extends Cart {
  shippingTax: Money;
  country?: string;
}

/** Discounts as carts and orders show them: amounts as Money. */
export function discountsIn(discounts: readonly PricedDiscount[], currency: string): Discount[] {
  const money = (amount: number): Money => ({ amount, currency });
  return discounts.map(({ amount, shippingAmount, lines, ...discount }) => ({
    ...discount,
    amount: money(amount),
    ...(shippingAmount !== undefined && { shipping: money(shippingAmount) }),
    lines: lines.map((line) => ({ itemId: line.itemId, amount: money(line.amount) })),
  }));
}

function priceIn(variant: CheckoutVariant, currency: string): Money | undefined {
  if (variant.price.currency === currency) return variant.price;
  return variant.prices.find((price) => price.currency === currency);
}

/** Who a cart belongs to: a signed-in user, or a guest proven by their cart token. */
export type Shopper = Pick<Principal, 'id' | 'role'>;

/** A guest's new cart and the token that opens it (shown once; only its hash is stored). */
export interface GuestCart {
  cartToken: string;
  cart: Cart;
}

export function createCartService(deps: {
  db: Db;
  catalog: CatalogReader;
  stock: StockReader;
  pricing: Pick<PricingService, 'quote' | 'checkCode' | 'shippingMethod' | 'regionOf' | 'regions'>;
  /** How long a guest's cart lives unused before the sweep deletes it. */
  guestCartTtlMs: number;
  /** What lines in no cart (a staff draft order) are priced in. */
  storeCurrency: string;
}) {
  const { db, catalog, stock, pricing } = deps;
  const guestExpiry = () => new Date(Date.now() + deps.guestCartTtlMs);

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
  async function load(shopperId: string, executor: Db): Promise<CartContents> {
    return (
      (await store.contents(executor, shopperId)) ?? {
        // No cart was found with its lines: make one without looking again.
        ...(await store.createCart(executor, shopperId)),
        lines: [],
      }
    );
  }

  /** The guest an unexpired cart token stands for; each use keeps the cart alive. */
  const cartTokens: CartTokenVerifier = {
    async verify(token) {
      const shopperId = await store.useGuest(db, hashOpaqueToken(token), guestExpiry());
      if (!shopperId)
        throw unauthorized(
          'This cart has expired or was never made here: start a new one with POST /v1/carts',
          'CART_TOKEN_INVALID',
        );
      return { id: shopperId, role: 'guest', permissions: [] };
    },
  };

  /** Refuses a currency some line of the cart has no price in (409 PRICE_UNAVAILABLE, naming them). */
  async function assertPricedIn(cartId: string, currency: string): Promise<void> {
    const rows = await store.lines(db, cartId);
    const variants = await catalog.variantsForCheckout(rows.map((row) => row.variantId));
    const missing = variants
      .filter((variant) => !priceIn(variant, currency))
      .map((variant) => variant.variantId);
    if (missing.length > 0) throw priceUnavailable(currency, missing);
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
    shopper: Shopper,
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
        lines: lines.map(({ row, variant, unit }) => ({
          id: row.id,
          unitAmount: unit.amount,
          quantity: row.quantity,
          productId: variant.productId,
          categorySlugs: variant.categorySlugs,
          collectionSlugs: variant.collectionSlugs,
          taxClass: variant.taxClass,
          variantId: row.variantId,
        })),
        userId: shopper.id,
        guest: shopper.role === 'guest',
        promotionCode: cart.promotionCode,
        shippingMethodId: cart.shippingMethodId,
        country: country ?? cart.shippingAddress?.country,
        region: cart.region,
      },
      executor,
    );
    const money = (amount: number): Money => ({ amount, currency: cart.currency });
    const items = lines.map(({ row, variant }, index) => {
      const quoted = quote.lines[index];
      const item: CartLine = {
        id: row.id,
        variantId: row.variantId,
        sku: variant.sku,
        name: variant.productName,
        quantity: row.quantity,
        unitPrice: money(quoted.unitAmount),
        lineTotal: money(quoted.subtotal),
        discount: money(quoted.discount),
        tax: money(quoted.tax),
      };
      if (quoted.priceList) item.priceList = quoted.priceList;
      return item;
    });
    const totals: Totals = {
      subtotal: money(quote.subtotal),
      discountTotal: money(quote.discountTotal),
      discounts: discountsIn(quote.discounts, cart.currency),
      shippingTotal: money(quote.shippingTotal),
      taxTotal: money(quote.taxTotal),
      total: money(quote.total),
      taxInclusive: quote.taxInclusive,
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
    if (quote.region) result.region = quote.region;
    if (missing.length > 0) result.unavailable = missing;
    return { cart: result, promotionError: cart.promotionCode ? quote.promotionProblem : undefined };
  }

  const view = async (shopper: Shopper, executor: Db = db, country?: string) =>
    price(shopper, await load(shopper.id, executor), executor, country);

  const shopperView = ({ cart }: { cart: CheckoutCart }): Cart => {
    const { shippingTax: _shippingTax, country: _country, ...shown } = cart;
    return shown;
  };

  const publicView = async (shopper: Shopper): Promise<Cart> => shopperView(await view(shopper));

  /**
   * Moves a guest's lines into a user's cart: quantities are added, each line capped at what a
   * line holds and at the stock there is (never below what the user's line held already); the
   * guest's code, method and address fill the user's where theirs are unset. The guest cart goes.
   */
  async function merge(user: Shopper, guestId: string): Promise<Cart> {
    const guest = await store.contents(db, guestId);
    const mine = await load(user.id, db);
    if (guest && guest.lines.length > 0) {
      const available = await stock.availability(guest.lines.map((line) => line.variantId));
      const held = new Map(mine.lines.map((line) => [line.variantId, line.quantity]));
      const lines = guest.lines.map((line) => {
        const before = held.get(line.variantId) ?? 0;
        const wanted = Math.min(before + line.quantity, MAX_LINE_QUANTITY);
        return {
          variantId: line.variantId,
          quantity: Math.max(before, Math.min(wanted, available.get(line.variantId) ?? 0)),
        };
      });
      await transact(db, async (tx) => {
        // An empty cart takes the guest's currency with their lines.
        if (mine.lines.length === 0)
          await cartChoices.set(tx, mine.id, { currency: guest.currency, region: guest.region });
        await store.restore(
          tx,
          user.id,
          lines.filter((line) => line.quantity > 0),
          guest,
        );
        await store.remove(tx, guestId);
      });
    } else if (guest) {
      await store.remove(db, guestId);
    }
    return publicView(user);
  }

  return {
    view: publicView,
    cartTokens,
    merge,

    /** A new cart for a guest, and the token that opens it. */
    async startGuest(): Promise<GuestCart> {
      const { token, hash } = newOpaqueToken();
      const guest: Shopper = { id: uuidv7(), role: 'guest' };
      await store.createGuest(db, {
        id: uuidv7(),
        shopperId: guest.id,
        tokenHash: hash,
        expiresAt: guestExpiry(),
      });
      return { cartToken: token, cart: await publicView(guest) };
    },

    /** Deletes a shopper's cart and its lines (an erased account's). */
    forget: (shopperId: string) => store.remove(db, shopperId),

    /** Deletes guest carts left unused past their expiry; answers how many went. */
    sweepExpiredGuests: (limit = 500) => store.sweepExpired(db, limit),

    async addItem(shopper: Shopper, variantId: string, quantity: number): Promise<Cart> {
      const cart = await load(shopper.id, db);
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
      return shopperView(await price(shopper, cart, db, undefined, variants));
    },

    async setQuantity(shopper: Shopper, lineId: string, quantity: number): Promise<Cart> {
      const cart = await store.ensureCart(db, shopper.id);
      const line = await store.line(db, cart.id, lineId);
      if (!line) throw notFound('Cart item');
      await ensureAvailable(line.variantId, quantity);
      await store.setQuantity(db, cart.id, lineId, quantity);
      return publicView(shopper);
    },

    async removeItem(shopper: Shopper, lineId: string): Promise<void> {
      const cart = await store.ensureCart(db, shopper.id);
      if (!(await store.deleteLine(db, cart.id, lineId))) throw notFound('Cart item');
    },

    async applyPromotion(shopper: Shopper, code: string): Promise<Cart> {
      const cart = await store.ensureCart(db, shopper.id);
      const { cart: current } = await view(shopper);
      const accepted = await pricing.checkCode(code, {
        subtotal: current.totals.subtotal.amount,
        currency: cart.currency,
        userId: shopper.id,
        guest: shopper.role === 'guest',
      });
      await cartChoices.set(db, cart.id, { promotionCode: accepted });
      return publicView(shopper);
    },

    async removePromotion(shopper: Shopper, code: string): Promise<void> {
      const cart = await store.ensureCart(db, shopper.id);
      if (!cart.promotionCode || cart.promotionCode !== code.trim().toUpperCase())
        throw notFound('Promotion in the cart');
      await cartChoices.set(db, cart.id, { promotionCode: null });
    },

    async setShippingMethod(shopper: Shopper, shippingMethodId: string): Promise<Cart> {
      const cart = await store.ensureCart(db, shopper.id);
      const method = await pricing.shippingMethod(shippingMethodId);
      if (method.price.currency !== cart.currency) {
        throw conflict('PRICE_UNAVAILABLE', `This shipping method has no price in ${cart.currency}`);
      }
      const country = cart.shippingAddress?.country;
      if (country && method.country !== country) {
        throw conflict('SHIPPING_UNAVAILABLE', `${method.name} does not ship to ${country}`);
      }
      await cartChoices.set(db, cart.id, { shippingMethodId });
      return publicView(shopper);
    },

    /**
     * Sets where the cart ships: its totals become that destination's (tax, cheapest shipping).
     * A destination in a region with another currency moves the cart to that currency when every
     * line has a price in it (the chosen method, priced in the old one, goes); otherwise the cart
     * stays as it is and says why.
     */
    async setAddress(shopper: Shopper, shippingAddress: Destination): Promise<Cart> {
      const cart = await load(shopper.id, db);
      const region = await pricing.regionOf(shippingAddress.country);
      let notice: string | undefined;
      if (region && region.currency !== cart.currency) {
        const variants = await catalog.variantsForCheckout(cart.lines.map((line) => line.variantId));
        const unpriced = variants.filter((variant) => !priceIn(variant, region.currency));
        if (unpriced.length === 0) {
          await cartChoices.set(db, cart.id, {
            shippingAddress,
            region: region.code,
            currency: region.currency,
            shippingMethodId: null,
          });
          return publicView(shopper);
        }
        notice = `Prices in ${region.name} are in ${region.currency}, and ${unpriced
          .map((variant) => variant.productName)
          .join(', ')} cannot be bought in ${region.currency}: your cart stays in ${cart.currency}`;
      }
      // The address's country decides the region from now on, whatever was chosen before it.
      await cartChoices.set(db, cart.id, { shippingAddress, region: region?.code ?? null });
      const view = await publicView(shopper);
      return notice ? { ...view, regionNotice: notice } : view;
    },

    /**
     * Gives a checkout's lines back to the cart (the saga's compensation of emptying it), with the
     * code, method and address it was checked out with unless the cart has chosen others since.
     */
    restore: store.restore,

    /**
     * Chooses the region before an address is known: the cart takes its currency (refused while a
     * line has no price in it) and shows prices with or without tax as the region does. A cart whose
     * address is elsewhere keeps the address's region (409 REGION_MISMATCH); null forgets the choice.
     */
    async setRegion(shopper: Shopper, code: string | null): Promise<Cart> {
      const cart = await store.ensureCart(db, shopper.id);
      if (code === null) {
        await cartChoices.set(db, cart.id, { region: null });
        return publicView(shopper);
      }
      const [region] = await pricing.regions(code);
      if (!region) throw notFound('Region');
      const country = cart.shippingAddress?.country;
      if (country && !region.countries.includes(country)) {
        throw conflict(
          'REGION_MISMATCH',
          `Your address is in ${country}, which ${region.name} does not include: change the address instead`,
        );
      }
      await assertPricedIn(cart.id, region.currency);
      await cartChoices.set(db, cart.id, {
        region: region.code,
        currency: region.currency,
        ...(region.currency !== cart.currency ? { shippingMethodId: null } : {}),
      });
      return publicView(shopper);
    },

    /** Switches the cart's currency; refused while a line has no price in it. */
    async setCurrency(shopper: Shopper, currency: string): Promise<Cart> {
      const cart = await store.ensureCart(db, shopper.id);
      await assertPricedIn(cart.id, currency);
      // A shipping method priced in the old currency no longer applies, nor a region chosen for
      // its currency (an address's region still decides the tax).
      await cartChoices.set(db, cart.id, {
        currency,
        shippingMethodId: null,
        ...(currency !== cart.currency && !cart.shippingAddress ? { region: null } : {}),
      });
      return publicView(shopper);
    },

    clear: (shopperId: string, executor: Db = db) => store.clear(executor, shopperId),

    /**
     * The cart as checkout sees it, priced for the destination country: every line priced now,
     * nothing unavailable, the code valid. Throws instead of silently dropping what was chosen.
     */
    /**
     * Prices lines that are in no cart (a staff draft order, lines added to an order) for `shopper`
     * exactly as a cart of them would be priced for that address, in the store's currency unless
     * another is named: their price lists, tax and shipping, the one quote function. Refuses what a
     * checkout of them would refuse.
     */
    async priceLines(
      shopper: Shopper,
      input: { id: string; lines: CartLineRow[]; shippingAddress: Destination; currency?: string },
      executor: Db = db,
    ): Promise<CheckoutCart> {
      const contents: CartContents = {
        id: input.id,
        currency: input.currency ?? deps.storeCurrency,
        promotionCode: null,
        shippingMethodId: null,
        shippingAddress: input.shippingAddress,
        region: null,
        lines: input.lines,
      };
      return checkable(await price(shopper, contents, executor));
    },

    async forCheckout(shopper: Shopper, country: string, executor: Db = db): Promise<CheckoutCart> {
      return checkable(await view(shopper, executor, country));
    },
  };
}

/** A priced cart that can be checked out, or the reason it cannot. */
function checkable({
  cart,
  promotionError,
}: {
  cart: CheckoutCart;
  promotionError?: DomainError;
}): CheckoutCart {
  if (cart.unavailable) throw productUnavailable(cart.unavailable);
  if (cart.items.length === 0) throw badRequest('CART_EMPTY', 'The cart is empty');
  if (promotionError) throw promotionError;
  if (cart.shippingProblem) {
    throw conflict('SHIPPING_UNAVAILABLE', cart.shippingProblem.detail, {
      extensions: { currencies: cart.shippingProblem.currencies },
    });
  }
  return cart;
}

export type CartService = ReturnType<typeof createCartService>;
