import { html, nothing } from 'lit-html';
import { addressLine } from '../addresses.ts';
import { balanceEntries } from '../balances.ts';
import { parseMoneyInput } from '../money.ts';
import type { Customer, CustomerDetail, CustomerGroup, Page, StoreCredit } from '../types.ts';
import {
  type AppContext,
  act,
  type Content,
  dateTime,
  formValues,
  money,
  pager,
  shortId,
  statusBadge,
} from '../ui.ts';

/** What a customer kept paid: the store's currency first, then any other they bought in. */
const spentText = (customer: Customer) =>
  [customer.totalSpent, ...customer.spentInOtherCurrencies].map(money).join(' + ');

/** Staff find a customer by email or name, newest accounts first. */
export async function customersPage(
  ctx: AppContext,
  _params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const q = query.get('q')?.trim() ?? '';
  const oldest = query.get('sort') === 'createdAt';
  const page = Number(query.get('page') ?? '1') || 1;
  const kept = { ...(q ? { q } : {}), ...(oldest ? { sort: 'createdAt' } : {}) };
  const list = await ctx.api.get<Page<Customer>>(
    `/v1/customers?${new URLSearchParams({ ...kept, page: String(page), size: '20' })}`,
  );
  const link = (to: number) => `/admin/customers?${new URLSearchParams({ ...kept, page: String(to) })}`;
  const search = (event: SubmitEvent) => {
    const values = formValues(event);
    const chosen = new URLSearchParams({
      ...(values.q.trim() ? { q: values.q.trim() } : {}),
      ...(values.sort === 'createdAt' ? { sort: 'createdAt' } : {}),
    });
    ctx.navigate(`/admin/customers${chosen.size > 0 ? `?${chosen}` : ''}`);
  };
  return html`
    <h1>Customers</h1>
    <form class="inline" role="search" @submit=${search} aria-label="Find customers">
      <label>Email or name <input type="search" name="q" maxlength="200" .value=${q} /></label>
      <label>Order <select name="sort">
        <option value="-createdAt" ?selected=${!oldest}>Newest first</option>
        <option value="createdAt" ?selected=${oldest}>Oldest first</option>
      </select></label>
      <button type="submit">Search</button>
    </form>
    ${
      list.items.length === 0
        ? html`<p role="status">${q ? `No customer’s email or name contains “${q}”.` : 'No customers yet.'}</p>`
        : html`<div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Customers, ${oldest ? 'oldest' : 'newest'} first</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Joined</th><th scope="col">Orders</th><th scope="col">Spent</th><th scope="col">Last order</th></tr></thead>
      <tbody>
        ${list.items.map(
          (customer) => html`<tr data-customer=${customer.id}>
            <td><a href="/admin/customers/${customer.id}">${customer.name}</a></td>
            <td>${customer.email}${customer.emailVerified ? nothing : html` <span class="muted">(not confirmed)</span>`}</td>
            <td>${dateTime(customer.createdAt)}</td>
            <td>${customer.orderCount}</td>
            <td>${spentText(customer)}</td>
            <td>${customer.lastOrderAt ? dateTime(customer.lastOrderAt) : 'never'}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`
    }
    ${pager(list, list.total === 1 ? 'customer' : 'customers', link)}
  `;
}

/** One customer: their account, their addresses and their latest orders. */
export async function customerPage(ctx: AppContext, params: Record<string, string>): Promise<Content> {
  const [customer, groups, credit] = await Promise.all([
    ctx.api.get<CustomerDetail>(`/v1/customers/${params.id}`),
    ctx.api.get<{ items: CustomerGroup[] }>('/v1/customer-groups'),
    ctx.api.get<StoreCredit>(`/v1/customers/${params.id}/store-credit`),
  ]);
  ctx.setTitle(customer.name);
  const inGroup = new Set(customer.groups.map((group) => group.id));
  const others = groups.items.filter((group) => !inGroup.has(group.id));
  // Into an existing group, or one made with the name typed.
  const join = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const name = values.newGroup?.trim();
      const groupId = name
        ? (await ctx.api.post<CustomerGroup>('/v1/customer-groups', { name })).id
        : values.group;
      if (!groupId) throw new Error('Choose a group, or type the name of a new one');
      await ctx.api.put(`/v1/customer-groups/${groupId}/members/${customer.id}`);
      await ctx.refresh();
    });
  };
  const changeCredit = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const text = values.amount.trim();
      const taking = text.startsWith('-');
      const amount = parseMoneyInput(taking ? text.slice(1) : text, credit.balance.currency);
      if (amount === undefined || amount === 0)
        throw new Error('The amount is not an amount like 10.00 or -5.00');
      await ctx.api.post(`/v1/customers/${customer.id}/store-credit`, {
        amount: { amount: taking ? -amount : amount, currency: credit.balance.currency },
        reason: values.reason.trim(),
      });
      await ctx.refresh();
      ctx.flash('info', `Store credit of ${customer.name} ${taking ? 'reduced' : 'increased'}.`);
    });
  };
  const leave = (group: { id: string; name: string }) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/customer-groups/${group.id}/members/${customer.id}`);
      await ctx.refresh();
    });
  return html`
    <nav aria-label="Breadcrumb"><a href="/admin/customers">← Customers</a></nav>
    <h1>${customer.name}</h1>
    <dl class="facts">
      <dt>Email</dt><dd>${customer.email} ${customer.emailVerified ? '(confirmed)' : '(not confirmed yet)'}</dd>
      <dt>Customer since</dt><dd>${dateTime(customer.createdAt)}</dd>
      <dt>Paid orders</dt><dd data-testid="order-count">${customer.orderCount}</dd>
      <dt>Spent</dt><dd data-testid="spent">${spentText(customer)}</dd>
    </dl>
    <h2>Store credit</h2>
    <p data-testid="store-credit">${money(credit.balance)}</p>
    ${
      credit.entries.length > 0
        ? balanceEntries(
            credit.entries,
            `Changes to the store credit of ${customer.name}`,
            (orderId) => `/admin/orders/${orderId}`,
          )
        : nothing
    }
    <form class="inline" @submit=${changeCredit} aria-label="Change store credit">
      <label>Amount (${credit.balance.currency}; negative takes off) <input name="amount" required inputmode="decimal" size="8" placeholder="10.00" /></label>
      <label>Why <input name="reason" required maxlength="200" placeholder="Parcel arrived late" /></label>
      <button type="submit">Change store credit</button>
    </form>
    <h2>Groups</h2>
    ${
      customer.groups.length === 0
        ? html`<p>In no group.</p>`
        : html`<ul class="plain" aria-label="Groups">
        ${customer.groups.map(
          (group) => html`<li>${group.name}
            <button type="button" class="link" @click=${leave(group)} aria-label=${`Take out of ${group.name}`}>take out</button></li>`,
        )}
      </ul>`
    }
    <form class="inline" @submit=${join} aria-label="Add to a group">
      ${
        others.length > 0
          ? html`<label>Group <select name="group"><option value="">Choose a group</option>
            ${others.map((group) => html`<option value=${group.id}>${group.name}</option>`)}</select></label>`
          : nothing
      }
      <label>or a new group <input name="newGroup" maxlength="100" /></label>
      <button type="submit">Add to group</button>
    </form>
    <h2>Addresses</h2>
    ${
      customer.addresses.length === 0
        ? html`<p>No saved addresses.</p>`
        : html`<ul class="plain" aria-label="Saved addresses">
        ${customer.addresses.map(
          (address) =>
            html`<li>${addressLine(address)}${address.isDefault ? html` <strong>· default</strong>` : nothing}</li>`,
        )}
      </ul>`
    }
    <h2>Latest orders</h2>
    ${
      customer.orders.length === 0
        ? html`<p>No orders yet.</p>`
        : html`<div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">The customer’s orders, newest first</caption>
      <thead><tr><th scope="col">Order</th><th scope="col">Placed</th><th scope="col">Status</th><th scope="col">Total</th></tr></thead>
      <tbody>
        ${customer.orders.map(
          (order) => html`<tr data-order=${order.id}>
            <td><a href="/admin/orders/${order.id}">#${shortId(order.id)}</a></td>
            <td>${dateTime(order.createdAt)}</td>
            <td>${statusBadge(order.status)}</td>
            <td>${money(order.total)}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`
    }
  `;
}
