/**
 * The language to answer in: the first of the client's Accept-Language ranges (by q, then order)
 * that one of `locales` serves, exactly (de-AT) or by its language (de-AT → de, de → de-DE); the
 * first locale, the shop's own, when none does. `*` takes the shop's own.
 */
export function negotiateLocale(header: string | undefined, locales: readonly string[]): string {
  const fallback = locales[0];
  if (!header) return fallback;
  const ranges = header
    .split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='));
      return { tag: tag.trim().toLowerCase(), q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((range) => range.tag && range.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  const lower = locales.map((locale) => locale.toLowerCase());
  for (const { tag } of ranges) {
    if (tag === '*') return fallback;
    const exact = lower.indexOf(tag);
    if (exact >= 0) return locales[exact];
    const language = tag.split('-')[0];
    const related = lower.findIndex((locale) => locale.split('-')[0] === language);
    if (related >= 0) return locales[related];
  }
  return fallback;
}
