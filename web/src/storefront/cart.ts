import { html, nothing } from 'lit-html';
import { ApiError, newIdempotencyKey } from '../api.ts';
import type { Address, Cart, Order, ShippingMethod } from '../types.ts';
import { act, type AppContext, type Content, describeError, formValues, money } from '../ui.ts';

export const COUNTRIES = [
  ['DE', 'Germany'],
  ['FR', 'France'],
  ['GB', 'United Kingdom'],
  ['NL', 'Netherlands'],
  ['US', 'United States'],
] as const;

const countryOptions = (selected: string) =>
  COUNTRIES.map(
    ([code, name]) => html`<option value=${code} ?selected=${code === selected}>${name}</option>`,
  );

/** The destination the shopper picked on the cart page, kept for checkout in this tab. */
const DESTINATION_KEY = 'emporium.destination';
const destination = () => sessionStorage.getItem(DESTINATION_KEY) ?? 'DE';

export function totalsTable(totals: Cart['totals'], caption: string) {
  return html`<table class="totals">
    <caption class="visually-hidden">${caption}</caption>
    <tbody>
      <tr><th scope="row">Subtotal</th><td data-total="subtotal">${money(totals.subtotal)}</td></tr>
      ${
        totals.discountTotal.amount > 0
          ? html`<tr><th scope="row">Discount</th><td data-total="discount">−${money(totals.discountTotal)}</td></tr>`
          : nothing
      }
      <tr><th scope="row">Shipping</th><td data-total="shipping">${money(totals.shippingTotal)}</td></tr>
      <tr><th scope="row">Tax</th><td data-total="tax">${money(totals.taxTotal)}</td></tr>
      <tr class="grand"><th scope="row">Total</th><td data-total="total">${money(totals.total)}</td></tr>
    </tbody>
  </table>`;
}

export async function cartPage(ctx: AppContext): Promise<Content> {
  const country = destination();
  const [cart, methods] = await Promise.all([
    ctx.api.get<Cart>('/v1/cart'),
    ctx.api.get<{ items: ShippingMethod[] }>(`/v1/shipping-methods?country=${country}`),
  ]);
  const run = (event: Event, task: () => Promise<unknown>) =>
    act(ctx, event, async () => {
      await task();
      await ctx.refresh();
    });
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
    sessionStorage.setItem(DESTINATION_KEY, (event.currentTarget as HTMLSelectElement).value);
    void ctx.refresh();
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
    <table class="lines">
      <caption class="visually-hidden">Items in your cart</caption>
      <thead><tr><th scope="col">Item</th><th scope="col">Price</th><th scope="col">Quantity</th><th scope="col">Total</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
      <tbody>
        ${cart.items.map(
          (line) => html`<tr data-sku=${line.sku}>
            <td>${line.name} <span class="muted">${line.sku}</span>
              ${unavailable.has(line.variantId) ? html`<p class="alert error">No longer available in this quantity</p>` : nothing}</td>
            <td>${money(line.unitPrice)}</td>
            <td>
              <form class="inline" @submit=${setQuantity(line.id)}>
                <label><span class="visually-hidden">Quantity of ${line.name}</span>
                  <input type="number" name="quantity" min="1" max="999" .value=${String(line.quantity)} size="3" required /></label>
                <button type="submit">Update</button>
              </form>
            </td>
            <td>${money(line.lineTotal)}</td>
            <td><button type="button" class="link" @click=${remove(line.id)} aria-label=${`Remove ${line.name}`}>Remove</button></td>
          </tr>`,
        )}
      </tbody>
    </table>

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
        <label>Ship to <select name="country" @change=${chooseCountry}>${countryOptions(country)}</select></label>
        ${
          methods.items.length === 0
            ? html`<p class="muted">No shipping methods for this destination; shipping is free.</p>`
            : html`<fieldset>
              <legend>Shipping method</legend>
              ${methods.items.map(
                (method) => html`<label class="variant">
                  <input type="radio" name="shippingMethod" value=${method.id} ?checked=${cart.shippingMethod?.id === method.id} @change=${chooseMethod} />
                  ${method.name} (${method.minDays}–${method.maxDays} days) <strong>${money(method.price)}</strong>
                </label>`,
              )}
            </fieldset>`
        }
      </section>
      <section aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        ${totalsTable(cart.totals, 'Cart totals')}
        <p><a class="button primary" href="/checkout">Check out</a></p>
      </section>
    </div>
  `;
}

/**
 * After a declined card the order is cancelled and its items are no longer in the cart (checkout
 * empties it when it creates the order): put them back so the shopper can try another card.
 */
async function restoreCart(ctx: AppContext, orderId: string, cart: Cart): Promise<void> {
  const order = await ctx.api.get<Order>(`/v1/orders/${orderId}`);
  for (const line of order.items)
    await ctx.api.post('/v1/cart/items', { variantId: line.variantId, quantity: line.quantity });
  if (cart.shippingMethod)
    await ctx.api.put('/v1/cart/shipping-method', { shippingMethodId: cart.shippingMethod.id });
  if (cart.promotion)
    await ctx.api.post('/v1/cart/promotions', { code: cart.promotion.code }).catch(() => undefined);
}

export async function checkoutPage(ctx: AppContext): Promise<Content> {
  const cart = await ctx.api.get<Cart>('/v1/cart');
  if (cart.items.length === 0) {
    return html`<h1>Checkout</h1>
      <p>Your cart is empty. <a href="/">Browse the shop</a></p>`;
  }
  const user = ctx.api.session()!.user;
  const country = cart.shippingMethod?.country ?? destination();
  // One key per attempt: a retry after no answer reuses it, so the server never charges twice.
  let attemptKey: string | null = null;

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
      try {
        const response = await ctx.api.request<Order>('POST', '/v1/orders', {
          headers: { 'idempotency-key': key },
          body: { shippingAddress: address, payment: { token: values.token.trim() } },
        });
        attemptKey = null;
        ctx.navigate(`/orders/${response.body.id}?placed=1`);
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'NETWORK_ERROR') attemptKey = null;
        if (
          error instanceof ApiError &&
          (error.code === 'PAYMENT_DECLINED' || error.code === 'PAYMENT_FAILED')
        ) {
          const orderId = error.problem.orderId;
          if (typeof orderId === 'string') await restoreCart(ctx, orderId, cart).catch(() => undefined);
          const message =
            error.code === 'PAYMENT_DECLINED'
              ? 'Your card was declined. Nothing was charged and no order was placed; please try another card.'
              : 'The payment could not be completed. Nothing was charged; please try again.';
          ctx.flash('error', message);
          return;
        }
        ctx.flash('error', describeError(error));
      }
    });
  };

  return html`
    <h1>Checkout</h1>
    <div class="columns">
      <form class="stack" @submit=${placeOrder} aria-label="Shipping and payment">
        <fieldset>
          <legend>Shipping address</legend>
          <label>Full name <input name="name" autocomplete="name" required maxlength="200" .value=${user.name} /></label>
          <label>Address line 1 <input name="line1" autocomplete="address-line1" required maxlength="200" /></label>
          <label>Address line 2 (optional) <input name="line2" autocomplete="address-line2" maxlength="200" /></label>
          <label>City <input name="city" autocomplete="address-level2" required maxlength="100" /></label>
          <label>Postal code <input name="postalCode" autocomplete="postal-code" required maxlength="20" /></label>
          <label>Country <select name="country" autocomplete="country">${countryOptions(country)}</select></label>
        </fieldset>
        <fieldset>
          <legend>Payment</legend>
          <label>Card token <input name="token" required maxlength="100" value="tok_visa" autocomplete="off" aria-describedby="token-help" /></label>
          <p id="token-help" class="muted">
            Sandbox: <code>tok_visa</code> is approved, <code>tok_declined</code> is declined,
            <code>tok_slow</code> answers after 10 s (the order confirms by itself), <code>tok_error</code> fails.
          </p>
        </fieldset>
        <button type="submit" class="primary">Place order · ${money(cart.total)}</button>
      </form>
      <section aria-labelledby="order-summary">
        <h2 id="order-summary">Order summary</h2>
        <ul class="plain">
          ${cart.items.map((line) => html`<li>${line.quantity} × ${line.name} — ${money(line.lineTotal)}</li>`)}
        </ul>
        ${cart.shippingMethod ? html`<p>Shipping: ${cart.shippingMethod.name}</p>` : nothing}
        ${cart.promotion ? html`<p>Code: ${cart.promotion.code}</p>` : nothing}
        ${totalsTable(cart.totals, 'Order totals')}
        <p><a href="/cart">Edit cart</a></p>
      </section>
    </div>
  `;
}
