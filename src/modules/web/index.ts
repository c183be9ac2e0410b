import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../platform/errors.ts';
import type { AppModule } from '../../platform/module.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import { notBuilt } from './errors.ts';
import { loadWebFiles, type WebFile } from './files.ts';
import { ADMIN_BASE, STOREFRONT_PAGES } from './pages.ts';

/** Where `vite build` writes (web/vite.config.ts); WEB_DIST_DIR may point elsewhere. */
export const DEFAULT_WEB_DIST = path.resolve(import.meta.dirname, '../../../web/dist');

/** Stripe as the storefront meets it: the Payment Element, loaded from Stripe.js. */
export interface StripeOnPages {
  publishableKey: string;
  /** Where Stripe.js loads from (Stripe's own, or an emulator's). */
  jsUrl: string;
  /** Where Stripe.js sends the card (Stripe's API, or an emulator's). */
  apiBase?: string;
}

const STRIPE_JS_ORIGIN = 'https://js.stripe.com';

/**
 * The pages' own policy, stricter than the API's default: no inline script or style at all (Vite
 * emits files), API calls and the order stream to this origin only, never framed. With Stripe's
 * Payment Element, exactly the origins Stripe documents for it are added: Stripe.js and its
 * frames, its API, and its images (or, in tests, the emulator's one origin).
 */
export function pageCsp(stripe?: StripeOnPages): string {
  const js = stripe && new URL(stripe.jsUrl).origin;
  const api = stripe && new URL(stripe.apiBase ?? 'https://api.stripe.com').origin;
  const stripes = js === STRIPE_JS_ORIGIN;
  const scripts = js ? [js, ...(stripes ? ['https://*.js.stripe.com'] : [])] : [];
  const frames = js ? [js, ...(stripes ? ['https://*.js.stripe.com', 'https://hooks.stripe.com'] : [])] : [];
  const images = stripes ? ['https://*.stripe.com'] : [];
  const list = (...sources: string[]) => sources.join(' ');
  return [
    "default-src 'self'",
    list("script-src 'self'", ...scripts),
    "style-src 'self'",
    list("img-src 'self' data:", ...images),
    "font-src 'self'",
    list("connect-src 'self'", ...(api ? [api] : [])),
    ...(frames.length ? [list('frame-src', ...frames)] : []),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const PAGE_CSP = pageCsp();

const IMMUTABLE = 'public, max-age=31536000, immutable';
// Revalidated on every use (a cheap 304 by ETag), so a deploy shows at the next page load.
const REVALIDATE = 'no-cache';

function accepts(request: FastifyRequest, encoding: string): boolean {
  const header = request.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';');
    return name.trim() === encoding && !params.some((param) => /^\s*q=0(\.0*)?\s*$/.test(param));
  });
}

function send(request: FastifyRequest, reply: FastifyReply, file: WebFile, csp: string, status = 200) {
  reply.code(status);
  reply.header('etag', file.etag);
  reply.header('cache-control', file.immutable ? IMMUTABLE : REVALIDATE);
  reply.header('vary', 'Accept-Encoding');
  if (file.type.startsWith('text/html')) reply.header('content-security-policy', csp);
  const ifNoneMatch = request.headers['if-none-match'];
  if (
    status === 200 &&
    typeof ifNoneMatch === 'string' &&
    ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag)
  ) {
    return reply.code(304).send();
  }
  reply.type(file.type);
  for (const encoding of ['br', 'gzip'] as const) {
    const encoded = accepts(request, encoding) ? file.encoded(encoding) : undefined;
    if (encoded) return reply.header('content-encoding', encoding).send(encoded);
  }
  return reply.send(file.body);
}

/** A build swapped in while this start read the old one (web/build.ts renames): read the new one. */
async function load(distDir: string, rewriteHtml: (html: string) => string): Promise<Map<string, WebFile>> {
  try {
    return await loadWebFiles(distDir, rewriteHtml);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return loadWebFiles(distDir, rewriteHtml);
  }
}

export interface WebModule extends AppModule {
  name: 'web';
  /** False when the build output was missing at start: pages then answer 503 WEB_NOT_BUILT. */
  built: boolean;
}

/**
 * Serves the storefront at / and the admin console at /admin from the Vite build in memory:
 * hashed assets cached for a year, pages revalidated each time, each page path of the apps
 * answered with its index.html. A browser asking for any other path gets the storefront's page
 * for it under a 404; an API client gets the problem+json 404.
 */
export async function createWeb(deps: {
  distDir?: string;
  storeCurrency: string;
  /** The catalog's languages, the shop's own first: the storefront offers them. */
  storeLocales: readonly string[];
  stripe?: StripeOnPages;
  logger: Logger;
}): Promise<WebModule> {
  const distDir = deps.distDir ?? DEFAULT_WEB_DIST;
  const built = existsSync(path.join(distDir, 'index.html'));
  const csp = pageCsp(deps.stripe);
  const attribute = (value: string) => value.replaceAll('&', '&amp;').replaceAll('"', '&quot;');
  // The pages learn the store's currency (prices typed in the admin are in it) and, with Stripe,
  // its publishable key and Stripe.js's address from meta tags.
  const withSettings = (html: string) =>
    html
      .replace(/(<meta name="emporium-store-currency" content=")[A-Z]{3}(")/, `$1${deps.storeCurrency}$2`)
      .replace(
        /(<meta name="emporium-store-locales" content=")[^"]*(")/,
        `$1${attribute(deps.storeLocales.join(','))}$2`,
      )
      .replace(
        /(<meta name="emporium-stripe" content=")(")/,
        `$1${deps.stripe ? attribute(JSON.stringify({ key: deps.stripe.publishableKey, js: deps.stripe.jsUrl })) : ''}$2`,
      );
  const files = built ? await load(distDir, withSettings) : new Map<string, WebFile>();
  if (!built) deps.logger.warn({ distDir }, 'web front end not built: / and /admin answer 503');
  const storefront = files.get('/index.html');
  const admin = files.get('/admin/index.html');
  const page = (file: WebFile | undefined) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (!file) throw notBuilt();
    return send(request, reply, file, csp);
  };
  const hidden = { schema: { hide: true } };

  return {
    name: 'web',
    built,
    // The storefront draws its own "Page not found", with the shop around it, under a real 404.
    notFoundPage: (request, reply) => (storefront ? send(request, reply, storefront, csp, 404) : undefined),
    rootRoutes(app: FastifyInstance) {
      for (const url of STOREFRONT_PAGES) app.get(url, hidden, page(storefront));
      app.get(ADMIN_BASE, hidden, page(admin));
      app.get(`${ADMIN_BASE}/*`, hidden, page(admin));
      app.get<{ Params: { '*': string } }>('/assets/*', hidden, async (request, reply) => {
        const file = files.get(`/assets/${request.params['*']}`);
        if (!file) throw notFound('Asset');
        return send(request, reply, file, csp);
      });
      // Top-level files of the build (favicon, robots.txt), each on its own route.
      for (const [url, file] of files) {
        if (url.split('/').length === 2 && url !== '/index.html') {
          app.get(url, hidden, async (request, reply) => send(request, reply, file, csp));
        }
      }
    },
  };
}
