import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSystem, type TestSystem } from '../../../test/support/system.ts';
import { PAGE_CSP, pageCsp } from './index.ts';

const SCRIPT = `console.log(${JSON.stringify('emporium '.repeat(200))});\n`;

/** A build output like Vite's: two pages, hashed assets, a public file and the build stamp. */
async function fakeBuild(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'assets'), { recursive: true });
  await mkdir(path.join(dir, 'admin'), { recursive: true });
  await writeFile(
    path.join(dir, 'index.html'),
    '<!doctype html><meta name="emporium-store-currency" content="EUR" /><meta name="emporium-store-locales" content="en" /><meta name="emporium-stripe" content="" /><title>shop</title><script type="module" src="/assets/app-1a2b3c.js"></script>',
  );
  await writeFile(path.join(dir, 'admin/index.html'), '<!doctype html><title>admin</title>');
  await writeFile(path.join(dir, 'assets/app-1a2b3c.js'), SCRIPT);
  await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(dir, '.build-inputs'), 'digest');
}

// Serving reads files, not the database: one database kind is enough here.
describe('web module: the built front end served by the API process', () => {
  let dir: string;
  let system: TestSystem;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'emporium-web-'));
    await fakeBuild(dir);
    system = await createTestSystem(
      'pglite',
      { STORE_CURRENCY: 'GBP', STORE_LOCALES: 'en,nl' },
      { webDistDir: dir },
    );
  });
  afterAll(async () => {
    await system.dispose();
    await rm(dir, { recursive: true, force: true });
  });
  const get = (url: string, headers: Record<string, string> = {}) =>
    system.app.inject({ method: 'GET', url, headers });

  it('answers every storefront page path with index.html, revalidated each time, under the pages’ CSP', async () => {
    for (const url of [
      '/',
      '/products/0192d7a0-0000-7000-8000-000000000001',
      '/cart',
      '/checkout',
      '/orders',
      '/orders/x',
      '/signin',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toContain('<title>shop</title>');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toBe(PAGE_CSP);
    }
    const first = await get('/');
    const again = await get('/', { 'if-none-match': String(first.headers.etag) });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('writes the store currency and languages into the pages, so prices typed in the admin are in it', async () => {
    const page = await get('/');
    expect(page.body).toContain('<meta name="emporium-store-currency" content="GBP" />');
    expect(page.body).toContain('<meta name="emporium-store-locales" content="en,nl" />');
    expect(page.body).not.toContain('EUR');
  });

  it('writes no Stripe settings without a publishable key', async () => {
    expect((await get('/')).body).toContain('<meta name="emporium-stripe" content="" />');
  });

  it('answers /admin and every path below it with the admin console', async () => {
    for (const url of ['/admin', '/admin/', '/admin/products/new', '/admin/orders/123']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.body).toContain('<title>admin</title>');
    }
  });

  it('serves hashed assets as immutable for a year, compressed as the client accepts', async () => {
    const plain = await get('/assets/app-1a2b3c.js');
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.vary).toContain('Accept-Encoding');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(SCRIPT);

    const br = await get('/assets/app-1a2b3c.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(SCRIPT);
    expect(br.rawPayload.length).toBeLessThan(SCRIPT.length / 5);

    const gzip = await get('/assets/app-1a2b3c.js', { 'accept-encoding': 'gzip, br;q=0' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(SCRIPT);

    const head = await system.app.inject({ method: 'HEAD', url: '/assets/app-1a2b3c.js' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(
      (await get('/assets/app-1a2b3c.js', { 'if-none-match': String(plain.headers.etag) })).statusCode,
    ).toBe(304);
  });

  it('serves top-level public files and nothing it was not built with', async () => {
    expect((await get('/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
    for (const url of [
      '/.build-inputs',
      '/assets/missing.js',
      '/assets/../index.html',
      '/nowhere',
      '/products',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('answers a browser asking for a page that does not exist with the storefront under a 404', async () => {
    for (const url of ['/nowhere', '/products', '/products/x/y', '/admin-nope']) {
      const response = await get(url, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['content-type'], url).toContain('text/html');
      expect(response.headers['content-security-policy']).toBe(PAGE_CSP);
      expect(response.body).toContain('<title>shop</title>');
    }
    // Conditional requests never turn a missing page into a 304 of the storefront.
    const page = await get('/', {});
    const again = await get('/nowhere', { accept: 'text/html', 'if-none-match': String(page.headers.etag) });
    expect(again.statusCode).toBe(404);
  });

  it('leaves the API, its 404s and the operations endpoints as they were', async () => {
    const unknown = await get('/v1/nope', { accept: 'text/html' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await get('/v1/products')).statusCode).toBe(200);
    expect((await get('/livez')).json()).toEqual({ status: 'ok' });
    expect((await get('/docs')).statusCode).toBeLessThan(400);
    const openapi = (await get('/openapi.json')).json();
    expect(Object.keys(openapi.paths)).not.toContain('/');
    expect(Object.keys(openapi.paths)).not.toContain('/admin/*');
    const post = await system.app.inject({ method: 'POST', url: '/cart' });
    expect(post.statusCode).toBe(405);
  });
});

describe('web module without a build', () => {
  it('answers the pages 503 WEB_NOT_BUILT, saying how to build, and the API still works', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'emporium-web-empty-'));
    const system = await createTestSystem('pglite', {}, { webDistDir: empty });
    try {
      const page = await system.app.inject({ method: 'GET', url: '/checkout' });
      expect(page.statusCode).toBe(503);
      expect(page.json()).toMatchObject({ code: 'WEB_NOT_BUILT' });
      expect(page.json().detail).toContain('npm run build:web');
      expect((await system.app.inject({ method: 'GET', url: '/v1/products' })).statusCode).toBe(200);
    } finally {
      await system.dispose();
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('the pages’ CSP with Stripe’s Payment Element', () => {
  it('adds exactly the origins Stripe documents for it, and nothing without Stripe', () => {
    expect(PAGE_CSP).not.toMatch(/stripe|frame-src/);
    const csp = pageCsp({ publishableKey: 'pk_test_abc', jsUrl: 'https://js.stripe.com/v3/' });
    const directive = (name: string) => csp.split('; ').find((part) => part.startsWith(`${name} `));
    expect(directive('script-src')).toBe("script-src 'self' https://js.stripe.com https://*.js.stripe.com");
    expect(directive('frame-src')).toBe(
      'frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com',
    );
    expect(directive('connect-src')).toBe("connect-src 'self' https://api.stripe.com");
    expect(directive('img-src')).toBe("img-src 'self' data: https://*.stripe.com");
    expect(directive('frame-ancestors')).toBe("frame-ancestors 'none'");
  });

  it('names the one origin of an emulator instead, when Stripe.js and the API are pointed there', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'emporium-web-'));
    await fakeBuild(dir);
    const system = await createTestSystem(
      'pglite',
      {
        PAYMENTS_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: 'sk_test_abc',
        STRIPE_WEBHOOK_SECRET: 'whsec_abc',
        STRIPE_PUBLISHABLE_KEY: 'pk_test_abc',
        STRIPE_API_BASE: 'http://127.0.0.1:4010',
        STRIPE_JS_URL: 'http://127.0.0.1:4010/v3/',
      },
      { webDistDir: dir },
    );
    try {
      const page = await system.app.inject({ method: 'GET', url: '/checkout' });
      expect(page.headers['content-security-policy']).toContain("script-src 'self' http://127.0.0.1:4010;");
      expect(page.headers['content-security-policy']).toContain("connect-src 'self' http://127.0.0.1:4010;");
      expect(page.body).toContain(
        '<meta name="emporium-stripe" content="{&quot;key&quot;:&quot;pk_test_abc&quot;,&quot;js&quot;:&quot;http://127.0.0.1:4010/v3/&quot;}" />',
      );
    } finally {
      await system.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
