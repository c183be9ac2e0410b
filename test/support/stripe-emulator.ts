import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type Stripe from 'stripe';
import { stripeJs } from './stripe-js.ts';

/**
 * A Stripe-protocol server on loopback for tests: the official SDK talks to it as to Stripe.
 * No emulator on npm covers PaymentIntents, so this one does, with its answers typed by the SDK's
 * own types. It keeps what the tests rely on as Stripe documents it:
 *
 * - the PaymentIntent state machine: requires_payment_method → (confirm) requires_action →
 *   requires_capture → (capture) succeeded, or canceled from any state before succeeded; a call
 *   out of order is a 400 `payment_intent_unexpected_state`;
 * - idempotency keys: a POST repeated with its key replays the first answer (`Idempotent-Replayed`),
 *   the same key with other parameters is a 400 `idempotency_error`, and a 5xx is not kept;
 * - multicapture: a PaymentIntent created with `request_multicapture: if_available` gets a charge
 *   whose `payment_method_details.card.multicapture.status` is `available` (unless switched off),
 *   and then captures in parts (`amount_to_capture`, `final_capture`); without it one capture
 *   releases whatever it leaves;
 * - refunds up to what was received (`amount_too_large` beyond), on the intent's latest charge;
 * - signed webhooks (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.payload")`);
 * - test payment methods: `pm_card_visa`, `pm_card_chargeDeclined`, `pm_card_authenticationRequired`
 *   (3-D Secure: a bank page at `next_action.redirect_to_url.url` where the shopper passes or fails);
 * - Stripe.js at `/v3/` (see `stripe-js.ts`) and the `POST /v1/payment_methods` it calls with the
 *   publishable key: Stripe's test card numbers become the test payment methods above
 *   (4242 4242 4242 4242 → `pm_card_visa`, 4000 0025 0000 3155 → `pm_card_authenticationRequired`,
 *   4000 0000 0000 0002 → `pm_card_chargeDeclined`);
 * - faults: latency, answers lost after the work (5xx), and outages, as the sandbox has.
 */
export interface StripeEmulator {
  url: string;
  secretKey: string;
  publishableKey: string;
  webhookSecret: string;
  /** Where events go; until set, they are only kept. */
  deliverTo(target: (payload: string, signature: string) => Promise<void>): void;
  setFaults(faults: Partial<EmulatorFaults>): void;
  intent(id: string): Stripe.PaymentIntent | undefined;
  intents(): Stripe.PaymentIntent[];
  events(): Stripe.Event[];
  /** Sends an event again, as Stripe does when a delivery was not acknowledged. */
  resend(eventId: string): Promise<void>;
  /** Signs a payload as Stripe would, at `timestamp` (seconds), for tests of stale or forged events. */
  sign(payload: string, timestamp?: number, secret?: string): string;
  /** Makes Stripe's record disagree with ours, as a refund in Stripe's dashboard would. */
  refundOutside(intentId: string, amount: number): Promise<void>;
  /** The shopper finishes (or fails) 3-D Secure without a browser. */
  authenticate(intentId: string, pass: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface EmulatorFaults {
  latencyMs: number;
  /** The next N answers are 500s after the work was done: the answer is lost, not the effect. */
  failNext: number;
  /** Every connection is dropped on arrival. */
  outage: boolean;
  /** Cards refuse multicapture, as for an account on blended pricing. */
  noMulticapture: boolean;
}

class StripeProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;
  readonly extra: Record<string, unknown>;
  constructor(
    status: number,
    type: string,
    code: string | undefined,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.extra = extra;
  }
}

interface Answer {
  status: number;
  body: unknown;
}

const CANCELLABLE: Stripe.PaymentIntent.Status[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
];
const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export async function startStripeEmulator(): Promise<StripeEmulator> {
  const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
  const publishableKey = `pk_test_${randomBytes(12).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
  const intents = new Map<string, Stripe.PaymentIntent>();
  const charges = new Map<string, Stripe.Charge>();
  const answers = new Map<string, { fingerprint: string; answer: Answer }>();
  const events: Stripe.Event[] = [];
  const sockets = new Set<Socket>();
  let faults: EmulatorFaults = { latencyMs: 0, failNext: 0, outage: false, noMulticapture: false };
  let deliver: ((payload: string, signature: string) => Promise<void>) | undefined;
  let base = '';

  const sign = (payload: string, timestamp = now(), secret = webhookSecret) =>
    `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`;

  async function emit(type: string, object: Stripe.PaymentIntent | Stripe.Charge | Stripe.Dispute) {
    const event = {
      id: newId('evt'),
      object: 'event',
      api_version: '2025-08-27.basil',
      created: now(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    } as unknown as Stripe.Event;
    events.push(event);
    await send(event);
  }

  async function send(event: Stripe.Event) {
    if (!deliver) return;
    const payload = JSON.stringify(event);
    await deliver(payload, sign(payload));
  }

  const find = (id: string) => {
    const intent = intents.get(id);
    if (!intent)
      throw new StripeProblem(
        404,
        'invalid_request_error',
        'resource_missing',
        `No such payment_intent: '${id}'`,
      );
    return intent;
  };
  const unexpected = (intent: Stripe.PaymentIntent, action: string) =>
    new StripeProblem(
      400,
      'invalid_request_error',
      'payment_intent_unexpected_state',
      `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`,
      { payment_intent: structuredClone(intent) },
    );
  const withCharge = (intent: Stripe.PaymentIntent, expand: string[]) => {
    const copy = structuredClone(intent);
    if (expand.includes('latest_charge') && typeof copy.latest_charge === 'string')
      copy.latest_charge = structuredClone(charges.get(copy.latest_charge)!);
    return copy;
  };

  function create(params: Params): Stripe.PaymentIntent {
    const amount = Number(params.amount);
    if (!Number.isSafeInteger(amount) || amount < 50)
      throw new StripeProblem(400, 'invalid_request_error', 'parameter_invalid_integer', 'Invalid amount');
    if (typeof params.currency !== 'string' || !/^[a-z]{3}$/.test(params.currency))
      throw new StripeProblem(400, 'invalid_request_error', 'parameter_invalid_string', 'Invalid currency');
    const id = newId('pi');
    const intent = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      capture_method: (params.capture_method as 'manual') ?? 'automatic_async',
      client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
      confirmation_method: 'automatic',
      created: now(),
      currency: params.currency,
      latest_charge: null,
      last_payment_error: null,
      livemode: false,
      metadata: (params.metadata as Record<string, string>) ?? {},
      next_action: null,
      payment_method: null,
      payment_method_types: (params.payment_method_types as string[]) ?? ['card'],
      payment_method_options: (params.payment_method_options as object) ?? {},
      status: 'requires_payment_method',
      canceled_at: null,
      cancellation_reason: null,
    } as unknown as Stripe.PaymentIntent;
    intents.set(id, intent);
    return intent;
  }

  /** Authorized: the amount is held on an uncaptured charge, which says whether it can be captured in parts. */
  function authorized(intent: Stripe.PaymentIntent) {
    intent.status = 'requires_capture';
    intent.amount_capturable = intent.amount;
    intent.next_action = null;
    const requested = intent.payment_method_options?.card?.request_multicapture === 'if_available';
    const charge = {
      id: newId('ch'),
      object: 'charge',
      amount: intent.amount,
      amount_captured: 0,
      amount_refunded: 0,
      captured: false,
      currency: intent.currency,
      payment_intent: intent.id,
      payment_method_details: {
        type: 'card',
        card: { multicapture: { status: requested && !faults.noMulticapture ? 'available' : 'unavailable' } },
      },
      refunded: false,
      status: 'succeeded',
      created: now(),
    } as unknown as Stripe.Charge;
    charges.set(charge.id, charge);
    intent.latest_charge = charge.id;
  }

  async function confirm(intent: Stripe.PaymentIntent, params: Params): Promise<Stripe.PaymentIntent> {
    if (!['requires_payment_method', 'requires_confirmation'].includes(intent.status))
      throw unexpected(intent, 'confirm');
    const method = String(params.payment_method ?? '');
    intent.payment_method = method;
    if (method === 'pm_card_chargeDeclined') {
      intent.last_payment_error = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
      } as Stripe.PaymentIntent.LastPaymentError;
      await emit('payment_intent.payment_failed', intent);
      throw new StripeProblem(402, 'card_error', 'card_declined', 'Your card was declined.', {
        decline_code: 'generic_decline',
        payment_intent: structuredClone(intent),
      });
    }
    if (method === 'pm_card_authenticationRequired') {
      intent.status = 'requires_action';
      intent.next_action = {
        type: 'redirect_to_url',
        redirect_to_url: {
          url: `${base}/3ds/${intent.id}`,
          return_url: (params.return_url as string | undefined) ?? null,
        },
      } as Stripe.PaymentIntent.NextAction;
      return intent;
    }
    if (method !== 'pm_card_visa')
      throw new StripeProblem(
        400,
        'invalid_request_error',
        'resource_missing',
        `No such PaymentMethod: '${method}'`,
      );
    authorized(intent);
    await emit('payment_intent.amount_capturable_updated', intent);
    return intent;
  }

  async function authenticate(intentId: string, pass: boolean) {
    const intent = find(intentId);
    if (intent.status !== 'requires_action') throw unexpected(intent, 'authenticate');
    if (pass) {
      authorized(intent);
      await emit('payment_intent.amount_capturable_updated', intent);
    } else {
      intent.status = 'requires_payment_method';
      intent.next_action = null;
      intent.last_payment_error = {
        type: 'card_error',
        code: 'payment_intent_authentication_failure',
        message: 'The provided PaymentMethod has failed authentication.',
      } as Stripe.PaymentIntent.LastPaymentError;
      await emit('payment_intent.payment_failed', intent);
    }
  }

  async function capture(intent: Stripe.PaymentIntent, params: Params) {
    if (intent.status !== 'requires_capture') throw unexpected(intent, 'capture');
    const charge = charges.get(intent.latest_charge as string)!;
    const inParts = charge.payment_method_details?.card?.multicapture?.status === 'available';
    if (params.final_capture !== undefined && !inParts)
      throw new StripeProblem(
        400,
        'invalid_request_error',
        'parameter_unknown',
        'final_capture is only allowed on PaymentIntents that support multicapture.',
      );
    const amount =
      params.amount_to_capture === undefined ? intent.amount_capturable : Number(params.amount_to_capture);
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > intent.amount_capturable)
      throw new StripeProblem(
        400,
        'invalid_request_error',
        'amount_too_large',
        'The amount to capture is too large.',
      );
    charge.amount_captured += amount;
    charge.captured = true;
    intent.amount_received += amount;
    intent.amount_capturable -= amount;
    if (!inParts || params.final_capture !== 'false' || intent.amount_capturable === 0) {
      intent.status = 'succeeded';
      intent.amount_capturable = 0;
      await emit('payment_intent.succeeded', intent);
    }
    return intent;
  }

  async function cancel(intent: Stripe.PaymentIntent) {
    if (!CANCELLABLE.includes(intent.status)) throw unexpected(intent, 'cancel');
    intent.status = 'canceled';
    intent.amount_capturable = 0;
    intent.next_action = null;
    intent.canceled_at = now();
    await emit('payment_intent.canceled', intent);
    return intent;
  }

  async function refund(params: Params, outside = false): Promise<Stripe.Refund> {
    const intent = find(String(params.payment_intent));
    const charge = typeof intent.latest_charge === 'string' ? charges.get(intent.latest_charge) : undefined;
    if (!charge?.captured)
      throw new StripeProblem(
        400,
        'invalid_request_error',
        'charge_not_refundable',
        'This PaymentIntent has no charge to refund.',
      );
    const left = charge.amount_captured - charge.amount_refunded;
    const amount = params.amount === undefined ? left : Number(params.amount);
    if (left === 0)
      throw new StripeProblem(
        400,
        'invalid_request_error',
        'charge_already_refunded',
        'Charge has already been refunded.',
      );
    if (!Number.isSafeInteger(amount) || amount <= 0 || amount > left)
      throw new StripeProblem(
        400,
        'invalid_request_error',
        'amount_too_large',
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
      );
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    const created = {
      id: newId('re'),
      object: 'refund',
      amount,
      charge: charge.id,
      currency: charge.currency,
      payment_intent: intent.id,
      status: 'succeeded',
      created: now(),
      metadata: outside ? { source: 'dashboard' } : {},
    } as unknown as Stripe.Refund;
    await emit('charge.refunded', charge);
    return created;
  }

  async function route(method: string, path: string, params: Params): Promise<unknown> {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'v1')
      throw new StripeProblem(
        404,
        'invalid_request_error',
        undefined,
        `Unrecognized request URL (${method}: ${path})`,
      );
    if (method === 'POST' && path === '/v1/payment_intents') return create(params);
    if (method === 'POST' && path === '/v1/refunds') return refund(params);
    if (parts[1] === 'payment_intents' && parts[2]) {
      const intent = find(parts[2]);
      if (method === 'GET' && parts.length === 3)
        return withCharge(intent, (params.expand as string[]) ?? []);
      if (method === 'POST' && parts[3] === 'confirm') return structuredClone(await confirm(intent, params));
      if (method === 'POST' && parts[3] === 'capture') return structuredClone(await capture(intent, params));
      if (method === 'POST' && parts[3] === 'cancel') return structuredClone(await cancel(intent));
    }
    throw new StripeProblem(
      404,
      'invalid_request_error',
      undefined,
      `Unrecognized request URL (${method}: ${path})`,
    );
  }

  /** Runs one API request: authenticated, idempotent by key, faults applied after the work. */
  async function api(request: http.IncomingMessage, body: string): Promise<Answer & { replayed?: boolean }> {
    if (request.headers.authorization !== `Bearer ${secretKey}`)
      throw new StripeProblem(401, 'invalid_request_error', undefined, 'Invalid API Key provided');
    const url = new URL(request.url ?? '/', 'http://stripe');
    const method = request.method ?? 'GET';
    const params = parseForm(method === 'GET' ? url.search.slice(1) : body);
    const key = request.headers['idempotency-key'];
    if (method === 'POST' && typeof key === 'string') {
      const fingerprint = `${method} ${url.pathname} ${body}`;
      const stored = answers.get(key);
      if (stored) {
        if (stored.fingerprint !== fingerprint)
          throw new StripeProblem(
            400,
            'idempotency_error',
            undefined,
            'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          );
        return { ...stored.answer, replayed: true };
      }
      const answer = await run(method, url.pathname, params);
      if (answer.status < 500) answers.set(key, { fingerprint, answer });
      return answer;
    }
    return run(method, url.pathname, params);
  }

  async function run(method: string, path: string, params: Params): Promise<Answer> {
    try {
      return { status: 200, body: await route(method, path, params) };
    } catch (error) {
      if (error instanceof StripeProblem) return problem(error);
      throw error;
    }
  }

  const problem = (error: StripeProblem): Answer => ({
    status: error.status,
    body: { error: { type: error.type, code: error.code, message: error.message, ...error.extra } },
  });

  /** The bank's 3-D Secure page: the shopper passes or fails, then goes back to the shop. */
  async function bankPage(request: http.IncomingMessage, response: http.ServerResponse, path: string) {
    const [, , id, outcome] = path.split('/');
    const intent = intents.get(id ?? '');
    if (!intent) {
      response.writeHead(404).end('no such payment');
      return;
    }
    if (request.method === 'POST' && (outcome === 'pass' || outcome === 'fail')) {
      const back = intent.next_action?.redirect_to_url?.return_url;
      if (intent.status === 'requires_action') await authenticate(intent.id, outcome === 'pass');
      response.writeHead(303, { location: back ?? '/' }).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your bank: confirm this payment</title></head>
<body><main><h1>Confirm your payment</h1><p>${(intent.amount / 100).toFixed(2)} ${intent.currency.toUpperCase()}</p>
<form method="post" action="/3ds/${intent.id}/pass"><button type="submit">Confirm payment</button></form>
<form method="post" action="/3ds/${intent.id}/fail"><button type="submit">Refuse payment</button></form></main></body></html>`);
  }

  /** A card from Stripe.js, authenticated by the publishable key, as one of the test payment methods. */
  function paymentMethod(params: Params): Answer {
    if (params.key !== publishableKey)
      return problem(new StripeProblem(401, 'invalid_request_error', undefined, 'Invalid API Key provided'));
    const card = params.card as Record<string, string> | undefined;
    const id = TEST_CARDS[card?.number ?? ''];
    if (!id)
      return problem(
        new StripeProblem(402, 'card_error', 'incorrect_number', 'Your card number is incorrect.'),
      );
    const method = {
      id,
      object: 'payment_method',
      type: 'card',
      card: { brand: 'visa', last4: card!.number!.slice(-4) },
      created: now(),
      livemode: false,
    } as unknown as Stripe.PaymentMethod;
    return { status: 200, body: method };
  }

  const server = http.createServer((request, response) => {
    if (faults.outage) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://stripe').pathname;
      const handled = (async () => {
        if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
        if (path.startsWith('/3ds/')) return bankPage(request, response, path);
        if (path === '/v3/') {
          response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
          response.end(stripeJs(base));
          return;
        }
        if (path === '/v1/payment_methods' && request.method === 'POST') {
          const answer = paymentMethod(parseForm(Buffer.concat(chunks).toString('utf8')));
          // Stripe's API answers Stripe.js from any page's origin.
          response.writeHead(answer.status, {
            'content-type': 'application/json',
            'access-control-allow-origin': '*',
          });
          response.end(JSON.stringify(answer.body));
          return;
        }
        let answer: Answer & { replayed?: boolean };
        try {
          answer = await api(request, Buffer.concat(chunks).toString('utf8'));
        } catch (error) {
          answer =
            error instanceof StripeProblem
              ? problem(error)
              : { status: 500, body: { error: { type: 'api_error', message: String(error) } } };
        }
        if (faults.failNext > 0) {
          faults.failNext -= 1;
          answer = {
            status: 500,
            body: { error: { type: 'api_error', message: 'injected fault: the answer was lost' } },
          };
        }
        response.writeHead(answer.status, {
          'content-type': 'application/json',
          'request-id': newId('req'),
          ...(answer.replayed && { 'idempotent-replayed': 'true' }),
        });
        response.end(JSON.stringify(answer.body));
      })();
      handled.catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    secretKey,
    publishableKey,
    webhookSecret,
    deliverTo(target) {
      deliver = target;
    },
    setFaults(next) {
      faults = { ...faults, ...next };
    },
    intent: (id) => (intents.has(id) ? withCharge(intents.get(id)!, ['latest_charge']) : undefined),
    intents: () => [...intents.values()].map((intent) => withCharge(intent, ['latest_charge'])),
    events: () => events.map((event) => structuredClone(event)),
    async resend(eventId) {
      const event = events.find((each) => each.id === eventId);
      if (event) await send(event);
    },
    sign,
    async refundOutside(intentId, amount) {
      await refund({ payment_intent: intentId, amount: String(amount) }, true);
    },
    authenticate,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Params = Record<string, unknown>;

/** Stripe's form encoding: `a=1&metadata[reference]=x&expand[0]=latest_charge`. */
/** Stripe's test card numbers, as the test payment methods they stand for. */
const TEST_CARDS: Record<string, string> = {
  '4242424242424242': 'pm_card_visa',
  '4000002500003155': 'pm_card_authenticationRequired',
  '4000000000000002': 'pm_card_chargeDeclined',
};

function parseForm(text: string): Params {
  const result: Params = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const [head, ...path] = rawKey.split('[').map((part) => part.replace(/]$/, ''));
    let into = result as Record<string, unknown>;
    let key = head!;
    for (const inner of path) {
      if (/^\d*$/.test(inner)) {
        const list = (into[key] as string[] | undefined) ?? [];
        into[key] = list;
        list.push(value);
        key = '';
        break;
      }
      into[key] ??= {};
      into = into[key] as Record<string, unknown>;
      key = inner;
    }
    if (key !== '') into[key] = value;
  }
  return result;
}
