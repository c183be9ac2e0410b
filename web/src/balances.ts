import { html, nothing } from 'lit-html';
import type { GiftCardDetail } from './types.ts';
import { dateTime, money } from './ui.ts';

/** One change to a gift card or store credit balance. */
export type BalanceEntry = GiftCardDetail['entries'][number];

const ENTRY_TEXT: Record<BalanceEntry['kind'], string> = {
  issued: 'Issued',
  redeemed: 'Paid an order',
  released: 'Back from an order that was not placed',
  refunded: 'Refunded',
  revoked: 'Refund taken back (the rest of it was refused)',
  credited: 'Credited',
  debited: 'Taken off',
};

/** Signed money: "−€12.50" for what left the balance. */
const signed = (value: BalanceEntry['amount']) =>
  value.amount < 0 ? `−${money({ ...value, amount: -value.amount })}` : money(value);

/**
 * The changes to a balance, oldest first, as a table; `orderLink` makes the link to an order the
 * change was for (the console's order page, or the shopper's).
 */
export const balanceEntries = (
  entries: BalanceEntry[],
  label: string,
  orderLink: (orderId: string) => string,
) =>
  html`<table class="lines compact" aria-label=${label}>
    <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Amount</th></tr></thead>
    <tbody>${entries.map(
      (entry) =>
        html`<tr><td>${dateTime(entry.at)}</td><td>${ENTRY_TEXT[entry.kind]}${
          entry.reason ? `: ${entry.reason}` : ''
        }${entry.orderId ? html` (<a href=${orderLink(entry.orderId)}>the order</a>)` : nothing}</td><td>${signed(entry.amount)}</td></tr>`,
    )}</tbody>
  </table>`;
