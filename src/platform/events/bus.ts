import { runDetached } from '../context.ts';
import { type Db, transact } from '../db/index.ts';
import { uuidv7 } from '../ids.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type EventsWrite, eventStore, type PendingEvent } from './store.ts';
import {
  type EventHandler,
  type EventTransport,
  inProcessTransport,
  type Subscription,
} from './transport.ts';
import type { CloudEvent } from './types.ts';

export type { EventHandler } from './transport.ts';

export interface EventBusOptions {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  /** How events reach consumers; in-process (the relay calls subscribers) when absent. */
  transport?: EventTransport;
  pollIntervalMs?: number;
  batchSize?: number;
  leaseMs?: number;
  /** Attempts before an event is dead-lettered and stops holding back its subject. */
  maxAttempts?: number;
}

const MAX_RETRY_DELAY_MS = 5_000;

/**
 * The event backbone: modules write CloudEvents to the outbox inside their own transactions
 * (`append`), and the relay hands committed events, at least once and in seq order, to the
 * transport: in-process subscribers, or a broker that confirms before the row counts as sent.
 * One relay is active at a time (a lease); if its process dies another takes over.
 */
export function createEventBus(options: EventBusOptions) {
  const { db, logger, metrics } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const batchSize = options.batchSize ?? 200;
  const leaseMs = options.leaseMs ?? 10_000;
  const maxAttempts = options.maxAttempts ?? 10;
  const relayId = uuidv7();
  const subscriptions: Subscription[] = [];
  const published = metrics.counter('events_published_total', 'Outbox events handed to the transport', [
    'type',
  ]);
  const consumed = metrics.counter('events_consumed_total', 'Events a consumer handled', ['consumer']);
  const consumerFailures = metrics.counter('events_consumer_failures_total', 'Failed event handlings', [
    'consumer',
  ]);
  const relayFailures = metrics.counter('events_relay_failures_total', 'Failed outbox dispatches');
  const deadLettered = metrics.counter('events_dead_lettered_total', 'Events dead-lettered', ['consumer']);
  const lag = metrics.gauge('events_outbox_lag_seconds', 'Age of the oldest undelivered outbox event');
  const transport = options.transport ?? inProcessTransport();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let relaying = false;
  let nudged = false;
  let inRound = false;
  let failedRounds = 0;
  const consuming = { groups: false, instances: false };

  /** Consumer groups and every-instance subscriptions start separately: an API-only process runs only the latter. */
  async function startConsumers(everyInstance: boolean): Promise<void> {
    const part = everyInstance ? 'instances' : 'groups';
    if (consuming[part]) return;
    consuming[part] = true;
    await transport.startConsumers(
      subscriptions.filter((subscription) => subscription.everyInstance === everyInstance),
    );
  }

  const isLastAttempt = (event: PendingEvent) => event.attempts + 1 >= maxAttempts;

  // While the lease is held nobody else can take it, so it is renewed once half of it has passed
  // (timed from before the renewal was asked for), not on every round.
  let leaseRenewAt = 0;
  async function holdLease(): Promise<boolean> {
    const asked = performance.now();
    if (asked < leaseRenewAt) return true;
    const held = await eventStore.acquireLease(db, 'outbox-relay', relayId, leaseMs);
    leaseRenewAt = held ? asked + leaseMs / 2 : 0;
    return held;
  }

  /** Dispatches pending events once; returns how many were settled (sent or dead-lettered). */
  async function relayOnce(): Promise<number> {
    if (!(await holdLease())) return 0;
    const pending = await eventStore.pending(db, batchSize);
    lag.set(pending.length ? (Date.now() - Date.parse(pending[0].time)) / 1000 : 0);
    if (pending.length === 0) return 0;
    const result = await transport.dispatch(pending, subscriptions, isLastAttempt);
    let settled = result.sent.length;
    for (const { event, error } of result.failed) {
      const deadLetter = isLastAttempt(event);
      relayFailures.inc();
      await eventStore.markFailed(db, event.seq, error.message, deadLetter);
      logger.warn({ err: error, eventId: event.id, type: event.type, deadLetter }, 'event delivery failed');
      if (deadLetter) {
        settled++;
        deadLettered.inc({ consumer: 'relay' });
      }
    }
    await eventStore.markPublished(db, result.sent);
    const sent = new Set(result.sent);
    for (const event of pending) if (sent.has(event.seq)) published.inc({ type: event.type });
    return settled;
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = runDetached(loop);
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
      failedRounds = 0;
    } catch (error) {
      // The database or the broker is away: retry with backoff rather than spin and flood the log.
      failedRounds++;
      if (failedRounds === 1 || failedRounds % 20 === 0)
        logger.error({ err: error, failedRounds }, 'outbox relay round failed; retrying');
    } finally {
      inRound = false;
    }
    if (!stopped)
      schedule(
        failedRounds ? Math.min(pollIntervalMs * 2 ** failedRounds, MAX_RETRY_DELAY_MS) : pollIntervalMs,
      );
  }

  return {
    /** Writes events in the caller's transaction: they exist exactly when the change commits. */
    append: (tx: Db, events: CloudEvent[]) => eventStore.append(tx, events),

    /**
     * The same events as a part for the caller's own statement (see EventsWrite): for a state
     * change that announces itself without a statement of its own.
     */
    appending: (events: CloudEvent[]): EventsWrite => eventStore.appending(events),

    /**
     * Registers a handler before `start`. A consumer name is a consumer group: with a broker, one
     * durable queue per name. `everyInstance` gives every running instance each event instead.
     */
    subscribe(
      consumer: string,
      types: readonly string[] | '*',
      handler: EventHandler,
      subscribeOptions: { everyInstance?: boolean } = {},
    ): void {
      const counted: EventHandler = async (event) => {
        try {
          await handler(event);
        } catch (error) {
          consumerFailures.inc({ consumer });
          throw error;
        }
        consumed.inc({ consumer });
      };
      subscriptions.push({
        consumer,
        types,
        handler: counted,
        everyInstance: subscribeOptions.everyInstance ?? false,
      });
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

    /**
     * Forgets the relayed events about an erased user (their data names them as `userId`): the
     * outbox is a delivery log, not an archive of personal data. Events of the `keep` types (the
     * erasure's own record) stay. The relay sends in order, so by the time the erasure is
     * consumed the events written before it have gone out (a dead-lettered one is forgotten too).
     */
    forgetUser: (userId: string, keep: readonly string[]) => eventStore.forgetUser(db, userId, keep),

    /** Which transport carries events ('in-process' or 'amqp'). */
    transport: transport.kind,

    /**
     * Starts the relay and, with a broker, the consumers. A process may run only one part
     * (e.g. a consumer-only worker).
     */
    async start(parts: { relay?: boolean; consumers?: boolean } = {}): Promise<void> {
      if (!stopped) return;
      stopped = false;
      if (parts.consumers ?? true) {
        await startConsumers(false);
        await startConsumers(true);
      }
      if (parts.relay ?? true) {
        relaying = true;
        running = runDetached(loop);
      }
    },

    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await transport.stop();
      consuming.groups = consuming.instances = false;
      if (relaying) await eventStore.releaseLease(db, 'outbox-relay', relayId).catch(() => {});
      relaying = false;
      leaseRenewAt = 0;
    },

    /**
     * Starts only the every-instance subscriptions (e.g. socket fan-out) in a process that serves
     * HTTP without running the workers; with the in-process transport only the relay's process
     * delivers, so this has nothing to do there.
     */
    startInstanceConsumers: () => startConsumers(true),

    ready: () => transport.ready(),
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
