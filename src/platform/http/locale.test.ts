import { describe, expect, it } from 'vitest';
import { negotiateLocale } from './locale.ts';

describe('negotiating the language of an answer', () => {
  const locales = ['en', 'de', 'fr-CA'];
  it.each([
    [undefined, 'en'],
    ['', 'en'],
    ['de', 'de'],
    ['de-AT,de;q=0.9,en;q=0.8', 'de'],
    ['fr', 'fr-CA'],
    ['FR-ca', 'fr-CA'],
    ['nl, de;q=0.5', 'de'],
    ['nl', 'en'],
    ['de;q=0, fr;q=0.4', 'fr-CA'],
    ['en;q=0.5, de;q=0.9', 'de'],
    ['*', 'en'],
    ['garbage;;q=x', 'en'],
  ])('%s → %s', (header, expected) => {
    expect(negotiateLocale(header, locales)).toBe(expected);
  });
});
