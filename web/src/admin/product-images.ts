import { html, nothing } from 'lit-html';
import type { Product, ProductImage } from '../types.ts';
import { type AppContext, act, type Content, describeError } from '../ui.ts';

const ACCEPTED = ['image/jpeg', 'image/png', 'image/webp'];
const MAX_BYTES = 10 * 1024 * 1024;

/** An upload under way or refused, shown until the page loads again. */
interface Upload {
  name: string;
  fraction: number;
  error?: string;
}

/**
 * The product's images: drop files (or choose them) to upload with progress, then order them,
 * give each an alt text, or remove one. `redraw` draws the page again as progress changes.
 */
export function imagesSection(ctx: AppContext, product: Product) {
  const uploads: Upload[] = [];
  let dragging = false;

  async function send(files: File[]) {
    const batch = files.map((file) => ({ file, upload: { name: file.name, fraction: 0 } as Upload }));
    uploads.push(...batch.map((entry) => entry.upload));
    ctx.redraw();
    for (const { file, upload } of batch) {
      // Checked here for a quick answer; the server checks the content itself.
      if (!ACCEPTED.includes(file.type)) upload.error = 'is not a JPEG, PNG or WebP image';
      else if (file.size > MAX_BYTES) upload.error = 'is larger than 10 MB';
      else {
        const form = new FormData();
        form.append('alt', '');
        form.append('file', file, file.name);
        try {
          await ctx.api.upload(`/v1/products/${product.id}/images`, form, (fraction) => {
            upload.fraction = fraction;
            ctx.redraw();
          });
          upload.fraction = 1;
        } catch (error) {
          upload.error = describeError(error);
        }
      }
      ctx.redraw();
    }
    const failed = batch.filter((entry) => entry.upload.error);
    await ctx.refresh();
    if (failed.length > 0)
      ctx.flash('error', failed.map((entry) => `${entry.upload.name} ${entry.upload.error}`).join('. '));
    else ctx.flash('info', batch.length === 1 ? 'Image added.' : `${batch.length} images added.`);
  }

  const change =
    (image: ProductImage, body: { alt?: string; position?: number }, done: string) => (event: Event) =>
      act(ctx, event, async () => {
        await ctx.api.patch(`/v1/products/${product.id}/images/${image.id}`, body, {
          contentType: 'application/merge-patch+json',
        });
        await ctx.refresh();
        ctx.flash('info', done);
      });
  const saveAlt = (image: ProductImage) => (event: SubmitEvent) => {
    const alt = new FormData(event.currentTarget as HTMLFormElement).get('alt') as string;
    event.preventDefault();
    return change(image, { alt }, 'Alt text saved.')(event);
  };
  const remove = (image: ProductImage) => (event: Event) =>
    act(ctx, event, async () => {
      if (!confirm('Remove this image from the product?')) return;
      await ctx.api.delete(`/v1/products/${product.id}/images/${image.id}`);
      await ctx.refresh();
      ctx.flash('info', 'Image removed.');
    });
  const dropped = (event: DragEvent) => {
    event.preventDefault();
    dragging = false;
    void send([...(event.dataTransfer?.files ?? [])]);
  };
  const chosen = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = '';
    void send(files);
  };
  const over = (entering: boolean) => (event: DragEvent) => {
    event.preventDefault();
    if (dragging !== entering) {
      dragging = entering;
      ctx.redraw();
    }
  };

  return (): Content => html`<section aria-labelledby="images-heading">
    <h2 id="images-heading">Images</h2>
    ${product.images.length === 0 ? html`<p class="muted">No images yet: the shop shows the product without a picture.</p>` : nothing}
    <ol class="image-list">
      ${product.images.map(
        (image, index) => html`<li data-image=${image.id}>
          <img src=${`${image.url}?w=160`} alt=${image.alt} width="80" height=${Math.round((80 * image.height) / image.width)} />
          <div class="stack">
            <span>${index === 0 ? html`<strong>Main image</strong> · ` : nothing}${image.width} × ${image.height} px</span>
            <form class="inline" @submit=${saveAlt(image)} aria-label=${`Alt text of image ${index + 1}`}>
              <label>Alt text <input name="alt" maxlength="500" .value=${image.alt} placeholder="What the image shows" /></label>
              <button type="submit">Save</button>
            </form>
            <p class="inline">
              ${index > 0 ? html`<button type="button" @click=${change(image, { position: 0 }, 'Main image changed.')}>Make main image</button>` : nothing}
              ${index > 0 ? html`<button type="button" @click=${change(image, { position: index - 1 }, 'Image moved.')} aria-label=${`Move image ${index + 1} earlier`}>↑</button>` : nothing}
              ${index < product.images.length - 1 ? html`<button type="button" @click=${change(image, { position: index + 1 }, 'Image moved.')} aria-label=${`Move image ${index + 1} later`}>↓</button>` : nothing}
              <button type="button" class="danger" @click=${remove(image)}>Remove</button>
            </p>
          </div>
        </li>`,
      )}
    </ol>
    <label class=${`dropzone${dragging ? ' dragging' : ''}`} @dragover=${over(true)} @dragleave=${over(false)} @drop=${dropped}>
      Drop JPEG, PNG or WebP images here (at most 10 MB each), or choose them
      <input type="file" name="images" accept=${ACCEPTED.join(',')} multiple @change=${chosen} />
    </label>
    ${
      uploads.length > 0
        ? html`<ul class="uploads" aria-label="Uploads">
          ${uploads.map(
            (upload) => html`<li>
              ${upload.name}
              ${
                upload.error
                  ? html`<span class="out-of-stock">${upload.error}</span>`
                  : html`<progress max="1" .value=${upload.fraction} aria-label=${`Uploading ${upload.name}`}></progress>`
              }
            </li>`,
          )}
        </ul>`
        : nothing
    }
  </section>`;
}
