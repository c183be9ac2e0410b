import { type Db, transact } from '../db/index.ts';
import { uuidv7 } from '../ids.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { eventStore, type PendingEvent } from './store.ts';
import type { CloudEvent } from './types.ts';

export type EventHandler = (event: CloudEvent) => Promise<void>;

interface Subscription {
  consumer: string;
  types: readonly string[] | '*';
  handler: EventHandler;
}

export interface EventBusOptions {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  pollIntervalMs?: number;
  batchSize?: number;
  leaseMs?: number;
  /** Attempts before an event is dead-lettered and stops holding back its subject. */
  maxAttempts?: number;
}

/**
 * The event backbone: modules write CloudEvents to the outbox inside their own transactions
 * (`append`), and the relay delivers committed events at least once, in order per subject, to
 * subscribers. One relay is active at a time (a lease); if its process dies another takes over.
 */
export function createEventBus(options: EventBusOptions) {
  const { db, logger, metrics } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const batchSize = options.batchSize ?? 200;
  const leaseMs = options.leaseMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 10;
  const relayId = uuidv7();
  const subscriptions: Subscription[] = [];
  const delivered = metrics.counter('events_delivered_total', 'Events delivered to subscribers', ['type']);
  const failed = metrics.counter('events_delivery_failures_total', 'Failed event deliveries', ['consumer']);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let nudged = false;
  let inRound = false;

  async function deliver(event: PendingEvent): Promise<void> {
    for (const subscription of subscriptions) {
      if (subscription.types !== '*' && !subscription.types.includes(event.type)) continue;
      try {
        await subscription.handler(event);
      } catch (error) {
        failed.inc({ consumer: subscription.consumer });
        throw new Error(`${subscription.consumer}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  /** Delivers pending events once; returns how many were settled (delivered or dead-lettered). */
  async function relayOnce(): Promise<number> {
    if (!(await eventStore.acquireLease(db, 'outbox-relay', relayId, leaseMs))) return 0;
    const pending = await eventStore.pending(db, batchSize);
    const blockedSubjects = new Set<string>();
    const published: number[] = [];
    for (const event of pending) {
      // A failed event holds back later events of the same subject: order per aggregate is kept.
      if (blockedSubjects.has(event.subject)) continue;
      try {
        await deliver(event);
        published.push(event.seq);
        delivered.inc({ type: event.type });
      } catch (error) {
        const deadLetter = event.attempts + 1 >= maxAttempts;
        await eventStore.markFailed(db, event.seq, (error as Error).message, deadLetter);
        logger.warn({ err: error, eventId: event.id, type: event.type, deadLetter }, 'event delivery failed');
        if (!deadLetter) blockedSubjects.add(event.subject);
      }
    }
    await eventStore.markPublished(db, published);
    return published.length;
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = loop();
    }, delayMs);
  }

  async function loop(): Promise<void> {
    if (stopped) return;
    inRound = true;
    try {
      let settled: number;
      do {
        nudged = false;
        settled = await relayOnce();
      } while (!stopped && (settled >= batchSize || nudged));
    } catch (error) {
      logger.error({ err: error }, 'outbox relay round failed');
    } finally {
      inRound = false;
    }
    if (!stopped) schedule(pollIntervalMs);
  }

  return {
    /** Writes events in the caller's transaction: they exist exactly when the change commits. */
    append: (tx: Db, events: CloudEvent[]) => eventStore.append(tx, events),

    subscribe(consumer: string, types: readonly string[] | '*', handler: EventHandler): void {
      subscriptions.push({ consumer, types, handler });
    },

    /**
     * Wraps a handler so its effect happens once per event: the inbox row and the effect commit
     * in one transaction, so a redelivered event finds its id and is skipped.
     */
    once(consumer: string, effect: (tx: Db, event: CloudEvent) => Promise<void>): EventHandler {
      return (event) =>
        transact(db, async (tx) => {
          if (await eventStore.claimInbox(tx, consumer, event.id)) await effect(tx, event);
        });
    },

    /** Asks the relay to run again soon (after a commit that wrote events). */
    nudge(): void {
      nudged = true;
      // A round in progress sees the flag and goes again; otherwise start the next round now.
      if (!stopped && !inRound && timer) {
        clearTimeout(timer);
        schedule(0);
      }
    },

    relayOnce,

    events: (filter?: { subject?: string; type?: string }) => eventStore.events(db, filter),

    start(): void {
      if (!stopped) return;
      stopped = false;
      running = loop();
    },

    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await eventStore.releaseLease(db, 'outbox-relay', relayId).catch(() => {});
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
