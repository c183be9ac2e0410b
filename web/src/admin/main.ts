import '../styles.css';
import { html, nothing } from 'lit-html';
import { ADMIN_BASE } from '../../../src/modules/web/pages.ts';
import { signInPage as shopSignIn } from '../storefront/account.ts';
import { type AppContext, type Content, type Flash, mainView, type PageRoute, startApp } from '../ui.ts';
import { apiKeysPage } from './api-keys.ts';
import { collectionsPage } from './collections.ts';
import { customerPage, customersPage } from './customers.ts';
import { dashboardPage } from './dashboard.ts';
import { draftOrderPage, draftOrdersPage } from './draft-orders.ts';
import { exchangePage } from './exchange.ts';
import { giftCardsPage } from './gift-cards.ts';
import { followShop, liveNotices } from './live.ts';
import { locationsPage } from './locations.ts';
import { orderEditPage } from './order-edit.ts';
import { orderPage, ordersPage, returnsPage } from './orders.ts';
import { priceListsPage } from './price-lists.ts';
import { importPage } from './product-import.ts';
import { productFormPage, productsPage } from './products.ts';
import { promotionsPage } from './promotions.ts';
import { reviewsPage } from './reviews.ts';
import { installSearch, openSearch } from './search.ts';
import { settingsPage } from './settings.ts';
import { acceptInvitePage, staffPage } from './staff.ts';
import { taxPage } from './tax.ts';
import { webhookPage, webhooksPage } from './webhooks.ts';

/** What the signed-in person's role lets them do (a session saved before permissions existed: nothing). */
const permissionsOf = (ctx: Parameters<PageRoute['view']>[0]): readonly string[] =>
  ctx.api.session()?.user.permissions ?? [];

const staffOnly =
  (view: PageRoute['view']): PageRoute['view'] =>
  (ctx, params, query) => {
    // Any role with a permission runs part of the shop; each page's calls are checked by the API.
    if (permissionsOf(ctx).length > 0) return view(ctx, params, query);
    return html`<h1>Staff only</h1>
    <p>You are signed in as a customer. <a href="${ADMIN_BASE}/signin">Sign in with a staff account</a> or go
      <a href="/">back to the shop</a>.</p>`;
  };

/** A page whose calls all need one permission: without it, a sentence instead of refused calls. */
const holding =
  (permission: string, view: PageRoute['view']): PageRoute['view'] =>
  (ctx, params, query) => {
    if (permissionsOf(ctx).includes(permission)) return view(ctx, params, query);
    return html`<h1>Not for your role</h1>
    <p>Your role does not let you see this page. <a href="${ADMIN_BASE}">Back to the products</a></p>`;
  };

const routes: PageRoute[] = [
  {
    pattern: `${ADMIN_BASE}/signin`,
    title: () => 'Sign in',
    view: (ctx, params, query) => shopSignIn(ctx, params, withAdminNext(query)),
  },
  { pattern: ADMIN_BASE, title: () => 'Products', view: staffOnly(productsPage), signedIn: true },
  {
    pattern: `${ADMIN_BASE}/dashboard`,
    title: () => 'Dashboard',
    view: holding('orders:read', dashboardPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/settings`,
    title: () => 'Settings',
    view: staffOnly(settingsPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/webhooks`,
    title: () => 'Webhooks',
    view: holding('webhooks:read', webhooksPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/webhooks/:id`,
    title: () => 'Webhook',
    view: holding('webhooks:read', webhookPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/products/new`,
    title: () => 'New product',
    view: staffOnly(productFormPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/products/:id`,
    title: () => 'Edit product',
    view: staffOnly(productFormPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/import`,
    title: () => 'Import and export',
    view: staffOnly(importPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/collections`,
    title: () => 'Collections',
    view: staffOnly(collectionsPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/locations`,
    title: () => 'Stock locations',
    view: staffOnly(locationsPage),
    signedIn: true,
  },
  { pattern: `${ADMIN_BASE}/orders`, title: () => 'Orders', view: staffOnly(ordersPage), signedIn: true },
  {
    pattern: `${ADMIN_BASE}/orders/:id`,
    title: (params) => `Order ${params.id.slice(-8)}`,
    view: staffOnly(orderPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/draft-orders`,
    title: () => 'Draft orders',
    view: staffOnly(draftOrdersPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/draft-orders/:id`,
    title: () => 'Draft order',
    view: staffOnly(draftOrderPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/orders/:id/edit`,
    title: (params) => `Edit order ${params.id.slice(-8)}`,
    view: staffOnly(orderEditPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/gift-cards`,
    title: () => 'Gift cards',
    view: staffOnly(giftCardsPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/promotions`,
    title: () => 'Promotions',
    view: staffOnly(promotionsPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/price-lists`,
    title: () => 'Price lists',
    view: staffOnly(priceListsPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/tax`,
    title: () => 'Tax and regions',
    view: staffOnly(taxPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/customers`,
    title: () => 'Customers',
    view: staffOnly(customersPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/customers/:id`,
    title: () => 'Customer',
    view: staffOnly(customerPage),
    signedIn: true,
  },
  { pattern: `${ADMIN_BASE}/returns`, title: () => 'Returns', view: staffOnly(returnsPage), signedIn: true },
  {
    pattern: `${ADMIN_BASE}/returns/:id/exchange`,
    title: () => 'Exchange',
    view: staffOnly(exchangePage),
    signedIn: true,
  },
  { pattern: `${ADMIN_BASE}/reviews`, title: () => 'Reviews', view: staffOnly(reviewsPage), signedIn: true },
  {
    pattern: `${ADMIN_BASE}/api-keys`,
    title: () => 'API keys',
    view: holding('staff:write', apiKeysPage),
    signedIn: true,
  },
  {
    pattern: `${ADMIN_BASE}/staff`,
    title: () => 'Staff and roles',
    view: holding('staff:read', staffPage),
    signedIn: true,
  },
  { pattern: `${ADMIN_BASE}/invite`, title: () => 'Join the staff', view: acceptInvitePage },
];

/** After signing in here, go on in the console, not to the shop's front page. */
function withAdminNext(query: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(query);
  if (!next.get('next')?.startsWith(ADMIN_BASE)) next.set('next', ADMIN_BASE);
  return next;
}

function layout(ctx: AppContext, content: Content, flash: Flash | null) {
  const user = ctx.api.session()?.user;
  // Staff get the shop's live feed and the global search; a sign-out stops the feed.
  followShop(ctx);
  if (user && permissionsOf(ctx).length > 0) installSearch(ctx);
  const signOut = async () => {
    await ctx.api.signOut();
    ctx.navigate(`${ADMIN_BASE}/signin`);
  };
  return html`
    <header class="site admin">
      <a class="brand" href="${ADMIN_BASE}">Emporium admin</a>
      <nav aria-label="Admin">
        ${
          user
            ? html`${permissionsOf(ctx).includes('orders:read') ? html`<a href="${ADMIN_BASE}/dashboard">Dashboard</a>` : nothing}
              <a href="${ADMIN_BASE}">Products</a> <a href="${ADMIN_BASE}/collections">Collections</a>
              <a href="${ADMIN_BASE}/locations">Locations</a>
              <a href="${ADMIN_BASE}/orders">Orders</a> <a href="${ADMIN_BASE}/draft-orders">Draft orders</a>
              <a href="${ADMIN_BASE}/customers">Customers</a>
              <a href="${ADMIN_BASE}/promotions">Promotions</a> <a href="${ADMIN_BASE}/gift-cards">Gift cards</a> <a href="${ADMIN_BASE}/price-lists">Price lists</a>
              <a href="${ADMIN_BASE}/tax">Tax and regions</a>
              <a href="${ADMIN_BASE}/returns">Returns</a> <a href="${ADMIN_BASE}/reviews">Reviews</a>
              ${permissionsOf(ctx).includes('staff:read') ? html`<a href="${ADMIN_BASE}/staff">Staff</a>` : nothing}
              ${permissionsOf(ctx).includes('staff:write') ? html`<a href="${ADMIN_BASE}/api-keys">API keys</a>` : nothing}
              ${permissionsOf(ctx).includes('webhooks:read') ? html`<a href="${ADMIN_BASE}/webhooks">Webhooks</a>` : nothing}
              <a href="${ADMIN_BASE}/settings">Settings</a>
              <button type="button" class="link" @click=${openSearch} aria-keyshortcuts="Control+K">Jump to <kbd>Ctrl K</kbd></button>
              <a href="/">Shop</a>
              <span class="muted">${user.name} (${user.role === 'admin' ? 'administrator' : user.role})</span>
              <button type="button" class="link" @click=${signOut}>Sign out</button>`
            : html`<a href="/">Shop</a>`
        }
      </nav>
    </header>
    ${liveNotices(ctx)}
    ${mainView(content, flash)}
  `;
}

startApp({
  appName: () => 'Emporium admin',
  base: ADMIN_BASE,
  signInPath: `${ADMIN_BASE}/signin`,
  routes,
  layout,
  notFound: () => html`<h1>Page not found</h1><p><a href="${ADMIN_BASE}">Back to products</a></p>`,
});
