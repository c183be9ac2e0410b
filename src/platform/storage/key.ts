const KEY = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** Keys are made by the code, never by a client: one that could climb out of its folder is a bug. */
export function assertKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`not an object key: ${key}`);
}
