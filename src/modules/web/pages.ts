/**
 * The front end's page paths (find-my-way syntax). The server answers each with its app's
 * index.html and the browser router draws the page, so a deep link or a reload works; any other
 * path is a 404: the storefront's "Page not found" for a browser, problem+json for an API client. The storefront's router imports this list: one source for both.
 */
export const STOREFRONT_PAGES = [
  '/',
  '/products/:id',
  '/cart',
  '/checkout',
  '/signin',
  '/register',
  '/verify-email',
  '/forgot-password',
  '/reset-password',
  '/pay',
  '/orders',
  '/orders/:id',
  '/account',
] as const;

/** The admin console lives under this path; every page below it is the admin app. */
export const ADMIN_BASE = '/admin';
