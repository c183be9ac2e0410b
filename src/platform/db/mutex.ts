/** A FIFO lock whose waiters can give up through an AbortSignal. */
export class Mutex {
  #locked = false;
  #waiters: Array<{ grant: () => void }> = [];

  get waiting(): number {
    return this.#waiters.length;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (!this.#locked) {
      this.#locked = true;
      return this.#releaser();
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          // Gave up between being chosen and the hand-over: pass the lock on.
          if (settled) this.#releaser()();
          else resolve(this.#releaser());
          settled = true;
        },
      };
      const onAbort = () => {
        settled = true;
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // Hand over on the next turn of the event loop, not as a microtask: PGlite answers without
      // real I/O, so a queue of holders passing the lock directly would starve every socket.
      if (next) setImmediate(next.grant);
      else this.#locked = false;
    };
  }
}
