import { type Db, transact } from '../../platform/db/index.ts';
import { badRequest, notFound } from '../../platform/errors.ts';
import { type CloudEvent, envelopeOf } from '../../platform/events/index.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { Metrics } from '../../platform/observability/metrics.ts';
import { ERASURE_KEEPS } from '../identity/index.ts';
import { checkTarget, generateSecret, sendWebhook, TargetRefused } from './sender.ts';
import { type DueDelivery, webhookStore as store } from './store.ts';
import { subscribes } from './subscriptions.ts';

export interface WebhookSettings {
  allowPrivate: boolean;
  maxAttempts: number;
  retryBaseMs: number;
  timeoutMs: number;
}

const MAX_RETRY_DELAY_MS = 6 * 3600_000;
const BATCH = 20;

export function createWebhookService(deps: {
  db: Db;
  settings: WebhookSettings;
  logger: Logger;
  metrics: Metrics;
  /** Every event type the modules emit: what an endpoint may subscribe to, by name or by prefix. */
  eventTypes: readonly string[];
}) {
  const { db, settings, logger, metrics } = deps;
  const attemptsTotal = metrics.counter('webhook_attempts_total', 'Webhook delivery attempts', ['outcome']);
  const deadTotal = metrics.counter(
    'webhook_dead_letters_total',
    'Webhook deliveries that used up their retries',
  );
  // The lease outlives the slowest attempt, so no other worker sends the same delivery meanwhile.
  const leaseMs = settings.timeoutMs * 2 + 5_000;

  /** Exponential: base, 4×base, 16×base, … capped at 6 hours. */
  const retryDelay = (attempts: number) =>
    Math.min(settings.retryBaseMs * 4 ** (attempts - 1), MAX_RETRY_DELAY_MS);

  async function attempt(delivery: DueDelivery): Promise<void> {
    const result = await sendWebhook({
      url: delivery.url,
      secret: delivery.secret,
      messageId: delivery.eventId,
      body: delivery.payload,
      allowPrivate: settings.allowPrivate,
      timeoutMs: settings.timeoutMs,
    });
    const attempts = delivery.attempts + 1;
    const status = result.succeeded ? 'succeeded' : attempts >= settings.maxAttempts ? 'dead' : 'pending';
    await transact(db, (tx) =>
      store.recordAttempt(tx, delivery.id, result, { status, attempts, retryInMs: retryDelay(attempts) }),
    );
    attemptsTotal.inc({ outcome: result.succeeded ? 'success' : 'failure' });
    if (status === 'dead') {
      deadTotal.inc();
      logger.warn(
        { deliveryId: delivery.id, attempts, error: result.error },
        'webhook delivery dead-lettered',
      );
    }
  }

  return {
    async register(input: { url: string; events: string[]; secret?: string }, actorId: string) {
      const unknown = input.events.filter((name) => !deps.eventTypes.some((type) => subscribes(name, type)));
      if (unknown.length > 0) {
        throw badRequest(
          'UNKNOWN_EVENT_TYPE',
          `${unknown.map((name) => `“${name}”`).join(', ')} ${unknown.length === 1 ? 'is not an event' : 'are not events'} this shop sends. ` +
            `The events are ${deps.eventTypes.join(', ')}; a prefix such as order.* subscribes to all of its kind, and * to everything.`,
        );
      }
      try {
        await checkTarget(input.url, settings.allowPrivate);
      } catch (error) {
        if (error instanceof TargetRefused)
          throw badRequest('WEBHOOK_TARGET_REFUSED', `The webhook URL is refused: ${error.message}`, {
            cause: error,
          });
        throw error;
      }
      const secret = input.secret ?? generateSecret();
      const endpoint = await store.insertEndpoint(db, {
        url: input.url,
        events: [...new Set(input.events)],
        secret,
        createdBy: actorId,
      });
      return { ...endpoint, secret };
    },

    list: (limit: number, offset: number) => store.listEndpoints(db, { limit, offset }),

    async deliveries(endpointId: string, limit: number, offset: number) {
      if (!(await store.endpointExists(db, endpointId))) throw notFound('Webhook');
      return store.listDeliveries(db, endpointId, { limit, offset });
    },

    /** Where these events were delivered, and how it went (an order's timeline). */
    deliveriesOfEvents: (eventIds: readonly string[]) => store.deliveriesOfEvents(db, eventIds),

    async replay(endpointId: string, deliveryId: string) {
      const delivery = await store.replay(db, endpointId, deliveryId);
      if (!delivery) throw notFound('Delivery');
      return delivery;
    },

    /**
     * The bus consumer: queue a delivery per subscribed endpoint. Needs no inbox: a delivery is
     * unique per (endpoint, event), so a redelivered event queues nothing twice, and an event no
     * endpoint subscribes to costs one query.
     */
    async queueDeliveries(executor: Db, event: CloudEvent): Promise<void> {
      const payload = JSON.stringify(envelopeOf(event));
      await store.createDeliveries(executor, { id: event.id, type: event.type, payload });
    },

    /**
     * An erased account: what was sent about it is not kept (nor sent, if still waiting); the
     * deliveries of the events naming it by id alone stay, to tell the receivers to erase theirs.
     */
    forgetUser: (userId: string) => store.forgetUser(db, userId, ERASURE_KEEPS),

    /** Sends the deliveries due now; returns how many were attempted. */
    async deliverDue(): Promise<number> {
      const due = await store.claimDue(db, BATCH, leaseMs);
      await Promise.all(due.map(attempt));
      return due.length;
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
