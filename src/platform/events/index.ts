export { createEventBus, type EventBus, type EventHandler } from './bus.ts';
export { type CloudEvent, cloudEvent } from './types.ts';
