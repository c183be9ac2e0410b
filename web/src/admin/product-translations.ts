import { html, nothing } from 'lit-html';
import type { Product } from '../types.ts';
import { type AppContext, act, type Content, formValues, languageName } from '../ui.ts';

interface Translations {
  items: Array<{ locale: string; name: string; description: string }>;
  /** The shop's languages, its own first. */
  locales: string[];
}

/** The product's name and description in each of the shop's other languages. */
export async function translationsSection(ctx: AppContext, product: Product): Promise<Content> {
  const { items, locales } = await ctx.api.get<Translations>(`/v1/products/${product.id}/translations`);
  const others = locales.slice(1);
  if (others.length === 0) return nothing;
  const save = (locale: string) => (event: SubmitEvent) => {
    const values = formValues(event);
    return act(ctx, event, async () => {
      await ctx.api.put(`/v1/products/${product.id}/translations/${locale}`, {
        name: values.name.trim(),
        description: values.description,
      });
      await ctx.refresh();
      ctx.flash('info', `${languageName(locale)} text saved.`);
    });
  };
  const remove = (locale: string) => (event: Event) =>
    act(ctx, event, async () => {
      await ctx.api.delete(`/v1/products/${product.id}/translations/${locale}`);
      await ctx.refresh();
      ctx.flash(
        'info',
        `${languageName(locale)} text removed: the shop shows the ${languageName(locales[0])} text there.`,
      );
    });
  return html`<section aria-labelledby="translations-heading">
    <h2 id="translations-heading">Translations</h2>
    <p class="muted">Shoppers reading in another language see these; without one they see the ${languageName(locales[0])} text.</p>
    ${others.map((locale) => {
      const translation = items.find((item) => item.locale === locale);
      return html`<form class="stack narrow" @submit=${save(locale)} aria-label=${`${languageName(locale)} text`}>
        <h3>${languageName(locale)}</h3>
        <label>Name in ${languageName(locale)} <input name="name" required maxlength="200" .value=${translation?.name ?? ''} /></label>
        <label>Description in ${languageName(locale)} <textarea name="description" rows="3" maxlength="10000" .value=${translation?.description ?? ''}></textarea></label>
        <p class="inline">
          <button type="submit">Save ${languageName(locale)} text</button>
          ${translation ? html`<button type="button" class="danger" @click=${remove(locale)}>Remove</button>` : nothing}
        </p>
      </form>`;
    })}
  </section>`;
}
