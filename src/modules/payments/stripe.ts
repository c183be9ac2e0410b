import Stripe from 'stripe';
import { SpanKind, withSpan } from '../../platform/observability/tracing.ts';
import { ProviderRejection } from './errors.ts';
import {
  type Operation,
  type PaymentProvider,
  type ProviderAuthorization,
  type ProviderAuthorizationStatus,
  type ProviderEvent,
  TransientProviderError,
} from './provider.ts';
import { createResilientCalls, type ResilienceOptions } from './resilience.ts';

export interface StripeProviderOptions extends ResilienceOptions {
  secretKey: string;
  webhookSecret: string;
  /** Where the API answers; Stripe's own when undefined. */
  apiBase?: string;
  /** Capture as shipments leave: PaymentIntents ask for multicapture where the card allows it. */
  captureInParts?: boolean;
}

/** How long a webhook's signature stays valid: Stripe's own default, five minutes. */
const WEBHOOK_TOLERANCE_SECONDS = 300;
const API_VERSION: Stripe.LatestApiVersion = '2025-08-27.basil';

/** PaymentIntent states as our payments know them. */
const STATUS: Record<Stripe.PaymentIntent.Status, ProviderAuthorizationStatus> = {
  requires_payment_method: 'declined',
  requires_confirmation: 'declined',
  requires_action: 'requires_action',
  processing: 'requires_action',
  requires_capture: 'authorized',
  succeeded: 'captured',
  canceled: 'voided',
};
/** A PaymentIntent not yet captured, which cancelling releases. */
const CANCELLABLE: readonly Stripe.PaymentIntent.Status[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
];
/** Stripe's refusals of a refund larger than what is left on the charge. */
const REFUND_TOO_LARGE = new Set(['amount_too_large', 'charge_already_refunded']);

/**
 * Stripe through its official SDK: a PaymentIntent per order with manual capture, created and
 * confirmed under idempotency keys derived from our operation ids, so a call repeated after a lost
 * answer or a crash is answered from Stripe's record instead of charging twice. The SDK's own
 * retries are off: the shared retries and breaker (same key) govern every provider alike.
 */
export function createStripeProvider(options: StripeProviderOptions): PaymentProvider {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  const stripe = new Stripe(options.secretKey, {
    apiVersion: API_VERSION,
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    telemetry: false,
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
  const calls = createResilientCalls(options);

  /** One SDK call as one attempt: Stripe's errors sorted into retryable, declined and refused. */
  function send<T>(
    operation: Operation,
    call: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return calls.run(
      operation,
      (attemptSignal) =>
        withSpan(
          `payments ${operation}`,
          { kind: SpanKind.CLIENT, attributes: { 'payments.operation': operation } },
          () =>
            untilAborted(call(), attemptSignal).catch((error: unknown) => {
              throw classify(operation, error);
            }),
        ),
      signal,
    );
  }

  const createParams = (input: { amount: number; currency: string; reference: string }) => ({
    amount: input.amount,
    currency: input.currency.toLowerCase(),
    capture_method: 'manual' as const,
    payment_method_types: ['card'],
    metadata: { reference: input.reference },
    ...(options.captureInParts && {
      payment_method_options: { card: { request_multicapture: 'if_available' as const } },
    }),
  });
  const create = (
    input: { amount: number; currency: string; reference: string },
    key: string,
    signal?: AbortSignal,
  ) =>
    send(
      'authorize',
      () => stripe.paymentIntents.create(createParams(input), { idempotencyKey: `${key}:create` }),
      signal,
    );

  return {
    name: 'stripe',

    async authorize(input, { key, signal }) {
      const intent = await create(input, key, signal);
      const confirmed = await send(
        'authorize',
        () =>
          stripe.paymentIntents
            .confirm(
              intent.id,
              { payment_method: input.token, ...(input.returnUrl && { return_url: input.returnUrl }) },
              { idempotencyKey: `${key}:confirm` },
            )
            .catch((error: unknown) => {
              // A decline is an answer: the PaymentIntent is back at requires_payment_method.
              if (error instanceof Stripe.errors.StripeCardError && error.payment_intent)
                return error.payment_intent;
              throw error;
            }),
        signal,
      );
      return toAuthorization(confirmed);
    },

    /**
     * A part is captured with `amount_to_capture` and `final_capture` where the card's charge
     * allows multicapture; elsewhere Stripe releases whatever one capture leaves, so the first
     * part captures everything.
     */
    async capture(id, part, { key, signal }) {
      let params: Stripe.PaymentIntentCaptureParams = {};
      if (part) {
        const intent = await send(
          'capture',
          () => stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] }),
          signal,
        );
        const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
        if (charge?.payment_method_details?.card?.multicapture?.status === 'available')
          params = { amount_to_capture: part.amount, final_capture: part.final };
      }
      return toAuthorization(
        await send(
          'capture',
          () => stripe.paymentIntents.capture(id, params, { idempotencyKey: key }),
          signal,
        ),
      );
    },

    void: async (id, { key, signal }) =>
      toAuthorization(
        await send('void', () => stripe.paymentIntents.cancel(id, {}, { idempotencyKey: key }), signal),
      ),

    async refund(id, amount, { key, signal }) {
      const refund = await send(
        'refund',
        () => stripe.refunds.create({ payment_intent: id, amount }, { idempotencyKey: key }),
        signal,
      );
      return { id: refund.id, authorizationId: id, amount: refund.amount };
    },

    /**
     * Replays the create call under its own key: Stripe answers the PaymentIntent made then (or
     * makes an unconfirmed one, which holds nothing), and cancelling it releases any hold, so a
     * confirm still on its way finds it cancelled.
     */
    async reverse(input, { key, signal }) {
      const intent = await create(input, input.authorizationKey, signal);
      if (intent.status === 'succeeded')
        throw new ProviderRejection(409, 'already_captured', 'a captured payment cannot be reversed');
      if (!CANCELLABLE.includes(intent.status)) return { reference: input.reference, voided: [] };
      const held = intent.status === 'requires_capture';
      await send(
        'reverse',
        () => stripe.paymentIntents.cancel(intent.id, {}, { idempotencyKey: key }),
        signal,
      );
      return { reference: input.reference, voided: held ? [intent.id] : [] };
    },

    lookup: async (id, { signal }) =>
      toAuthorization(
        await send('lookup', () => stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] }), signal),
      ),

    parseWebhook(rawBody, signature) {
      const event = stripe.webhooks.constructEvent(
        rawBody,
        signature ?? '',
        options.webhookSecret,
        WEBHOOK_TOLERANCE_SECONDS,
      );
      return toProviderEvent(event);
    },

    assertAvailable: calls.assertAvailable,
    close: calls.close,
  };
}

function toAuthorization(intent: Stripe.PaymentIntent): ProviderAuthorization {
  const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
  const authorization: ProviderAuthorization = {
    id: intent.id,
    reference: intent.metadata.reference ?? '',
    status: STATUS[intent.status],
    amount: intent.amount,
    currency: intent.currency.toUpperCase(),
    capturedAmount: intent.amount_received,
    refundedAmount: charge?.amount_refunded ?? 0,
  };
  const next = intent.next_action;
  if (intent.status === 'requires_action' && next) {
    authorization.action =
      next.type === 'redirect_to_url' && next.redirect_to_url?.url
        ? { type: 'redirect', url: next.redirect_to_url.url }
        : { type: 'use_stripe_sdk', clientSecret: intent.client_secret ?? undefined };
  }
  return authorization;
}

/** The Stripe events payments act on; anything else is acknowledged and left alone. */
function toProviderEvent(event: Stripe.Event): ProviderEvent {
  const base = { id: event.id, type: event.type };
  switch (event.type) {
    case 'payment_intent.amount_capturable_updated':
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
    case 'payment_intent.canceled':
      return { ...base, kind: 'payment_changed', authorizationId: event.data.object.id };
    case 'charge.refunded':
      return {
        ...base,
        kind: 'refunded',
        authorizationId: intentId(event.data.object.payment_intent),
        refundedAmount: event.data.object.amount_refunded,
      };
    case 'charge.dispute.created':
      return {
        ...base,
        kind: 'disputed',
        authorizationId: intentId(event.data.object.payment_intent),
        amount: event.data.object.amount,
      };
    default:
      return { ...base, kind: 'ignored' };
  }
}

/** A charge's PaymentIntent, whether Stripe sent its id or the object. */
const intentId = (intent: string | Stripe.PaymentIntent | null) =>
  typeof intent === 'string' ? intent : (intent?.id ?? '');

/** Stripe's errors as the shared retry loop needs them. */
function classify(operation: Operation, error: unknown): unknown {
  if (!(error instanceof Stripe.errors.StripeError)) return error;
  const status = error.statusCode ?? 0;
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAPIError ||
    status >= 500 ||
    status === 0
  ) {
    return new TransientProviderError(`stripe ${operation}: ${error.message}`, { cause: error });
  }
  const code =
    error.code && REFUND_TOO_LARGE.has(error.code) ? 'refund_exceeds_captured' : (error.code ?? error.type);
  return new ProviderRejection(status, code, error.message);
}

/** The SDK takes no AbortSignal: the attempt ends when the signal does, whatever the SDK is still doing. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
