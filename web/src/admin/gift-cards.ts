import { html, nothing } from 'lit-html';
import { type BalanceEntry, balanceEntries } from '../balances.ts';
import { parseMoneyInput } from '../money.ts';
import type { GiftCard, GiftCardDetail, IssuedGiftCard, Page } from '../types.ts';
import { type AppContext, act, type Drawing, dateTime, formValues, money, STORE_CURRENCY } from '../ui.ts';

/**
 * Gift cards: staff issue them (the code is shown once, here, and never again) and see each
 * card's balance with every change to it.
 */
export async function giftCardsPage(ctx: AppContext): Promise<Drawing> {
  const cards = await ctx.api.get<Page<GiftCard>>('/v1/gift-cards?size=100');
  let issued: IssuedGiftCard | undefined;
  const entries = new Map<string, BalanceEntry[]>();

  const issue = (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      const amount = parseMoneyInput(values.amount, STORE_CURRENCY);
      if (amount === undefined || amount <= 0) throw new Error('The balance is not an amount like 25.00');
      const created = await ctx.api.post<IssuedGiftCard>('/v1/gift-cards', {
        balance: { amount, currency: STORE_CURRENCY },
        ...(values.expires ? { expiresAt: new Date(`${values.expires}T23:59:59`).toISOString() } : {}),
        ...(values.note.trim() ? { note: values.note.trim() } : {}),
      });
      cards.items.unshift(created);
      issued = created;
      (event.target as HTMLFormElement).reset();
      ctx.redraw();
    });
  };
  const open = (card: GiftCard) => async (event: Event) => {
    if (!(event.currentTarget as HTMLDetailsElement).open || entries.has(card.id)) return;
    const read = await ctx.api.get<GiftCardDetail>(`/v1/gift-cards/${card.id}`);
    entries.set(card.id, read.entries);
    ctx.redraw();
  };
  const stopped = (card: GiftCard) =>
    card.expiresAt !== undefined && Date.parse(card.expiresAt) <= Date.now();
  // A lost or stolen card: it expires now, so no checkout can spend what is left on it.
  const stop = (card: GiftCard) => (event: Event) =>
    act(ctx, event, async () => {
      if (
        !confirm(
          `Stop the gift card ending ${card.last4}? Its ${money(card.balance)} can no longer be spent.`,
        )
      )
        return;
      const updated = await ctx.api.patch<GiftCard>(`/v1/gift-cards/${card.id}`, {
        expiresAt: new Date().toISOString(),
      });
      cards.items = cards.items.map((item) => (item.id === card.id ? updated : item));
      ctx.flash('info', `The gift card ending ${card.last4} is stopped.`);
      ctx.redraw();
    });
  const history = (card: GiftCard) => {
    const rows = entries.get(card.id);
    if (!rows) return html`<p class="muted">Loading…</p>`;
    return balanceEntries(
      rows,
      `Changes to the card ending ${card.last4}`,
      (orderId) => `/admin/orders/${orderId}`,
    );
  };

  return () => html`
    <h1>Gift cards</h1>
    ${
      issued
        ? html`<div class="alert info" role="status" data-issued-code>
            <p>Gift card issued for ${money(issued.balance)}. Its code is shown only now: give it to the customer.</p>
            <p class="code"><strong>${issued.code}</strong></p>
          </div>`
        : nothing
    }
    <form class="inline" @submit=${issue} aria-label="Issue a gift card">
      <label>Balance (${STORE_CURRENCY}) <input name="amount" required inputmode="decimal" size="8" placeholder="25.00" /></label>
      <label>Expires (optional) <input name="expires" type="date" /></label>
      <label>Note (optional) <input name="note" maxlength="200" placeholder="Prize for the spring draw" /></label>
      <button type="submit" class="primary">Issue gift card</button>
    </form>
    ${cards.items.length === 0 ? html`<p class="muted">No gift cards yet.</p>` : nothing}
    <ul class="plain">
      ${cards.items.map(
        (card) => html`<li data-gift-card=${card.last4}>
          <details @toggle=${open(card)}>
            <summary>Card ending <strong>${card.last4}</strong>: ${money(card.balance)} left of ${money(card.initialBalance)}${
              card.expiresAt ? `, ${stopped(card) ? 'stopped' : 'expires'} ${dateTime(card.expiresAt)}` : ''
            }${card.note ? ` · ${card.note}` : ''}</summary>
            ${history(card)}
            ${
              stopped(card)
                ? nothing
                : html`<button type="button" class="danger" @click=${stop(card)}>Stop this card</button>`
            }
          </details>
        </li>`,
      )}
    </ul>
  `;
}
