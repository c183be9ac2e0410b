import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createScratchDatabase } from '../src/platform/db/scratch.ts';
import { createLogger } from '../src/platform/observability/logger.ts';
import { createSystem } from '../src/system.ts';

const HELP = `Usage: npm run bench:import -- [--rows N] [--variants N]

Times a CSV import of N rows (products of --variants sizes each) into a fresh database: on
DATABASE_URL's PostgreSQL when it is set (a scratch database, dropped after), else embedded PGlite.
Prints the time to check the file and the time of the whole import, then imports the same file
again (every product replaced).`;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    variants: { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const rows = Number(values.rows);
const perProduct = Number(values.variants);
const sizes = ['XS', 'S', 'M', 'L', 'XL', 'XXL'].slice(0, perProduct);

function file(priceCents: number): string {
  const lines = ['product,name,description,categories,options,sku,price,variantOptions,taxClass,stock'];
  for (let product = 0; lines.length <= rows; product++) {
    const slug = `bench-import-${product}`;
    sizes.forEach((size, index) => {
      if (lines.length > rows) return;
      const head = index === 0 ? `Imported jumper ${product},A warm jumper.,,Size=${sizes.join('|')}` : ',,,';
      lines.push(
        `${slug},${head},BI-${product}-${size},${(priceCents / 100).toFixed(2)},Size=${size},standard,10`,
      );
    });
  }
  return lines.join('\n');
}

const scratch = process.env.DATABASE_URL
  ? await createScratchDatabase(process.env.DATABASE_URL, 'emporium_bench_import')
  : undefined;
const config = loadConfig({
  ...process.env,
  LOG_LEVEL: 'warn',
  SEED_PRODUCTS: '0',
  ...(scratch ? { DATABASE_URL: scratch.url } : { DATABASE_URL: '' }),
});
const system = await createSystem(config, createLogger('warn'));
try {
  const catalog = system.registry.catalog!;
  for (const [label, text] of [
    ['new products', file(4990)],
    ['the same products again (replaced)', file(3990)],
  ] as const) {
    const started = performance.now();
    const checked = await catalog.service.importCsv(text, true);
    const checkedMs = performance.now() - started;
    const report = await catalog.service.importCsv(text, false);
    const totalMs = performance.now() - started - checkedMs;
    if (report.errors.length > 0)
      throw new Error(`the import refused its file: ${JSON.stringify(report.errors[0])}`);
    console.log(
      `${rows} rows, ${label}: dry run ${(checkedMs / 1000).toFixed(1)} s (${checked.created + checked.updated} products), ` +
        `import ${(totalMs / 1000).toFixed(1)} s (created ${report.created}, updated ${report.updated}) on ${scratch ? 'PostgreSQL' : 'PGlite'}`,
    );
  }
} finally {
  await system.close();
  await scratch?.drop();
}
