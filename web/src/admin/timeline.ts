import { html } from 'lit-html';
import type { Order, TimelineEntry } from '../types.ts';
import { type AppContext, act, type Content, cancellationText, dateTime, formValues, money } from '../ui.ts';

type EventData = Record<string, unknown>;

const amountOf = (data: EventData, currency: string) =>
  typeof data.amount === 'number' ? money({ amount: data.amount, currency }) : undefined;

/** Each event in a sentence; the events of an order the API documents (docs/api.md). */
const EVENT_TEXT: Record<string, (data: EventData, order: Order) => string> = {
  'order.created': () => 'Placed',
  'order.confirmed': () => 'Paid and confirmed',
  'order.cancelled': (data) =>
    `Cancelled${typeof data.reason === 'string' ? `: ${cancellationText(data.reason)}` : ''}`,
  'order.edited': (data) => `Edited: now version ${data.version}`,
  'order.shipped': (data) =>
    `Shipped${typeof data.carrier === 'string' ? ` with ${data.carrier}, tracking number ${data.trackingNumber}` : ''}`,
  'order.returned': (data) => {
    const refund = data.refund as { amount: number; currency: string } | undefined;
    return `Return received${refund && refund.amount > 0 ? `, ${money(refund)} refunded` : ''}`;
  },
  'payment.captured': (data, order) =>
    `Payment taken${amountOf(data, order.total.currency) ? `: ${amountOf(data, order.total.currency)}` : ''}`,
  'payment.refunded': (data, order) =>
    `Refunded ${amountOf(data, order.total.currency) ?? ''}${typeof data.reason === 'string' ? ` · “${data.reason}”` : ''}`,
  'payment.drift_found': () => 'The payment provider’s record disagrees with ours',
};

/** What an event tells of, in words (a webhook receiver was told of it). */
export const eventAbout = (type: string) => ABOUT[type] ?? 'a change';

const ABOUT: Record<string, string> = {
  'order.created': 'the order',
  'order.confirmed': 'the confirmation',
  'order.cancelled': 'the cancellation',
  'order.edited': 'the edit',
  'order.shipped': 'the shipment',
  'order.returned': 'the return',
  'payment.captured': 'the payment',
  'payment.refunded': 'the refund',
  'payment.drift_found': 'the payment disagreement',
  'inventory.low': 'stock running low',
  'user.registered': 'a new account',
  'user.email_verified': 'a confirmed email address',
  'user.erased': 'an erased account',
};

const MAIL_TEXT: Record<string, string> = {
  order_confirmed: 'Order confirmation',
  order_cancelled: 'Cancellation',
  order_shipped: 'Shipping notice',
  order_returned: 'Return receipt',
};

function entryText(entry: TimelineEntry, order: Order): string {
  switch (entry.kind) {
    case 'event':
      return EVENT_TEXT[entry.type]?.(entry.data as EventData, order) ?? 'Changed';
    case 'email': {
      const what = MAIL_TEXT[entry.template] ?? 'An email';
      if (entry.status === 'sent') return `${what} emailed to ${entry.to}`;
      return entry.status === 'failed'
        ? `${what} to ${entry.to} could not be sent`
        : `${what} to ${entry.to} is waiting to go`;
    }
    case 'webhook': {
      const about = eventAbout(entry.eventType);
      const host = URL.canParse(entry.url) ? new URL(entry.url).host : entry.url;
      const tries = `${entry.attempts} ${entry.attempts === 1 ? 'try' : 'tries'}`;
      if (entry.status === 'succeeded') return `${host} was told of ${about}`;
      return entry.status === 'dead'
        ? `${host} could not be told of ${about} (gave up after ${tries})`
        : `${host} is being told of ${about} (${tries} so far)`;
    }
    case 'note':
      return `Note by ${entry.author}`;
  }
}

/** The order's story, oldest first, with a form for a staff note. */
export function timelineSection(ctx: AppContext, order: Order, entries: TimelineEntry[]): Content {
  const addNote = (event: SubmitEvent) => {
    const form = event.target as HTMLFormElement;
    const { body } = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.post(`/v1/orders/${order.id}/notes`, { body });
      form.reset();
      await ctx.refresh();
      ctx.flash('info', 'Note added to the timeline.');
    });
  };
  return html`<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Timeline</h2>
    <ol class="timeline" data-testid="timeline">
      ${entries.map(
        (entry) => html`<li class=${`timeline-${entry.kind}`}>
          <time datetime=${entry.at}>${dateTime(entry.at)}</time>
          <span>${entryText(entry, order)}</span>
          ${entry.kind === 'note' ? html`<blockquote>${entry.body}</blockquote>` : ''}
        </li>`,
      )}
    </ol>
    <form class="stack" @submit=${addNote} aria-label="Add a note">
      <label>Note for the staff <textarea name="body" required maxlength="2000" rows="2"></textarea></label>
      <p class="muted">Only staff see notes.</p>
      <button type="submit">Add note</button>
    </form>
  </section>`;
}
