import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { runDetached } from '../context.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { type DispatchResult, type EventTransport, handleEvent, type Subscription } from './transport.ts';
import { type CloudEvent, envelopeOf } from './types.ts';

export interface AmqpTransportOptions {
  url: string;
  logger: Logger;
  metrics: Metrics;
  /** The topic exchange; queues are named after it, so separate systems can share one broker. */
  exchange?: string;
  /** Unacknowledged messages a consumer group holds at once (its in-flight bound). */
  prefetch?: number;
  /** Deliveries of one message before it goes to the consumer group's dead-letter queue. */
  maxDeliveries?: number;
  /** How long the relay waits for the broker to confirm a batch. */
  confirmTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

const CONTENT_TYPE = 'application/cloudevents+json';

/** The names of a consumer group's queues and of the exchanges. */
export function amqpTopology(exchange: string, consumer: string) {
  return {
    exchange,
    deadExchange: `${exchange}.dead`,
    queue: `${exchange}.${consumer}`,
    deadQueue: `${exchange}.${consumer}.dead`,
  };
}

function groups(subscriptions: readonly Subscription[]): Map<string, Subscription[]> {
  const byConsumer = new Map<string, Subscription[]>();
  for (const subscription of subscriptions) {
    if (subscription.everyInstance) continue;
    byConsumer.set(subscription.consumer, [...(byConsumer.get(subscription.consumer) ?? []), subscription]);
  }
  return byConsumer;
}

function bindingKeys(subscriptions: readonly Subscription[]): string[] {
  if (subscriptions.some((subscription) => subscription.types === '*')) return ['#'];
  return [...new Set(subscriptions.flatMap((subscription) => subscription.types as string[]))];
}

/**
 * RabbitMQ transport. The relay publishes to a topic exchange (routing key = event type) on a
 * confirm channel and reports an event sent only once the broker has confirmed it. Each consumer
 * group has a durable quorum queue bound to its types, consumed with manual acks and a bounded
 * prefetch; a message that fails `maxDeliveries` times goes to the group's dead-letter queue
 * (x-delivery-count, with the broker's x-delivery-limit as a backstop). A lost connection is
 * re-established with backoff; until then `dispatch` rejects and the relay retries later.
 */
export function createAmqpTransport(options: AmqpTransportOptions): EventTransport {
  const { url, logger, metrics } = options;
  const exchange = options.exchange ?? 'emporium.events';
  const prefetch = options.prefetch ?? 50;
  const maxDeliveries = options.maxDeliveries ?? 10;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000;
  const reconnectInitialMs = options.reconnectInitialMs ?? 200;
  const reconnectMaxMs = options.reconnectMaxMs ?? 5_000;
  const deadLettered = metrics.counter('events_dead_lettered_total', 'Events dead-lettered', ['consumer']);
  const connected = metrics.gauge('events_broker_connected', '1 while connected to the message broker');

  let connection: ChannelModel | undefined;
  let publisher: ConfirmChannel | undefined;
  let connecting: Promise<ChannelModel> | undefined;
  let consumed: readonly Subscription[] | undefined;
  let declared: readonly Subscription[] = [];
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectDelay = reconnectInitialMs;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const consumers: Array<{ channel: Channel; tag: string }> = [];

  async function declareGroups(channel: Channel, subscriptions: readonly Subscription[]): Promise<void> {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertExchange(`${exchange}.dead`, 'direct', { durable: true });
    for (const [consumer, group] of groups(subscriptions)) {
      const names = amqpTopology(exchange, consumer);
      await channel.assertQueue(names.deadQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(names.deadQueue, names.deadExchange, consumer);
      await channel.assertQueue(names.queue, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-dead-letter-exchange': names.deadExchange,
          'x-dead-letter-routing-key': consumer,
          'x-delivery-limit': maxDeliveries,
        },
      });
      for (const key of bindingKeys(group)) await channel.bindQueue(names.queue, exchange, key);
    }
  }

  function settle(channel: Channel, message: ConsumeMessage, outcome: 'ack' | 'retry' | 'dead'): void {
    // On a channel that closed meanwhile this throws; the broker redelivers and the inbox dedups.
    try {
      if (outcome === 'ack') channel.ack(message);
      else channel.nack(message, false, outcome === 'retry');
    } catch (error) {
      logger.debug({ err: error }, 'could not settle a message on a closed channel');
    }
  }

  async function handleMessage(
    channel: Channel,
    message: ConsumeMessage,
    consumer: string,
    group: Subscription[],
  ): Promise<void> {
    let event: CloudEvent;
    try {
      event = JSON.parse(message.content.toString('utf8')) as CloudEvent;
    } catch (error) {
      logger.error({ err: error, consumer }, 'unreadable message dead-lettered');
      deadLettered.inc({ consumer });
      return settle(channel, message, 'dead');
    }
    try {
      await handleEvent(group, event);
      settle(channel, message, 'ack');
    } catch (error) {
      const deliveries = Number(message.properties.headers?.['x-delivery-count'] ?? 0) + 1;
      const last = deliveries >= maxDeliveries;
      logger.warn(
        { err: error, consumer, eventId: event.id, deliveries, deadLetter: last },
        'consumer failed',
      );
      if (last) {
        deadLettered.inc({ consumer });
        return settle(channel, message, 'dead');
      }
      // Hold the message a moment before returning it, so a failing consumer backs off.
      await sleep(Math.min(100 * 2 ** deliveries, 5_000));
      settle(channel, message, 'retry');
    }
  }

  /** Every-instance consumers (pushing to local sockets) are best effort: a failure is logged, not retried. */
  async function handleBestEffort(
    channel: Channel,
    message: ConsumeMessage,
    group: Subscription[],
  ): Promise<void> {
    try {
      await handleEvent(group, JSON.parse(message.content.toString('utf8')) as CloudEvent);
    } catch (error) {
      logger.warn({ err: error }, 'instance consumer failed');
    }
    settle(channel, message, 'ack');
  }

  /**
   * Messages of one subject are handled one after another (in queue order); different subjects
   * run concurrently, up to the prefetch.
   */
  async function consumeGroup(
    model: ChannelModel,
    consumer: string,
    group: Subscription[],
    queue: string,
    onFailure: 'retry' | 'drop',
  ): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error) => logger.warn({ err: error, consumer }, 'consumer channel error'));
    await channel.prefetch(prefetch);
    const tails = new Map<string, Promise<void>>();
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (!message) {
        logger.warn({ consumer, queue }, 'the broker cancelled a consumer');
        return;
      }
      const subject = String(message.properties.headers?.subject ?? '');
      const handled =
        onFailure === 'retry'
          ? () => handleMessage(channel, message, consumer, group)
          : () => handleBestEffort(channel, message, group);
      // Both handlers settle the message themselves and never reject, so a chain never breaks.
      const next = (tails.get(subject) ?? Promise.resolve()).then(handled);
      tails.set(subject, next);
      inFlight.add(next);
      void next.then(() => {
        inFlight.delete(next);
        if (tails.get(subject) === next) tails.delete(subject);
      });
    });
    consumers.push({ channel, tag: consumerTag });
  }

  async function startConsuming(model: ChannelModel, subscriptions: readonly Subscription[]): Promise<void> {
    for (const [consumer, group] of groups(subscriptions)) {
      await consumeGroup(model, consumer, group, amqpTopology(exchange, consumer).queue, 'retry');
    }
    const everyInstance = subscriptions.filter((subscription) => subscription.everyInstance);
    if (everyInstance.length > 0) {
      const channel = await model.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      for (const key of bindingKeys(everyInstance)) await channel.bindQueue(queue, exchange, key);
      await channel.close();
      await consumeGroup(model, 'instance', everyInstance, queue, 'drop');
    }
  }

  async function open(): Promise<ChannelModel> {
    // Loaded on first use: a process without AMQP_URL never pays for the client library.
    const { default: amqp } = await import('amqplib');
    const model = await amqp.connect(url, { clientProperties: { connection_name: `emporium ${exchange}` } });
    model.on('error', (error) => logger.warn({ err: error }, 'message broker connection error'));
    model.on('close', () => {
      if (connection !== model) return;
      connection = undefined;
      publisher = undefined;
      connected.set(0);
      if (!stopped) {
        logger.warn('message broker connection lost; reconnecting');
        scheduleReconnect();
      }
    });
    try {
      const setup = await model.createChannel();
      await declareGroups(setup, [...declared, ...(consumed ?? [])]);
      await setup.close();
      consumers.length = 0;
      if (consumed) await startConsuming(model, consumed);
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    connection = model;
    connected.set(1);
    reconnectDelay = reconnectInitialMs;
    return model;
  }

  /** One connection attempt at a time; rejects when the broker cannot be reached now. */
  function connect(): Promise<ChannelModel> {
    if (stopped) return Promise.reject(new Error('the message broker transport is stopped'));
    if (connection) return Promise.resolve(connection);
    // The connection's callbacks (consumers, reconnects) must not run in the caller's request context.
    connecting ??= runDetached(open).finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  function scheduleReconnect(): void {
    if (reconnectTimer || stopped) return;
    reconnectTimer = setTimeout(async () => {
      reconnectTimer = undefined;
      try {
        await connect();
        logger.info('message broker connection re-established');
      } catch (error) {
        reconnectDelay = Math.min(reconnectDelay * 2, reconnectMaxMs);
        logger.debug({ err: error, retryInMs: reconnectDelay }, 'message broker still unreachable');
        scheduleReconnect();
      }
    }, reconnectDelay);
  }

  async function publisherChannel(subscriptions: readonly Subscription[]): Promise<ConfirmChannel> {
    const model = await connect();
    // Declare the queues of every known group before publishing, so no event is routed nowhere.
    if (groups(subscriptions).size > 0 && subscriptions !== declared) {
      declared = subscriptions;
      const setup = await model.createChannel();
      await declareGroups(setup, subscriptions);
      await setup.close();
    }
    if (!publisher) {
      const channel = await model.createConfirmChannel();
      channel.on('error', (error) => logger.warn({ err: error }, 'publisher channel error'));
      channel.on('close', () => {
        if (publisher === channel) publisher = undefined;
      });
      publisher = channel;
    }
    return publisher;
  }

  return {
    kind: 'amqp',

    async dispatch(events, subscriptions): Promise<DispatchResult> {
      const channel = await publisherChannel(subscriptions);
      const confirmations: Array<Promise<Error | null>> = [];
      for (const event of events) {
        confirmations.push(
          new Promise((resolve) => {
            const writable = channel.publish(
              exchange,
              event.type,
              Buffer.from(JSON.stringify(envelopeOf(event))),
              {
                persistent: true,
                messageId: event.id,
                type: event.type,
                contentType: CONTENT_TYPE,
                timestamp: Math.floor(Date.parse(event.time) / 1000),
                headers: { subject: event.subject },
              },
              (error) => resolve(error ? new Error(`the broker refused the event: ${error}`) : null),
            );
            if (!writable) logger.debug('publisher buffer full');
          }),
        );
      }
      let timeout: NodeJS.Timeout | undefined;
      const outcomes = await Promise.race([
        Promise.all(confirmations),
        new Promise<never>((_resolve, reject) => {
          timeout = setTimeout(
            () => reject(new Error(`the broker did not confirm within ${confirmTimeoutMs} ms`)),
            confirmTimeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timeout));
      // A channel that closed under the batch is an outage, not a verdict on the events.
      if (publisher !== channel) throw new Error('the broker connection closed before confirming');
      const result: DispatchResult = { sent: [], failed: [] };
      events.forEach((event, index) => {
        const error = outcomes[index];
        if (error) result.failed.push({ event, error });
        else result.sent.push(event.seq);
      });
      return result;
    },

    async startConsumers(subscriptions) {
      if (subscriptions.length === 0) return;
      consumed = [...(consumed ?? []), ...subscriptions];
      if (connection) {
        await startConsuming(connection, subscriptions);
        return;
      }
      try {
        await connect();
      } catch (error) {
        logger.warn({ err: error }, 'message broker unreachable; consumers start when it is back');
        scheduleReconnect();
      }
    },

    async stop() {
      stopped = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await connecting?.catch(() => {});
      for (const { channel, tag } of consumers) await channel.cancel(tag).catch(() => {});
      // Let handlers in progress finish; their acks go out before the connection closes.
      await Promise.race([Promise.allSettled([...inFlight]), sleep(5_000)]);
      const model = connection;
      connection = undefined;
      publisher = undefined;
      connected.set(0);
      await model?.close().catch(() => {});
    },

    async ready() {
      await connect();
    },
  };
}
