import type { PendingEvent } from './store.ts';
import type { CloudEvent } from './types.ts';

export type EventHandler = (event: CloudEvent) => Promise<void>;

export interface Subscription {
  consumer: string;
  types: readonly string[] | '*';
  handler: EventHandler;
  /**
   * false (default): a consumer group — each event is handled once by one instance of the
   * consumer. true: every running instance gets every event (e.g. pushing to its own sockets).
   */
  everyInstance: boolean;
}

export interface DispatchResult {
  /** Seqs handed over for good: handled in-process, or confirmed by the broker. */
  sent: number[];
  /** Events that failed this time; the relay counts the attempt and dead-letters after the last. */
  failed: Array<{ event: PendingEvent; error: Error }>;
}

/**
 * How the relay hands committed outbox events to consumers. It rejects when it cannot work at
 * all (a broker down): nothing is marked and the relay retries later.
 */
export interface EventTransport {
  readonly kind: 'in-process' | 'amqp';
  dispatch(
    events: PendingEvent[],
    subscriptions: readonly Subscription[],
    isLastAttempt: (event: PendingEvent) => boolean,
  ): Promise<DispatchResult>;
  /** Starts consuming for the subscriptions (a broker transport; in-process has nothing to do). */
  startConsumers(subscriptions: readonly Subscription[]): Promise<void>;
  stop(): Promise<void>;
  /** Rejects when the transport cannot deliver now (joins /readyz). */
  ready(): Promise<void>;
}

export function matches(subscription: Subscription, type: string): boolean {
  return subscription.types === '*' || subscription.types.includes(type);
}

/** Calls each matching handler in registration order; the first failure names its consumer. */
export async function handleEvent(subscriptions: readonly Subscription[], event: CloudEvent): Promise<void> {
  for (const subscription of subscriptions) {
    if (!matches(subscription, event.type)) continue;
    try {
      await subscription.handler(event);
    } catch (error) {
      throw new Error(`${subscription.consumer}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The embedded default: the relay calls the subscribers itself, in seq order. A failed event holds
 * back later events of the same subject (order per aggregate is kept) but not other subjects.
 * Every subscription runs in this process, so `everyInstance` changes nothing here.
 */
export function inProcessTransport(): EventTransport {
  return {
    kind: 'in-process',
    async dispatch(events, subscriptions, isLastAttempt) {
      const result: DispatchResult = { sent: [], failed: [] };
      const blockedSubjects = new Set<string>();
      for (const event of events) {
        if (blockedSubjects.has(event.subject)) continue;
        try {
          await handleEvent(subscriptions, event);
          result.sent.push(event.seq);
        } catch (error) {
          result.failed.push({ event, error: error as Error });
          // A dead-lettered event stops holding back its subject.
          if (!isLastAttempt(event)) blockedSubjects.add(event.subject);
        }
      }
      return result;
    },
    startConsumers: async () => {},
    stop: async () => {},
    ready: async () => {},
  };
}
