import { html, nothing } from 'lit-html';
import { countryOptions } from '../addresses.ts';
import type { Customer, DraftOrder, Order, Page, User } from '../types.ts';
import {
  type AppContext,
  act,
  type Content,
  type Drawing,
  dateTime,
  formValues,
  money,
  shortId,
} from '../ui.ts';
import { addPicked, type PickedLine, pickedTable, variantPicker } from './variant-picker.ts';

interface OpenDraft {
  id: string;
  customerId?: string;
  email?: string;
  itemCount: number;
  createdAt: string;
}

/**
 * Draft orders: staff build an order for a customer or an email address (a phone or B2B order),
 * priced as that customer's cart of the same lines would be, then complete it paid outside the
 * shop, with a card, or by sending the customer a link to pay it themselves.
 */
export async function draftOrdersPage(ctx: AppContext): Promise<Drawing> {
  const { items: drafts } = await ctx.api.get<{ items: OpenDraft[] }>('/v1/draft-orders');
  const people = new Map(
    await Promise.all(
      [...new Set(drafts.flatMap((draft) => (draft.customerId ? [draft.customerId] : [])))].map(
        async (id) => [id, await ctx.api.get<User>(`/v1/users/${id}`).catch(() => undefined)] as const,
      ),
    ),
  );
  const whom = (draft: OpenDraft) => {
    const user = draft.customerId ? people.get(draft.customerId) : undefined;
    return user ? `${user.name} (${user.email})` : (draft.email ?? 'a customer whose account is gone');
  };
  let found: Customer[] | undefined;
  let customer: Customer | undefined;
  const lines: PickedLine[] = [];
  const picker = variantPicker(ctx, (variant) => addPicked(lines, variant));
  const findCustomer = (event: Event) => {
    const input = (event.currentTarget as HTMLButtonElement).form!.elements.namedItem(
      'who',
    ) as HTMLInputElement;
    return act(ctx, event, async () => {
      if (!input.value.trim()) throw new Error('Type part of the customer’s email or name first');
      found = (
        await ctx.api.get<Page<Customer>>(
          `/v1/customers?${new URLSearchParams({ q: input.value.trim(), size: '10' })}`,
        )
      ).items;
      ctx.redraw();
    });
  };
  const choose = (picked: Customer | undefined) => () => {
    customer = picked;
    found = undefined;
    ctx.redraw();
  };
  const create = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      if (lines.length === 0) throw new Error('Add at least one product to the draft');
      if (!customer && !values.email?.trim())
        throw new Error('Choose a customer, or give the email address of someone without an account');
      const draft = await ctx.api.post<DraftOrder>('/v1/draft-orders', {
        ...(customer ? { customerId: customer.id } : { email: values.email.trim() }),
        items: lines.map((line) => ({ variantId: line.variantId, quantity: line.quantity })),
        shippingAddress: {
          name: values.name.trim(),
          line1: values.line1.trim(),
          city: values.city.trim(),
          postalCode: values.postalCode.trim(),
          country: values.country,
        },
      });
      ctx.navigate(`/admin/draft-orders/${draft.id}`);
      ctx.flash('info', `Draft made: it comes to ${money(draft.totals.total)}.`);
    });
  };

  return () => html`
    <h1>Draft orders</h1>
    <section aria-labelledby="open-heading"><h2 id="open-heading">Open drafts</h2>
      ${
        drafts.length === 0
          ? html`<p class="muted">No open drafts.</p>`
          : html`<ul data-testid="drafts">${drafts.map(
              (draft) =>
                html`<li><a href="/admin/draft-orders/${draft.id}">Draft for ${whom(draft)}</a> · ${draft.itemCount} ${draft.itemCount === 1 ? 'item' : 'items'}, made ${dateTime(draft.createdAt)}</li>`,
            )}</ul>`
      }
    </section>
    <section aria-labelledby="new-heading"><h2 id="new-heading">New draft order</h2>
      <h3>Products</h3>
      ${picker()}
      <form class="stack" @submit=${create} aria-label="New draft order">
        ${
          lines.length > 0
            ? pickedTable(lines, () => ctx.redraw())
            : html`<p class="muted">Find a product above and add it.</p>`
        }
        <fieldset><legend>Customer</legend>
          ${
            customer
              ? html`<p data-testid="draft-customer">For ${customer.name} (${customer.email})
                  <button type="button" class="link" @click=${choose(undefined)}>Choose someone else</button></p>`
              : html`<label>Find a customer by email or name <input name="who" maxlength="100" /></label>
                <button type="button" @click=${findCustomer}>Find customer</button>
                ${
                  found
                    ? found.length === 0
                      ? html`<p class="muted">No customer matches.</p>`
                      : html`<ul class="plain" aria-label="Customers found">${found.map(
                          (each) =>
                            html`<li>${each.name} (${each.email}) <button type="button" @click=${choose(each)}>Choose ${each.name}</button></li>`,
                        )}</ul>`
                    : nothing
                }
                <label>Or the email of someone without an account <input name="email" type="email" maxlength="320" /></label>`
          }
        </fieldset>
        <fieldset><legend>Ship to</legend>
          <label>Full name <input name="name" required maxlength="200" .value=${customer?.name ?? ''} /></label>
          <label>Address line 1 <input name="line1" required maxlength="200" /></label>
          <label>City <input name="city" required maxlength="100" /></label>
          <label>Postal code <input name="postalCode" required maxlength="20" /></label>
          <label>Country <select name="country" required>${countryOptions('DE')}</select></label>
        </fieldset>
        <button type="submit" class="primary">Make the draft</button>
      </form>
    </section>
  `;
}

/** One draft: its lines and totals priced now, and the ways to complete it. */
export async function draftOrderPage(
  ctx: AppContext,
  params: Record<string, string>,
): Promise<Drawing | Content> {
  const draft = await ctx.api.get<DraftOrder>(`/v1/draft-orders/${params.id}`);
  ctx.setTitle(`Draft order for ${draft.email ?? 'a customer'}`);
  const user = draft.customerId
    ? await ctx.api.get<User>(`/v1/users/${draft.customerId}`).catch(() => undefined)
    : undefined;
  const whom = user ? `${user.name} (${user.email})` : (draft.email ?? 'a customer whose account is gone');
  let link: { url: string; expiresAt: string; sent: boolean } | undefined;
  const placed = (order: Order) => {
    ctx.navigate(`/admin/orders/${order.id}`);
    ctx.flash('info', `Order placed for ${money(order.total)}.`);
  };
  const paidOffline = (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm(`Place this order as paid outside the shop (${money(draft.totals.total)})?`)) return;
      placed(
        await ctx.api.post<Order>(`/v1/draft-orders/${draft.id}/complete`, {
          payment: { paidOffline: true },
        }),
      );
    });
  const charge = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      placed(
        await ctx.api.post<Order>(`/v1/draft-orders/${draft.id}/complete`, {
          payment: { token: values.token.trim() },
        }),
      );
    });
  };
  const sendLink = (event: Event) =>
    act(ctx, event, async () => {
      link = await ctx.api.post(`/v1/draft-orders/${draft.id}/payment-link`, { send: true });
      ctx.redraw();
    });
  return () => html`
    <nav aria-label="Breadcrumb"><a href="/admin/draft-orders">← Draft orders</a></nav>
    <h1>Draft order for ${whom}</h1>
    <p>Made ${dateTime(draft.createdAt)} · ships to ${draft.shippingAddress.name}, ${draft.shippingAddress.line1},
      ${draft.shippingAddress.postalCode} ${draft.shippingAddress.city}${draft.shippingMethod ? ` · ${draft.shippingMethod.name}` : ''}</p>
    <div class="table-scroll"><table class="lines">
      <thead><tr><th scope="col">Item</th><th scope="col">Quantity</th><th scope="col">Total</th></tr></thead>
      <tbody>${draft.items.map(
        (line) =>
          html`<tr><td>${line.name} <span class="muted">${line.sku}</span></td><td>${line.quantity}</td><td>${money(line.lineTotal)}</td></tr>`,
      )}</tbody>
    </table></div>
    <p data-testid="draft-total">Subtotal ${money(draft.totals.subtotal)}${
      draft.totals.discountTotal.amount > 0 ? ` · discount −${money(draft.totals.discountTotal)}` : ''
    } · shipping ${money(draft.totals.shippingTotal)} · tax ${money(draft.totals.taxTotal)} · <strong>total ${money(draft.totals.total)}</strong></p>
    ${
      draft.status === 'completed'
        ? html`<p>Placed as <a href="/admin/orders/${draft.orderId}">order #${shortId(draft.orderId!)}</a>.</p>`
        : html`<section aria-labelledby="complete-heading"><h2 id="complete-heading">Complete it</h2>
          <p><button type="button" @click=${sendLink}>Send a payment link</button>
            <span class="muted">The customer pays it themselves, by card, within a week.</span></p>
          ${
            link
              ? html`<div class="alert info" role="status" data-testid="payment-link">
                  <p>${link.sent ? `A link was mailed to ${user?.email ?? draft.email}.` : ''} This one you can pass on yourself; it works until ${dateTime(link.expiresAt)}:</p>
                  <p><a href=${link.url}>${link.url}</a></p>
                </div>`
              : nothing
          }
          <form class="inline" @submit=${charge} aria-label="Charge a card">
            <label>Card payment token <input name="token" required maxlength="100" autocomplete="off" /></label>
            <button type="submit">Charge and place the order</button>
          </form>
          <p><button type="button" @click=${paidOffline}>Paid outside the shop: place the order</button></p>
        </section>`
    }
  `;
}
