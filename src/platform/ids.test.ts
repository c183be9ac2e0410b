import { describe, expect, it } from 'vitest';
import { uuidv7 } from './ids.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisecondOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('makes ids that sort in the order they were made, many within one millisecond', () => {
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    for (const id of ids) expect(id).toMatch(V7);
    for (let index = 1; index < ids.length; index++) expect(ids[index] > ids[index - 1]).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // The counter borrows a millisecond only when 4096 ids share one: the stamp stays near the clock.
    expect(millisecondOf(ids[0])).toBeGreaterThanOrEqual(before);
    expect(millisecondOf(ids.at(-1)!)).toBeLessThanOrEqual(Date.now() + ids.length / 2048);
  });

  it('writes a given time as it is, for backdated rows', () => {
    const at = Date.UTC(2024, 0, 2, 3, 4, 5, 6);
    const id = uuidv7(at);
    expect(id).toMatch(V7);
    expect(millisecondOf(id)).toBe(at);
  });
});
