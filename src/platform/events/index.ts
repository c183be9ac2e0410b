export { createAmqpTransport } from './amqp.ts';
export { createEventBus, type EventBus, type EventHandler } from './bus.ts';
export type { EventsWrite } from './store.ts';
export type { EventTransport } from './transport.ts';
export { type CloudEvent, cloudEvent, envelopeOf } from './types.ts';
