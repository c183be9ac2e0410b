import { html, nothing } from 'lit-html';
import type { Page, WebhookDelivery, WebhookEndpoint } from '../types.ts';
import { type AppContext, act, type Content, dateTime } from '../ui.ts';
import { eventAbout } from './timeline.ts';

/** What an endpoint may be told of, in words; each is one subscription pattern of the API. */
const SUBSCRIPTIONS: Array<[string, string]> = [
  ['order.*', 'Orders: placed, confirmed, edited, shipped, returned, cancelled'],
  ['payment.*', 'Payments: taken, refunded, disagreements with the provider'],
  ['inventory.low', 'Stock running low'],
  ['user.*', 'Accounts: new, confirmed, erased'],
  ['*', 'Everything the shop announces'],
];

const subscriptionText = (pattern: string) =>
  SUBSCRIPTIONS.find(([each]) => each === pattern)?.[1].split(':')[0] ?? eventAbout(pattern);

/** The signing secret of the endpoint just made: shown until the page is left, never again. */
let justMade: { url: string; secret: string } | null = null;

/** Webhook endpoints: register one for what it should hear, see its deliveries. */
export async function webhooksPage(ctx: AppContext): Promise<Content> {
  const endpoints = await ctx.api.get<Page<WebhookEndpoint>>('/v1/webhooks?size=100');
  const shown = justMade;
  if (shown)
    ctx.onLeave(() => {
      justMade = null;
    });
  const create = (event: SubmitEvent) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    return act(ctx, event, async () => {
      const events = data.getAll('events').map(String);
      if (events.length === 0) throw new Error('Choose at least one thing the endpoint should hear of');
      const made = await ctx.api.post<WebhookEndpoint & { secret: string }>('/v1/webhooks', {
        url: String(data.get('url')).trim(),
        events,
      });
      justMade = { url: made.url, secret: made.secret };
      await ctx.refresh();
    });
  };
  return html`
    <h1>Webhooks</h1>
    <p>The shop tells these addresses what happens, signed as Standard Webhooks, retrying until they answer.</p>
    ${
      shown
        ? html`<div class="alert info" role="status" data-testid="new-secret">
          <p>${shown.url} will be told. Copy its signing secret now: it is not shown again.</p>
          <p><code>${shown.secret}</code></p>
        </div>`
        : nothing
    }
    ${
      endpoints.items.length === 0
        ? html`<p>No endpoints yet.</p>`
        : html`<div class="table-scroll"><table class="lines">
      <caption class="visually-hidden">Webhook endpoints</caption>
      <thead><tr><th scope="col">Address</th><th scope="col">Hears of</th><th scope="col">Since</th></tr></thead>
      <tbody>${endpoints.items.map(
        (endpoint) => html`<tr>
          <td><a href="/admin/webhooks/${endpoint.id}">${endpoint.url}</a></td>
          <td>${endpoint.events.map(subscriptionText).join('; ')}</td>
          <td>${dateTime(endpoint.createdAt)}</td>
        </tr>`,
      )}</tbody>
    </table></div>`
    }
    <details ?open=${endpoints.items.length === 0}>
      <summary>Add an endpoint</summary>
      <form class="stack" @submit=${create} aria-label="New webhook endpoint">
        <label>Address (https://…) <input name="url" type="url" required maxlength="2000" /></label>
        <fieldset>
          <legend>What it hears of</legend>
          ${SUBSCRIPTIONS.map(
            ([pattern, text]) =>
              html`<label><input type="checkbox" name="events" value=${pattern} /> ${text}</label>`,
          )}
        </fieldset>
        <button type="submit">Add the endpoint</button>
      </form>
    </details>
  `;
}

const DELIVERY_TEXT: Record<WebhookDelivery['status'], string> = {
  pending: 'Being tried',
  succeeded: 'Delivered',
  dead: 'Gave up',
};

/** One endpoint's deliveries, newest first, each attempt's answer; any may be sent again. */
export async function webhookPage(
  ctx: AppContext,
  params: Record<string, string>,
  query: URLSearchParams,
): Promise<Content> {
  const page = Number(query.get('page') ?? '1') || 1;
  const [endpoints, deliveries] = await Promise.all([
    ctx.api.get<Page<WebhookEndpoint>>('/v1/webhooks?size=100'),
    ctx.api.get<Page<WebhookDelivery>>(`/v1/webhooks/${params.id}/deliveries?page=${page}&size=20`),
  ]);
  const endpoint = endpoints.items.find((each) => each.id === params.id);
  ctx.setTitle(endpoint ? `Webhook ${endpoint.url}` : 'Webhook');
  const replay = (delivery: WebhookDelivery) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.post(`/v1/webhooks/${params.id}/deliveries/${delivery.id}/replay`);
      await ctx.refresh();
      ctx.flash(
        'info',
        `${eventAbout(delivery.eventType)} will be sent again now.`.replace(/^./, (c) => c.toUpperCase()),
      );
    });
  const lastAnswer = (delivery: WebhookDelivery) => {
    const last = delivery.attempts.at(-1);
    if (!last) return 'not tried yet';
    if (last.statusCode) return `answered ${last.statusCode} in ${last.latencyMs} ms`;
    return last.error ? 'could not be reached' : 'no answer';
  };
  return html`
    <nav aria-label="Breadcrumb"><a href="/admin/webhooks">← Webhooks</a></nav>
    <h1>${endpoint?.url ?? 'Webhook'}</h1>
    ${
      deliveries.items.length === 0
        ? html`<p>Nothing was sent here yet.</p>`
        : html`<div class="table-scroll"><table class="lines" data-testid="deliveries">
      <caption class="visually-hidden">Deliveries, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">About</th><th scope="col">Status</th><th scope="col">Tries</th><th scope="col">Last answer</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>${deliveries.items.map(
        (delivery) => html`<tr data-delivery=${delivery.id}>
          <td>${dateTime(delivery.createdAt)}</td>
          <td>${eventAbout(delivery.eventType)}</td>
          <td>${DELIVERY_TEXT[delivery.status]}${delivery.nextAttemptAt ? html` <span class="muted">(next ${dateTime(delivery.nextAttemptAt)})</span>` : nothing}</td>
          <td>${delivery.attempts.length}</td>
          <td>${lastAnswer(delivery)}</td>
          <td><button type="button" @click=${replay(delivery)} aria-label="Send again: ${eventAbout(delivery.eventType)}, ${dateTime(delivery.createdAt)}">Send again</button></td>
        </tr>`,
      )}</tbody>
    </table></div>`
    }
  `;
}
