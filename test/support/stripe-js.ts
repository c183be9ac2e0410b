/**
 * Stripe.js as the emulator serves it at `/v3/`, for browser journeys on a machine that cannot
 * reach js.stripe.com. It has the surface the storefront uses, with Stripe's names and shapes:
 * `Stripe(publishableKey)`, `elements({mode, amount, currency, paymentMethodCreation: 'manual'})`,
 * `elements.create('payment').mount(element)`, `elements.submit()`, `elements.update()` and
 * `createPaymentMethod({elements})`, which sends the card to the emulator's
 * `POST /v1/payment_methods` with the publishable key, as Stripe.js sends it to Stripe's API.
 * The card fields are drawn in the page (Stripe draws them in its own frame).
 */
export function stripeJs(apiBase: string): string {
  return `(() => {
  const api = ${JSON.stringify(apiBase)};
  window.Stripe = (key) => {
    if (!/^pk_(test|live)_/.test(key)) throw new Error('Stripe: invalid publishable key');
    return {
      elements(options) {
        const state = { options: { ...options }, number: null };
        return {
          create(type) {
            if (type !== 'payment') throw new Error('Stripe: only the payment element is emulated');
            return {
              mount(target) {
                const element = typeof target === 'string' ? document.querySelector(target) : target;
                element.replaceChildren();
                const label = document.createElement('label');
                label.textContent = 'Card number ';
                const input = document.createElement('input');
                input.name = 'cardnumber';
                input.autocomplete = 'cc-number';
                input.inputMode = 'numeric';
                label.append(input);
                element.append(label);
                state.number = input;
              },
              destroy() {
                state.number?.closest('label')?.remove();
                state.number = null;
              },
            };
          },
          update(next) {
            Object.assign(state.options, next);
          },
          async submit() {
            const number = (state.number?.value ?? '').replace(/\\s+/g, '');
            if (!number) return { error: { type: 'validation_error', message: 'Your card number is incomplete.' } };
            return {};
          },
          _number: () => (state.number?.value ?? '').replace(/\\s+/g, ''),
          _options: () => state.options,
        };
      },
      async createPaymentMethod({ elements }) {
        const body = new URLSearchParams({ type: 'card', 'card[number]': elements._number(), key });
        const response = await fetch(api + '/v1/payment_methods', { method: 'POST', body });
        const answer = await response.json();
        return response.ok ? { paymentMethod: answer } : { error: answer.error };
      },
    };
  };
})();
`;
}
