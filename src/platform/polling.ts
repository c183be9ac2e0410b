import type { Logger } from './observability/logger.ts';

/**
 * A worker's background loop: runs `round` (which answers how much it did) again at once while it
 * finds work, then waits `intervalMs`. A failed round is logged and the loop goes on; `stop()`
 * waits for the round in progress.
 */
export function createPollingLoop(options: {
  /** What the loop does, for the log ("order recovery", "webhook delivery"). */
  name: string;
  intervalMs: number;
  round: () => Promise<number>;
  logger: Logger;
}): { start(): void; stop(): Promise<void> } {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      while (running && (await options.round()) > 0) {}
    } catch (error) {
      options.logger.error({ err: error }, `${options.name} round failed`);
    }
    if (running) timer = setTimeout(() => (current = tick()), options.intervalMs);
  };
  return {
    start() {
      running = true;
      current = tick();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
