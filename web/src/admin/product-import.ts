import { html, nothing } from 'lit-html';
import { type AppContext, act, type Drawing } from '../ui.ts';

interface ImportReport {
  created: number;
  updated: number;
  errors: Array<{ row: number; column?: string; message: string }>;
}

interface ImportJob {
  id: string;
  status: 'running' | 'done' | 'failed';
  progress: { done: number; total: number };
  report?: ImportReport;
  error?: string;
}

const POLL_MS = 300;

const count = (products: number) => (products === 1 ? '1 product' : `${products} products`);

const COLUMN_NAMES: Record<string, string> = {
  product: 'Product (slug)',
  name: 'Name',
  description: 'Description',
  categories: 'Categories',
  options: 'Options',
  sku: 'SKU',
  price: 'Price',
  variantOptions: 'Variant options',
  taxClass: 'Tax class',
  stock: 'Stock',
};

/**
 * Products in and out as CSV: download the catalog, upload a file to check or import. A file
 * with a mistake writes nothing; its mistakes are listed by line and column to fix and try again.
 */
export async function importPage(ctx: AppContext): Promise<Drawing> {
  let report: { dryRun: boolean; file: string; result: ImportReport } | undefined;
  /** The import under way: products done of the file's, while the server works through it. */
  let running: { file: string; done: number; total: number } | undefined;

  const download = (event: Event) =>
    act(ctx, event, async () => {
      const csv = await ctx.api.request<string>('GET', '/v1/products/export', { responseText: true });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([csv.body], { type: 'text/csv' }));
      link.download = 'products.csv';
      link.click();
      URL.revokeObjectURL(link.href);
    });
  const upload = (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0];
    const dryRun = (form.elements.namedItem('dryRun') as HTMLInputElement).checked;
    return act(ctx, event, async () => {
      if (!file) throw new Error('Choose a CSV file first');
      // In the background (Prefer: respond-async), followed until it ends, so a large file shows progress.
      let job = await ctx.api.post<ImportJob>(
        `/v1/products/import${dryRun ? '?dryRun=true' : ''}`,
        undefined,
        { text: await file.text(), contentType: 'text/csv', headers: { prefer: 'respond-async' } },
      );
      running = { file: file.name, done: 0, total: 0 };
      ctx.redraw();
      while (job.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        job = await ctx.api.get<ImportJob>(`/v1/jobs/${job.id}`);
        running = { file: file.name, ...job.progress };
        ctx.redraw();
      }
      running = undefined;
      if (job.status === 'failed' || !job.report)
        throw new Error(job.error ?? 'The import stopped; nothing was written');
      report = { dryRun, file: file.name, result: job.report };
      ctx.redraw();
      const { created, updated, errors } = job.report;
      if (errors.length > 0)
        ctx.flash(
          'error',
          `${file.name} has ${errors.length} ${errors.length === 1 ? 'mistake' : 'mistakes'}: nothing was imported.`,
        );
      else
        ctx.flash(
          'info',
          dryRun
            ? `Checked: ${count(created)} would be created and ${count(updated)} replaced; nothing was changed.`
            : `Imported: ${count(created)} created and ${count(updated)} replaced.`,
        );
    });
  };

  return () => html`
    <nav aria-label="Breadcrumb"><a href="/admin">← Products</a></nav>
    <h1>Import and export</h1>
    <section aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <p>Every product in the shop, one row per variant, in the columns an import takes.</p>
      <button type="button" @click=${download}>Download products.csv</button>
    </section>
    <section aria-labelledby="import-heading">
      <h2 id="import-heading">Import</h2>
      <p class="muted">Columns: ${Object.keys(COLUMN_NAMES).join(', ')}. Rows with the same product slug are one
        product; a slug the shop has is replaced, a new one created. A file with any mistake imports nothing.</p>
      <form class="stack narrow" @submit=${upload} aria-label="Import products">
        <label>CSV file <input type="file" name="file" accept=".csv,text/csv" required /></label>
        <label class="check"><input type="checkbox" name="dryRun" /> Only check the file (change nothing)</label>
        <button type="submit" class="primary">Import</button>
      </form>
      ${
        running
          ? html`<p>Importing ${running.file}: ${running.total > 0 ? `${running.done} of ${running.total} products` : 'reading the file'}
            <progress max=${Math.max(1, running.total)} .value=${running.done} aria-label=${`Importing ${running.file}`}></progress></p>`
          : nothing
      }
      ${
        report && report.result.errors.length > 0
          ? html`<div class="table-scroll"><table class="lines" aria-label="Mistakes in ${report.file}">
            <thead><tr><th scope="col">Line</th><th scope="col">Column</th><th scope="col">What is wrong</th></tr></thead>
            <tbody>
              ${report.result.errors.map(
                (error) =>
                  html`<tr><td>${error.row}</td><td>${error.column ? (COLUMN_NAMES[error.column] ?? error.column) : '—'}</td><td>${error.message}</td></tr>`,
              )}
            </tbody>
          </table></div>`
          : nothing
      }
    </section>
  `;
}
