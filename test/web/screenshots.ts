/**
 * `npm run screenshots`: the storefront and console as a person sees them, written as PNGs to
 * docs/screenshots. The same setup as the journeys: the built front end, a real server on loopback
 * with a small demo catalog, the system Chromium.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { buildWeb } from '../../web/build.ts';
import { signIn } from '../support/auth.ts';
import { addToCart, checkout, createProduct, review, shipFirstLine } from '../support/shop.ts';
import { createTestSystem } from '../support/system.ts';

const OUT = path.join(import.meta.dirname, '../../docs/screenshots');
const PASSWORD = 'correct horse battery staple';

await buildWeb({ ifStale: true });
const system = await createTestSystem('pglite', { SEED_PRODUCTS: '24' });
await system.startWorkers();
await system.app.listen({ host: '127.0.0.1', port: 0 });
const origin = `http://127.0.0.1:${(system.app.server.address() as AddressInfo).port}`;

const staff = await signIn(system, 'staff', 'grace@example.test');
const buyer = await signIn(system, 'customer', 'ada@example.test');
const lamp = await createProduct(system, staff, { name: 'Lighthouse Lamp', price: 2500, stock: 12 });
await addToCart(system, buyer, lamp.variantId, 2);
const order = (await checkout(system, buyer)).json();
await review(system, buyer, lamp.productId, {
  rating: 5,
  title: 'Bright and warm',
  body: 'Lights the whole porch.',
});
await shipFirstLine(system, staff, order, { carrier: 'DHL', trackingNumber: 'JD014600' });
await system.app.inject({
  method: 'POST',
  url: `/v1/orders/${order.id}/returns`,
  headers: buyer.headers,
  payload: { items: [{ orderItemId: order.items[0].id, quantity: 1 }], reason: 'one is enough' },
});

// A second order, not yet shipped, for the edit screen, and a phone order waiting as a draft.
await addToCart(system, buyer, lamp.variantId, 1);
const unshipped = (await checkout(system, buyer)).json();
await system.app.inject({
  method: 'POST',
  url: '/v1/draft-orders',
  headers: staff.headers,
  payload: {
    email: 'phone.order@example.test',
    items: [{ variantId: lamp.variantId, quantity: 3 }],
    shippingAddress: {
      name: 'Alan Turing',
      line1: '2 Bletchley Park',
      city: 'Milton Keynes',
      postalCode: 'MK3 6EB',
      country: 'GB',
    },
  },
});

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
async function shoot(page: Page, url: string, name: string) {
  await page.goto(url);
  await page.locator('main h1').waitFor();
  await page.locator('main[aria-busy="true"]').waitFor({ state: 'detached' });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}
async function signedIn(email: string, at: string) {
  const page = await (
    await browser.newContext({ baseURL: origin, viewport: { width: 1280, height: 800 } })
  ).newPage();
  await page.goto(at);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The sign-in page has a heading too: signed in is when the page has moved on from it.
  await page.waitForURL((url) => !url.pathname.endsWith('/signin'));
  await page.locator('main h1').waitFor();
  return page;
}
try {
  const shop = await signedIn(buyer.email, '/signin');
  await shoot(shop, '/', 'storefront-home');
  await shoot(shop, `/products/${lamp.productId}`, 'storefront-product');
  await shoot(shop, `/orders/${order.id}`, 'storefront-order');
  const admin = await signedIn(staff.email, '/admin/signin');
  await shoot(admin, '/admin', 'console-products');
  await shoot(admin, `/admin/orders/${order.id}`, 'console-order');
  await shoot(admin, '/admin/customers', 'console-customers');
  await shoot(admin, `/admin/orders/${unshipped.id}/edit`, 'console-order-edit');
  await shoot(admin, '/admin/draft-orders', 'console-draft-orders');
  await shoot(admin, '/admin/reviews', 'console-reviews');
  process.stdout.write(`screenshots written to ${OUT}\n`);
} finally {
  await browser.close();
  await system.dispose();
}
