import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedInUser, signIn } from '../../../test/support/auth.ts';
import { dbKinds } from '../../../test/support/db.ts';
import { eventually } from '../../../test/support/shop.ts';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { parseImport } from './csv.ts';

const HEADER = 'product,name,description,categories,options,sku,price,variantOptions,taxClass,stock';

it('reads prices in the store currency’s own decimals (none for yen)', () => {
  const line = (price: string) => [HEADER, `csv-fan,Fan,,,,CSV-FAN,${price},,,`].join('\n');
  expect(parseImport(line('1500'), 'JPY').products[0].input.variants[0].price).toEqual({
    amount: 1500,
    currency: 'JPY',
  });
  expect(parseImport(line('15.00'), 'JPY').errors).toEqual([
    { row: 2, column: 'price', message: 'must be an amount like 19.99 (in JPY)' },
  ]);
  expect(parseImport(line('15.5'), 'EUR').products[0].input.variants[0].price.amount).toBe(1550);
  expect(parseImport(line('15.555'), 'EUR').errors[0].column).toBe('price');
});

describe.each(dbKinds)('the catalog as CSV on %s', (kind) => {
  let system: TestSystem;
  let staff: SignedInUser;
  const importCsv = (text: string, query = '') =>
    system.app.inject({
      method: 'POST',
      url: `/v1/products/import${query}`,
      headers: { ...staff.headers, 'content-type': 'text/csv' },
      payload: text,
    });
  const bySlug = async (slug: string) => {
    const list = (await system.app.inject({ url: `/v1/products?size=100` })).json();
    return list.items.find((item: { slug: string }) => item.slug === slug);
  };

  beforeAll(async () => {
    system = await createTestSystem(kind);
    staff = await signIn(system, 'staff');
    await system.app.inject({
      method: 'POST',
      url: '/v1/categories',
      headers: staff.headers,
      payload: { slug: 'knitwear', name: 'Knitwear' },
    });
  });
  afterAll(() => system.dispose());

  const file = [
    HEADER,
    'csv-jumper,"Jumper, wool",Warm and soft.,knitwear,Size=S|M,CSV-J-S,49.90,Size=S,standard,4',
    'csv-jumper,,,,,CSV-J-M,49.90,Size=M,,2',
    'csv-scarf,Scarf,"Long; ""very"" long",,,CSV-SC,19.00,,reduced,',
  ].join('\n');

  it('reports every mistake with its line and column, and writes nothing while one is left', async () => {
    const broken = [
      HEADER,
      'csv-jumper,Jumper,,knitwear,Size=S|M,CSV-J-S,forty,Size=S,standard,4',
      'csv-jumper,,,,,CSV-J-S,49.90,Size=XL,,x',
      'Not A Slug,Hat,,,,CSV-H,5.00,,,',
      'csv-mitts,Mitts,,no-such-category,,CSV-MI,9.00,,,',
    ].join('\n');
    const checked = await importCsv(broken);
    expect(checked.statusCode, checked.body).toBe(200);
    const { created, updated, errors } = checked.json();
    expect([created, updated]).toEqual([0, 0]);
    expect(errors).toEqual(
      expect.arrayContaining([
        { row: 2, column: 'price', message: expect.stringContaining('19.99') },
        { row: 3, column: 'sku', message: 'is also on line 2' },
        { row: 3, column: 'stock', message: expect.any(String) },
        { row: 4, column: 'product', message: expect.any(String) },
      ]),
    );
    // Line by line first; what needs the database (the category) once the file reads cleanly.
    expect(await bySlug('csv-mitts')).toBeUndefined();
    const unknownCategory = await importCsv(
      [HEADER, 'csv-mitts,Mitts,,no-such-category,,CSV-MI,9.00,,,'].join('\n'),
    );
    expect(unknownCategory.json().errors).toEqual([
      { row: 2, message: expect.stringMatching(/^Mitts: .*no-such-category/) },
    ]);
    const wrongOption = await importCsv([HEADER, 'csv-cap,Cap,,,Size=S|M,CSV-CAP,9.00,Size=XL,,'].join('\n'));
    expect(wrongOption.json().errors[0].message).toMatch(/XL is not one of the Size values/);
    expect(await bySlug('csv-cap')).toBeUndefined();
    const noHeader = await importCsv('a,b\n1,2');
    expect(noHeader.json().errors[0]).toMatchObject({
      row: 1,
      message: expect.stringContaining('missing: product'),
    });
  });

  it('imports new products, dry-runs without writing, updates by slug, and exports what it holds', async () => {
    const dry = await importCsv(file, '?dryRun=true');
    expect(dry.json()).toEqual({ created: 2, updated: 0, errors: [] });
    expect(await bySlug('csv-jumper')).toBeUndefined();

    const done = await importCsv(file);
    expect(done.json()).toEqual({ created: 2, updated: 0, errors: [] });
    const jumper = await bySlug('csv-jumper');
    expect(jumper).toMatchObject({
      name: 'Jumper, wool',
      categories: ['knitwear'],
      options: [{ name: 'Size', values: ['S', 'M'] }],
    });
    expect(
      jumper.variants.map((variant: { sku: string; available: number }) => [variant.sku, variant.available]),
    ).toEqual([
      ['CSV-J-S', 4],
      ['CSV-J-M', 2],
    ]);
    expect((await bySlug('csv-scarf')).description).toBe('Long; "very" long');

    // The same file again, with a new price: an update by slug; stock stays as it is.
    const again = await importCsv(file.replace('CSV-J-M,49.90', 'CSV-J-M,44.90'));
    expect(again.json()).toEqual({ created: 0, updated: 2, errors: [] });
    const updated = await bySlug('csv-jumper');
    expect(updated.id).toBe(jumper.id);
    expect(updated.variants[1].price.amount).toBe(4490);
    expect(updated.variants[1].available).toBe(2);

    const exported = await system.app.inject({ url: '/v1/products/export', headers: staff.headers });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = parse(exported.body, { columns: true }) as Array<Record<string, string>>;
    expect(exported.body.split('\r\n')[0]).toBe(HEADER);
    expect(rows.filter((row) => row.product === 'csv-jumper')).toEqual([
      {
        product: 'csv-jumper',
        name: 'Jumper, wool',
        description: 'Warm and soft.',
        categories: 'knitwear',
        options: 'Size=S|M',
        sku: 'CSV-J-S',
        price: '49.90',
        variantOptions: 'Size=S',
        taxClass: 'standard',
        stock: '4',
      },
      expect.objectContaining({ sku: 'CSV-J-M', price: '44.90', variantOptions: 'Size=M', stock: '2' }),
    ]);
    // What is exported imports back unchanged.
    const roundTrip = await importCsv(exported.body);
    expect(roundTrip.json()).toMatchObject({ created: 0, errors: [] });

    // In the background: 202 with the job at once, its progress, then its report.
    const big = [
      HEADER,
      ...Array.from(
        { length: 60 },
        (_, index) => `csv-sock-${index},Sock ${index},,,,CSV-SOCK-${index},3.00,,,1`,
      ),
    ].join('\n');
    const started = await system.app.inject({
      method: 'POST',
      url: '/v1/products/import',
      headers: { ...staff.headers, 'content-type': 'text/csv', prefer: 'respond-async' },
      payload: big,
    });
    expect(started.statusCode, started.body).toBe(202);
    expect(started.headers['preference-applied']).toBe('respond-async');
    expect(started.json()).toMatchObject({ status: 'running', dryRun: false });
    const location = String(started.headers.location);
    expect(location).toBe(`/v1/jobs/${started.json().id}`);
    const finished = await eventually(async () => {
      const job = (await system.app.inject({ url: location, headers: staff.headers })).json();
      return job.status === 'running' ? undefined : job;
    });
    expect(finished).toMatchObject({
      status: 'done',
      progress: { done: 60, total: 60 },
      report: { created: 60, updated: 0, errors: [] },
    });
    expect(await bySlug('csv-sock-59')).toBeDefined();
    const missingJob = await system.app.inject({
      url: '/v1/jobs/0190a0b0-0000-7000-8000-000000000000',
      headers: staff.headers,
    });
    expect(missingJob.statusCode).toBe(404);

    const byShopper = await system.app.inject({
      url: '/v1/products/export',
      headers: (await signIn(system)).headers,
    });
    expect(byShopper.statusCode).toBe(403);
    const asJson = await system.app.inject({
      method: 'POST',
      url: '/v1/products/import',
      headers: staff.headers,
      payload: { rows: [] },
    });
    expect(asJson.statusCode).toBe(415);
  });
});
