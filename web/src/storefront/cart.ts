import { html, nothing } from 'lit-html';
import { live } from 'lit-html/directives/live.js';
import { addressLine, countryName, countryOptions } from '../addresses.ts';
import { ApiError, newIdempotencyKey } from '../api.ts';
import { discountRows, lineTotalCell } from '../discounts.ts';
import type { Address, Cart, Order, Region, SavedAddress, ShippingMethod, StoreCredit } from '../types.ts';
import {
  type AppContext,
  act,
  type Content,
  type Drawing,
  describeError,
  formValues,
  money,
  shopperCurrency,
} from '../ui.ts';
import { cardFields, cardToken } from './stripe.ts';

/** The names of the cart's items a 409 PRICE_UNAVAILABLE says have no price in the currency asked for. */
function unpricedNames(cart: Cart, error: ApiError): string[] {
  const missing = new Set((error.problem.variantIds as string[] | undefined) ?? []);
  return cart.items.filter((line) => missing.has(line.variantId)).map((line) => line.name);
}

/**
 * Tells the server where the cart ships (its totals become that destination's tax and shipping).
 * A destination that ships only in another currency switches the cart to it; when some item has
 * no price there, the shopper is told which, in words.
 */
async function shipTo(ctx: AppContext, destination: Partial<Address> & { country: string }): Promise<void> {
  const cart = await ctx.api.put<Cart>('/v1/cart/address', { shippingAddress: destination });
  shopperCurrency.set(cart.currency);
  if (cart.regionNotice) ctx.flash('info', `${cart.regionNotice}.`);
  const wanted = cart.shippingProblem?.currencies[0];
  if (!wanted) return;
  try {
    await ctx.api.post('/v1/cart/currency', { currency: wanted });
    shopperCurrency.set(wanted);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'PRICE_UNAVAILABLE') throw error;
    const names = unpricedNames(cart, error);
    ctx.flash(
      'error',
      `Orders to ${countryName(destination.country)} are paid in ${wanted}, and ${names.join(', ') || 'some items'} ` +
        `cannot be bought in ${wanted}. Remove ${names.length === 1 ? 'it' : 'them'} or choose another country.`,
    );
  }
}

/** What the totals depend on that the shopper should see before paying. */
function shippingSummary(cart: Cart) {
  return html`
    ${cart.shippingNotice ? html`<p class="alert info" role="status">${cart.shippingNotice}</p>` : nothing}
    ${cart.shippingProblem ? html`<p class="alert error" role="alert">${cart.shippingProblem.detail}.</p>` : nothing}
    ${
      cart.shippingMethod
        ? html`<p>Shipping: ${cart.shippingMethod.name} (${cart.shippingMethod.minDays}–${cart.shippingMethod.maxDays} days) to ${countryName(cart.shippingMethod.country)}</p>`
        : nothing
    }`;
}

/** `destination` false: tax and shipping are not known yet, so they are not shown as zero. */
export function totalsTable(totals: Cart['totals'], caption: string, destination = true) {
  return html`<div class="table-scroll"><table class="totals">
    <caption class="visually-hidden">${caption}</caption>
    <tbody>
      <tr><th scope="row">Subtotal</th><td data-total="subtotal">${money(totals.subtotal)}</td></tr>
      ${
        totals.discountTotal.amount > 0
          ? html`<tr><th scope="row">Discount</th><td data-total="discount">−${money(totals.discountTotal)}</td></tr>`
          : nothing
      }
      ${discountRows(totals)}
      ${
        destination
          ? html`<tr><th scope="row">Shipping</th><td data-total="shipping">${money(totals.shippingTotal)}</td></tr>
            ${totals.taxInclusive ? nothing : html`<tr><th scope="row">Tax</th><td data-total="tax">${money(totals.taxTotal)}</td></tr>`}`
          : html`<tr><th scope="row">Shipping and tax</th><td class="muted">once you choose where it ships</td></tr>`
      }
      <tr class="grand"><th scope="row">Total</th><td data-total="total">${money(totals.total)}</td></tr>
      ${
        destination && totals.taxInclusive
          ? html`<tr><th scope="row">Including tax</th><td data-total="tax">${money(totals.taxTotal)}</td></tr>`
          : nothing
      }
    </tbody>
  </table></div>`;
}

/**
 * Chooses the region before the address is known: the cart takes its currency and shows prices as
 * the region does (tax contained or added). An item with no price there is named in a sentence.
 */
async function shopFrom(ctx: AppContext, cart: Cart, region: Region | null): Promise<void> {
  try {
    const chosen = await ctx.api.put<Cart>('/v1/cart/region', { region: region?.code ?? null });
    shopperCurrency.set(chosen.currency);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'PRICE_UNAVAILABLE' || !region) throw error;
    const names = unpricedNames(cart, error);
    ctx.flash(
      'error',
      `Prices in ${region.name} are in ${region.currency}, and ${names.join(', ') || 'some items'} ` +
        `cannot be bought in ${region.currency}. Remove ${names.length === 1 ? 'it' : 'them'} or stay where you are.`,
    );
  }
}

export async function cartPage(ctx: AppContext): Promise<Content> {
  const [cart, regions] = await Promise.all([
    ctx.api.get<Cart>('/v1/cart'),
    ctx.api.get<{ items: Region[] }>('/v1/regions'),
  ]);
  shopperCurrency.set(cart.currency);
  const country = cart.shippingAddress?.country;
  const methods = country
    ? (
        await ctx.api.get<{ items: ShippingMethod[] }>(`/v1/shipping-methods?country=${country}`)
      ).items.filter((method) => method.price.currency === cart.currency)
    : [];
  const run = (event: Event, task: () => Promise<unknown>) =>
    act(ctx, event, async () => {
      await task();
      await ctx.refresh();
    });
  const chooseRegion = (event: Event) => {
    const code = (event.currentTarget as HTMLSelectElement).value;
    const region = regions.items.find((candidate) => candidate.code === code) ?? null;
    return run(event, () => shopFrom(ctx, cart, region));
  };
  const setQuantity = (itemId: string) => (event: SubmitEvent) => {
    const values = formValues(event);
    return run(event, () => ctx.api.patch(`/v1/cart/items/${itemId}`, { quantity: Number(values.quantity) }));
  };
  const remove = (itemId: string) => (event: Event) =>
    run(event, () => ctx.api.delete(`/v1/cart/items/${itemId}`));
  const applyCode = (event: SubmitEvent) => {
    const values = formValues(event);
    return run(event, () => ctx.api.post('/v1/cart/promotions', { code: values.code.trim() }));
  };
  const removeCode = (code: string) => (event: Event) =>
    run(event, () => ctx.api.delete(`/v1/cart/promotions/${encodeURIComponent(code)}`));
  const chooseCountry = (event: Event) => {
    const chosen = (event.currentTarget as HTMLSelectElement).value;
    if (chosen) return run(event, () => shipTo(ctx, { ...cart.shippingAddress, country: chosen }));
  };
  const chooseMethod = (event: Event) =>
    run(event, () =>
      ctx.api.put('/v1/cart/shipping-method', {
        shippingMethodId: (event.currentTarget as HTMLInputElement).value,
      }),
    );
  const unavailable = new Set(cart.unavailable ?? []);

  if (cart.items.length === 0) {
    return html`<h1>Your cart</h1>
      <p>Your cart is empty. <a href="/">Browse the shop</a></p>`;
  }
  return html`
    <h1>Your cart</h1>
    <div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Items in your cart</caption>
      <thead><tr><th scope="col">Item</th><th scope="col">Price</th><th scope="col">Quantity</th><th scope="col">Total</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
      <tbody>
        ${cart.items.map(
          (line) => html`<tr data-sku=${line.sku}>
            <td>${line.name} <span class="muted">${line.sku}</span>
              ${unavailable.has(line.variantId) ? html`<p class="alert error">No longer available in this quantity</p>` : nothing}</td>
            <td>${money(line.unitPrice)}${line.priceList ? html`<br /><span class="muted">${line.priceList.name}</span>` : nothing}</td>
            <td>
              <form class="inline" @submit=${setQuantity(line.id)}>
                <label><span class="visually-hidden">Quantity of ${line.name}</span>
                  <input type="number" name="quantity" min="1" max="99" .value=${String(line.quantity)} size="3" required /></label>
                <button type="submit">Update</button>
              </form>
            </td>
            ${lineTotalCell(line, cart.totals)}
            <td><button type="button" class="link" @click=${remove(line.id)} aria-label=${`Remove ${line.name}`}>Remove</button></td>
          </tr>`,
        )}
      </tbody>
    </table></div>

    <div class="columns">
      <section aria-labelledby="promo-heading">
        <h2 id="promo-heading">Promotion code</h2>
        ${
          cart.promotion
            ? html`<p>Code <strong>${cart.promotion.code}</strong> applied.
              <button type="button" class="link" @click=${removeCode(cart.promotion.code)}>Remove code</button></p>`
            : html`<form class="inline" @submit=${applyCode}>
              <label>Code <input name="code" maxlength="40" required autocomplete="off" /></label>
              <button type="submit">Apply</button>
            </form>`
        }
        ${cart.promotionProblem ? html`<p class="alert error" role="alert">${cart.promotionProblem.detail}</p>` : nothing}

        <h2 id="shipping-heading">Shipping</h2>
        ${
          !country && regions.items.length > 0
            ? html`<p><label>Shopping from <select name="region" @change=${chooseRegion}>
              <option value="" .selected=${live(!cart.region)}>Choose a region</option>
              ${regions.items.map(
                (region) =>
                  html`<option value=${region.code} .selected=${live(cart.region?.code === region.code)}>${region.name} (${region.currency})</option>`,
              )}
            </select></label></p>`
            : nothing
        }
        ${
          cart.region
            ? html`<p class="muted">Prices in ${cart.region.name} are in ${cart.region.currency} and ${cart.region.taxInclusive ? 'include' : 'do not include'} tax.</p>`
            : nothing
        }
        <label>Ship to <select name="country" @change=${chooseCountry}>
          ${country ? nothing : html`<option value="" selected>Choose a country</option>`}
          ${countryOptions(country ?? '')}
        </select></label>
        ${
          country && methods.length > 0
            ? html`<fieldset>
              <legend>Shipping method</legend>
              ${methods.map(
                (method) => html`<label class="variant">
                  <input type="radio" name="shippingMethod" value=${method.id} ?checked=${cart.shippingMethod?.id === method.id} @change=${chooseMethod} />
                  ${method.name} (${method.minDays}–${method.maxDays} days) <strong>${money(method.price)}</strong>
                </label>`,
              )}
            </fieldset>`
            : nothing
        }
        ${shippingSummary(cart)}
      </section>
      <section aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        ${totalsTable(cart.totals, 'Cart totals', country !== undefined)}
        <p><a class="button primary" href="/checkout">Check out</a></p>
      </section>
    </div>
  `;
}

export async function checkoutPage(ctx: AppContext): Promise<Content | Drawing> {
  const signedIn = ctx.api.session() !== null;
  const [cart, book, credit] = await Promise.all([
    ctx.api.get<Cart>('/v1/cart'),
    signedIn ? ctx.api.get<{ items: SavedAddress[] }>('/v1/users/me/addresses') : { items: [] },
    signedIn ? ctx.api.get<StoreCredit>('/v1/users/me/store-credit') : undefined,
  ]);
  if (cart.items.length === 0) {
    return html`<h1>Checkout</h1>
      <p>Your cart is empty. <a href="/">Browse the shop</a></p>`;
  }
  // A guest gives the address their confirmation goes to; an account's mail goes to its own.
  const user = ctx.api.session()?.user;
  const saved = cart.shippingAddress;
  // The total this page shows is the total the order may charge; the server refuses any other.
  const shown = cart.total;
  // One key per attempt: a retry after no answer reuses it, so the server never charges twice.
  let attemptKey: string | null = null;
  /** A gift card whose balance was looked up, or the shopper's store credit: it pays first, the card the rest. */
  let giftCard: { code: string; last4: string; balance: Cart['total'] } | undefined;
  let useCredit = false;
  const creditLeft = credit && credit.balance.currency === shown.currency ? credit.balance.amount : 0;
  const balancePays = () =>
    useCredit
      ? Math.min(creditLeft, shown.amount)
      : giftCard
        ? Math.min(giftCard.balance.amount, shown.amount)
        : 0;
  const toggleCredit = (event: Event) => {
    useCredit = (event.currentTarget as HTMLInputElement).checked;
    ctx.redraw();
  };

  const checkGiftCard = (event: Event) => {
    const input = (event.currentTarget as HTMLButtonElement).form!.elements.namedItem(
      'giftCardCode',
    ) as HTMLInputElement;
    const code = input.value.trim();
    return act(ctx, event, async () => {
      if (!code) throw new Error('Type the gift card’s code first');
      const found = await ctx.api
        .post<{ last4: string; balance: Cart['total'] }>('/v1/gift-cards/balance', { code })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404)
            throw new Error('No gift card has this code; check it and try again');
          throw error;
        });
      giftCard = { code, ...found };
      ctx.clearFlash();
      ctx.redraw();
    });
  };

  const addressOf = (form: HTMLFormElement): Partial<Address> & { country: string } => {
    const values = Object.fromEntries(
      [...new FormData(form)].map(([key, value]) => [key, String(value).trim()]),
    );
    const address: Partial<Address> & { country: string } = { country: values.country };
    for (const field of ['name', 'line1', 'line2', 'city', 'postalCode'] as const) {
      if (values[field]) address[field] = values[field];
    }
    return address;
  };

  // A saved address becomes the cart's destination: the form fills in and the totals follow it.
  const chooseSaved = (event: Event) => {
    const chosen = book.items.find(
      (address) => address.id === (event.currentTarget as HTMLSelectElement).value,
    );
    if (!chosen) return;
    const { id: _id, isDefault: _default, createdAt: _created, ...address } = chosen;
    return act(ctx, event, async () => {
      await shipTo(ctx, address);
      await ctx.refresh();
    });
  };

  // A new country changes tax and shipping: the summary is priced again before anything is paid.
  const chooseCountry = (event: Event) => {
    const form = (event.currentTarget as HTMLSelectElement).form!;
    return act(ctx, event, async () => {
      await shipTo(ctx, addressOf(form));
      await ctx.refresh();
    });
  };

  const placeOrder = (event: SubmitEvent) => {
    const values = formValues(event);
    const address: Address = {
      name: values.name.trim(),
      line1: values.line1.trim(),
      ...(values.line2.trim() ? { line2: values.line2.trim() } : {}),
      city: values.city.trim(),
      postalCode: values.postalCode.trim(),
      country: values.country,
    };
    attemptKey ??= newIdempotencyKey();
    const key = attemptKey;
    return act(ctx, event, async () => {
      const giftCardCode = useCredit ? undefined : values.giftCardCode?.trim() || undefined;
      // A balance known to cover the total needs no card; otherwise the card pays the rest.
      // With Stripe, the card becomes a PaymentMethod at Stripe first; only its id comes here.
      const coversAll =
        balancePays() === shown.amount &&
        (useCredit || (giftCard !== undefined && giftCard.code === giftCardCode));
      const token = coversAll ? undefined : await cardToken(values);
      try {
        const response = await ctx.api.request<Order>('POST', '/v1/orders', {
          headers: { 'idempotency-key': key },
          body: {
            shippingAddress: address,
            payment: {
              ...(token ? { token } : {}),
              ...(giftCardCode ? { giftCardCode } : {}),
              ...(useCredit ? { useStoreCredit: true } : {}),
            },
            expectedTotal: shown,
            ...(user ? {} : { email: values.email.trim() }),
          },
        });
        attemptKey = null;
        if (response.body.orderToken) ctx.api.rememberOrderToken(response.body.id, response.body.orderToken);
        // 3-D Secure: the bank's page first; it sends the shopper back to the order page.
        const action = response.body.payment.action;
        if (action?.type === 'redirect' && action.url) {
          window.location.assign(action.url);
          return;
        }
        ctx.navigate(`/orders/${response.body.id}?placed=1`);
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'NETWORK_ERROR') attemptKey = null;
        if (!(error instanceof ApiError)) throw error;
        if (error.code === 'TOTAL_CHANGED') {
          const now = (error.problem.totals as Cart['totals'] | undefined)?.total;
          ctx.flash(
            'error',
            `The total for this address is now ${now ? money(now) : 'different'}, not ${money(shown)}. ` +
              'Nothing was charged. Check the summary, then place the order again.',
          );
        } else if (error.code === 'PAYMENT_DECLINED' || error.code === 'PAYMENT_FAILED') {
          // The server has put the items back in the cart; the email about it says the same.
          ctx.flash(
            'error',
            error.code === 'PAYMENT_DECLINED'
              ? 'Your card was declined, so the order was not placed. Nothing was charged, and your items are still in your cart: try another card.'
              : 'The payment could not be completed, so the order was not placed. Nothing was charged, and your items are still in your cart: please try again.',
          );
        } else {
          ctx.flash('error', describeError(error));
        }
        await ctx.refresh();
      }
    });
  };

  const payable = !cart.shippingProblem && !cart.promotionProblem && !cart.unavailable;
  /** What the balance pays, and what is left for the card, in one sentence. */
  const split = () => {
    const pays = balancePays();
    const rest = shown.amount - pays;
    return rest === 0
      ? html`it pays the whole ${money(shown)}.`
      : html`it pays ${money({ amount: pays, currency: shown.currency })}, and your card the other ${money({ amount: rest, currency: shown.currency })}.`;
  };
  const giftCardLine = () =>
    giftCard && !useCredit
      ? html`<p class="muted" role="status" data-gift-card>${money(giftCard.balance)} on the gift card ending ${giftCard.last4}: ${split()}</p>`
      : nothing;
  const cardNeeded = () => balancePays() < shown.amount;
  const creditFields = () =>
    creditLeft > 0
      ? html`<label class="check"><input type="checkbox" name="useStoreCredit" .checked=${useCredit} @change=${toggleCredit} />
          Pay with my store credit (${money({ amount: creditLeft, currency: shown.currency })})</label>
          ${useCredit ? html`<p class="muted" role="status" data-store-credit>Your store credit: ${split()}</p>` : nothing}`
      : nothing;
  return () => html`
    <h1>Checkout</h1>
    <div class="columns">
      <form class="stack" @submit=${placeOrder} aria-label="Shipping and payment">
        ${
          user
            ? nothing
            : html`<fieldset>
          <legend>Contact</legend>
          <label>Email <input name="email" type="email" autocomplete="email" required maxlength="320" aria-describedby="email-help" /></label>
          <p id="email-help" class="muted">Your confirmation and shipping updates go here.
            <a href="/signin?next=/checkout">Sign in</a> to check out with your account instead.</p>
        </fieldset>`
        }
        <fieldset>
          <legend>Shipping address</legend>
          ${
            book.items.length > 0
              ? html`<label>Saved addresses <select name="saved" @change=${chooseSaved}>
                <option value="">Choose one of your addresses</option>
                ${book.items.map((address) => html`<option value=${address.id}>${addressLine(address)}${address.isDefault ? ' (default)' : ''}</option>`)}
              </select></label>`
              : nothing
          }
          <label>Full name <input name="name" autocomplete="name" required maxlength="200" .value=${saved?.name ?? user?.name ?? ''} /></label>
          <label>Address line 1 <input name="line1" autocomplete="address-line1" required maxlength="200" .value=${saved?.line1 ?? ''} /></label>
          <label>Address line 2 (optional) <input name="line2" autocomplete="address-line2" maxlength="200" .value=${saved?.line2 ?? ''} /></label>
          <label>City <input name="city" autocomplete="address-level2" required maxlength="100" .value=${saved?.city ?? ''} /></label>
          <label>Postal code <input name="postalCode" autocomplete="postal-code" required maxlength="20" .value=${saved?.postalCode ?? ''} /></label>
          <label>Country <select name="country" autocomplete="country" required @change=${chooseCountry}>
            ${saved ? nothing : html`<option value="" selected>Choose a country</option>`}
            ${countryOptions(saved?.country ?? '')}
          </select></label>
        </fieldset>
        <fieldset>
          <legend>Payment</legend>
          ${cardFields(ctx, shown, cardNeeded())}
        </fieldset>
        <fieldset>
          <legend>Gift card or store credit</legend>
          ${creditFields()}
          <div ?hidden=${useCredit}>
            <label>Gift card code (optional) <input name="giftCardCode" maxlength="40" autocomplete="off" spellcheck="false" /></label>
            <button type="button" @click=${checkGiftCard}>Check balance</button>
            ${giftCardLine()}
          </div>
        </fieldset>
        ${
          saved
            ? html`<button type="submit" class="primary" ?disabled=${!payable}>Place order · ${money(shown)}</button>`
            : html`<p class="muted">Choose the country it ships to: tax and shipping depend on it.</p>`
        }
      </form>
      <section aria-labelledby="order-summary">
        <h2 id="order-summary">Order summary</h2>
        <ul class="plain">
          ${cart.items.map((line) => html`<li>${line.quantity} × ${line.name} — ${money(line.lineTotal)}</li>`)}
        </ul>
        ${shippingSummary(cart)}
        ${cart.promotion ? html`<p>Code: ${cart.promotion.code}</p>` : nothing}
        ${cart.promotionProblem ? html`<p class="alert error" role="alert">${cart.promotionProblem.detail}</p>` : nothing}
        ${totalsTable(cart.totals, 'Order totals', saved !== undefined)}
        <p><a href="/cart">Edit cart</a></p>
      </section>
    </div>
  `;
}
