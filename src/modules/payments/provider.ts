/**
 * What every payment provider implements: the sandbox (`client.ts`, over its HTTP protocol) and
 * Stripe (`stripe.ts`, through the official SDK). The payments service speaks only this, so a
 * provider is one adapter. Every mutating call carries an idempotency key derived from our own
 * operation id: repeating a call after a lost answer or a crash has no second effect.
 */
export interface PaymentProvider {
  readonly name: ProviderName;
  /**
   * Creates and confirms a payment for an order, holding the amount without capturing it. The
   * answer is `authorized`, `declined`, or `requires_action` when the shopper must act (3-D
   * Secure), with the action to show them.
   */
  authorize(input: AuthorizationRequest, options: CallOptions): Promise<ProviderAuthorization>;
  /**
   * Captures the whole authorized amount, or with `part` a shipment's share of it: `final` says no
   * capture follows, so the rest is released. A provider that cannot capture in parts takes all
   * of it at the first (its answer's `status` is then `captured`).
   */
  capture(
    authorizationId: string,
    part: CapturePart | undefined,
    options: CallOptions,
  ): Promise<ProviderAuthorization>;
  /** Releases an uncaptured authorization. */
  void(authorizationId: string, options: CallOptions): Promise<ProviderAuthorization>;
  /** Refunds `amount` of what was captured; the provider refuses more than is left (`refund_exceeds_captured`). */
  refund(authorizationId: string, amount: number, options: CallOptions): Promise<ProviderRefund>;
  /** Voids whatever was authorized for `reference`, for when an authorization's answer never came. */
  reverse(input: ReversalRequest, options: CallOptions): Promise<ProviderReversal>;
  /** The provider's own view of a payment now: recovery, settling after 3-D Secure, reconciliation. */
  lookup(authorizationId: string, options: Omit<CallOptions, 'key'>): Promise<ProviderAuthorization>;
  /**
   * Verifies a webhook's signature and reads its event; throws when it does not verify.
   * Providers that send no webhooks (the sandbox) have none.
   */
  parseWebhook?(rawBody: Buffer, signature: string | undefined): ProviderEvent;
  /** Throws the breaker's fast 503 while it is open, so callers can refuse work before starting it. */
  assertAvailable(): void;
  close(): void;
}

export type ProviderName = 'sandbox' | 'stripe';

/** One of several captures of an authorization, in minor units. */
export interface CapturePart {
  amount: number;
  final: boolean;
}

export interface AuthorizationRequest {
  amount: number;
  currency: string;
  /** The payment method the shopper gave: a sandbox token, or a Stripe PaymentMethod id. */
  token: string;
  /** Our order id, kept by the provider so a payment can be found by it. */
  reference: string;
  /** Where the shopper comes back to after acting at their bank (3-D Secure). */
  returnUrl?: string;
}

export interface ReversalRequest extends Pick<AuthorizationRequest, 'amount' | 'currency' | 'reference'> {
  /** The idempotency key the authorization was asked under. */
  authorizationKey: string;
}

export type ProviderAuthorizationStatus =
  | 'authorized'
  | 'declined'
  | 'captured'
  | 'voided'
  | 'requires_action';

/** What the shopper must do before the payment can go on (3-D Secure). */
export interface CustomerAction {
  /** `redirect`: send the shopper to `url`; `use_stripe_sdk`: Stripe.js handles it with `clientSecret`. */
  type: 'redirect' | 'use_stripe_sdk';
  url?: string;
  clientSecret?: string;
}

export interface ProviderAuthorization {
  id: string;
  reference: string;
  /** `authorized` while more may be captured, even after some was (`capturedAmount`). */
  status: ProviderAuthorizationStatus;
  amount: number;
  currency: string;
  capturedAmount: number;
  refundedAmount: number;
  action?: CustomerAction;
}

export interface ProviderRefund {
  id: string;
  authorizationId: string;
  amount: number;
}

export interface ProviderReversal {
  reference: string;
  voided: string[];
}

/**
 * Every call: the idempotency key shared by all retries of this operation, and the caller's
 * deadline. Without a signal the call is still bounded: attempts times the per-attempt timeout.
 */
export interface CallOptions {
  key: string;
  signal?: AbortSignal;
}

export type Operation = 'authorize' | 'capture' | 'void' | 'refund' | 'reverse' | 'lookup';

/** A failure worth retrying: the provider may answer differently next time (network, timeout, 5xx, 429). */
export class TransientProviderError extends Error {
  override name = 'TransientProviderError';
}

/**
 * A provider's webhook event as payments act on it, after its signature was verified.
 * `payment_changed`: look the payment up and move ours to match (3-D Secure done, failed,
 * cancelled); `refunded` and `disputed`: money moved outside our calls, which reconciliation and
 * staff must see; `ignored`: acknowledged, nothing to do.
 */
export type ProviderEvent = { id: string; type: string } & (
  | { kind: 'payment_changed'; authorizationId: string }
  | { kind: 'refunded'; authorizationId: string; refundedAmount: number }
  | { kind: 'disputed'; authorizationId: string; amount: number }
  | { kind: 'ignored' }
);
