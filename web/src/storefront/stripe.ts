import { html } from 'lit-html';
import { ref } from 'lit-html/directives/ref.js';
import { describeError } from '../errors.ts';
import type { Money } from '../money.ts';
import type { AppContext } from '../ui.ts';

/**
 * Stripe's Payment Element on the checkout page, when the shop runs on Stripe with a publishable
 * key (the server writes it and Stripe.js's address into a meta tag). The card never touches our
 * server: Stripe.js turns it into a PaymentMethod, whose id the order is placed with, and the
 * server confirms the PaymentIntent (Stripe's "finalize payments on the server" flow).
 */

/** The part of Stripe.js the checkout uses, as Stripe names it. */
interface StripeJs {
  elements(options: ElementsOptions): StripeElements;
  createPaymentMethod(options: {
    elements: StripeElements;
  }): Promise<{ paymentMethod?: { id: string }; error?: StripeError }>;
}
interface ElementsOptions {
  mode: 'payment';
  amount: number;
  currency: string;
  paymentMethodCreation: 'manual';
  captureMethod: 'manual';
}
interface StripeElements {
  create(type: 'payment'): { mount(element: HTMLElement): void; destroy(): void };
  update(options: Partial<ElementsOptions>): void;
  submit(): Promise<{ error?: StripeError }>;
}
interface StripeError {
  message?: string;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

const settings = (() => {
  const raw = document.querySelector<HTMLMetaElement>('meta[name="emporium-stripe"]')?.content;
  return raw ? (JSON.parse(raw) as { key: string; js: string }) : undefined;
})();

/** Whether checkout collects the card with Stripe's Payment Element (else a sandbox token). */
export const paymentElementEnabled = settings !== undefined;

let stripe: Promise<StripeJs> | undefined;
function loadStripe(): Promise<StripeJs> {
  stripe ??= new Promise<StripeJs>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = settings!.js;
    script.onload = () =>
      window.Stripe ? resolve(window.Stripe(settings!.key)) : reject(new Error('Stripe.js did not start'));
    script.onerror = () => {
      stripe = undefined;
      reject(new Error('The card form could not be loaded. Check your connection and reload the page.'));
    };
    document.head.append(script);
  });
  return stripe;
}

let mounted: { host: HTMLElement; elements: StripeElements } | undefined;

const elementsOptions = (total: Money): ElementsOptions => ({
  mode: 'payment',
  amount: total.amount,
  currency: total.currency.toLowerCase(),
  paymentMethodCreation: 'manual',
  // Emporium captures later (at once, or as the goods ship): only methods that allow it are shown.
  captureMethod: 'manual',
});

/**
 * Mounts the Payment Element into `host` for this total (a lit `ref` callback calls it on every
 * render: a new total updates the element already there).
 */
export async function mountPaymentElement(host: Element | undefined, total: Money): Promise<void> {
  if (!(host instanceof HTMLElement)) return;
  if (mounted?.host === host) {
    mounted.elements.update(elementsOptions(total));
    return;
  }
  const elements = (await loadStripe()).elements(elementsOptions(total));
  elements.create('payment').mount(host);
  mounted = { host, elements };
}

/** The card the shopper entered, as a Stripe PaymentMethod id to place the order with. */
export async function paymentMethodId(): Promise<string> {
  if (!mounted) throw new Error('The card form is still loading; try again in a moment.');
  const submitted = await mounted.elements.submit();
  if (submitted.error) throw new Error(submitted.error.message ?? 'Check the card details.');
  const created = await (await loadStripe()).createPaymentMethod({ elements: mounted.elements });
  if (!created.paymentMethod) throw new Error(created.error?.message ?? 'The card could not be used.');
  return created.paymentMethod.id;
}

/**
 * Where the shopper gives their card: Stripe's Payment Element for this total, or on the sandbox a
 * token field (`required` when the card must pay something).
 */
export function cardFields(ctx: Pick<AppContext, 'flash'>, total: Money, required: boolean) {
  return paymentElementEnabled
    ? html`<div class="payment-element" ${ref((host) => {
        mountPaymentElement(host, total).catch((error: unknown) => ctx.flash('error', describeError(error)));
      })}></div>`
    : html`<label>Card token <input name="token" ?required=${required} maxlength="100" value="tok_visa" autocomplete="off" aria-describedby="token-help" /></label>
          <p id="token-help" class="muted">
            Sandbox: <code>tok_visa</code> is approved, <code>tok_declined</code> is declined,
            <code>tok_slow</code> answers after 10 s (the order confirms by itself), <code>tok_error</code> fails.
          </p>`;
}

/** The card given in `cardFields`, as the token the order is paid with. */
export const cardToken = (values: Record<string, string>): Promise<string> =>
  paymentElementEnabled ? paymentMethodId() : Promise.resolve(values.token.trim());
