import '../styles.css';
import { html, nothing } from 'lit-html';
import type { STOREFRONT_PAGES } from '../../../src/modules/web/pages.ts';
import type { StoreSettings } from '../types.ts';
import {
  type AppContext,
  type Content,
  type Flash,
  mainView,
  type PageRoute,
  STORE_LOCALES,
  shopperLocale,
  startApp,
} from '../ui.ts';
import {
  forgotPasswordPage,
  registerPage,
  resetPasswordPage,
  signInPage,
  verifyEmailPage,
} from './account.ts';
import { cartPage, checkoutPage } from './cart.ts';
import { catalogPage, productPage } from './catalog.ts';
import { orderPage, ordersPage } from './orders.ts';
import { payPage } from './pay.ts';
import { accountPage } from './profile.ts';

type Pattern = (typeof STOREFRONT_PAGES)[number];

// Keyed by the server's page list: a page added there without a view here fails to compile.
const pages: Record<Pattern, Omit<PageRoute, 'pattern'>> = {
  '/': { title: () => 'Shop', view: catalogPage },
  '/products/:id': { title: () => 'Product', view: productPage },
  // A visitor who is not signed in shops as a guest.
  '/cart': { title: () => 'Cart', view: cartPage },
  '/checkout': { title: () => 'Checkout', view: checkoutPage },
  '/signin': { title: () => 'Sign in', view: signInPage },
  '/register': { title: () => 'Create an account', view: registerPage },
  '/verify-email': { title: () => 'Confirm your email', view: verifyEmailPage },
  '/forgot-password': { title: () => 'Forgot your password', view: forgotPasswordPage },
  '/reset-password': { title: () => 'Choose a new password', view: resetPasswordPage },
  // A draft order's payment link: whoever holds its token pays it.
  '/pay': { title: () => 'Pay your order', view: payPage },
  '/orders': { title: () => 'Your orders', view: ordersPage, signedIn: true },
  // A guest opens their order with its token (from checkout, or the mail's link).
  '/orders/:id': { title: (params) => `Order ${params.id.slice(-8)}`, view: orderPage },
  '/account': { title: () => 'Your account', view: accountPage, signedIn: true },
};

/** The shop's details as staff set them (GET /v1/store), once they have loaded. */
let shop: StoreSettings | undefined;
const shopName = () => shop?.name ?? 'Emporium';

/** A language by its own name (Deutsch, français), as people look for theirs. */
const languageName = (locale: string) => {
  const name = new Intl.DisplayNames([locale], { type: 'language' }).of(locale) ?? locale;
  return name[0].toLocaleUpperCase(locale) + name.slice(1);
};

function layout(ctx: AppContext, content: Content, flash: Flash | null) {
  const user = ctx.api.session()?.user;
  const chooseLanguage = (event: Event) => {
    shopperLocale.set((event.currentTarget as HTMLSelectElement).value);
    document.documentElement.lang = shopperLocale.get();
    void ctx.refresh();
  };
  const signOut = async () => {
    await ctx.api.signOut();
    ctx.navigate('/');
  };
  return html`
    <header class="site">
      <a class="brand" href="/">${shopName()}</a>
      <nav aria-label="Main">
        <a href="/">Shop</a>
        ${
          user
            ? html`<a href="/cart">Cart</a> <a href="/orders">Orders</a> <a href="/account">Account</a>
              ${user.role !== 'customer' ? html`<a href="/admin/">Admin</a>` : nothing}
              <span class="muted" data-testid="signed-in-as">${user.name}</span>
              <button type="button" class="link" @click=${signOut}>Sign out</button>`
            : html`<a href="/cart">Cart</a> <a href="/signin">Sign in</a> <a href="/register">Create account</a>`
        }
      </nav>
      ${
        STORE_LOCALES.length > 1
          ? html`<label class="language">Language
            <select @change=${chooseLanguage}>
              ${STORE_LOCALES.map(
                (locale) =>
                  html`<option value=${locale} ?selected=${locale === shopperLocale.get()}>${languageName(locale)}</option>`,
              )}
            </select></label>`
          : nothing
      }
    </header>
    ${mainView(content, flash)}
    <footer class="site">
      ${
        shop?.supportEmail || shop?.address
          ? html`<p data-testid="shop-contact">${shopName()}${shop.address ? ` · ${shop.address.line1}, ${shop.address.postalCode} ${shop.address.city}` : ''}${
              shop.supportEmail
                ? html` · Questions? <a href="mailto:${shop.supportEmail}">${shop.supportEmail}</a>`
                : nothing
            }</p>`
          : nothing
      }
      <p class="muted">Runs on Emporium, open-source commerce. Sandbox payments: no real money moves.</p>
    </footer>
  `;
}

// The page speaks the shopper's language from the first paint (screen readers, hyphenation).
document.documentElement.lang = shopperLocale.get();

const ctx = startApp({
  appName: shopName,
  base: '/',
  signInPath: '/signin',
  routes: Object.entries(pages).map(([pattern, page]) => ({ pattern, ...page })),
  layout,
  notFound: () => html`<h1>Page not found</h1><p><a href="/">Back to the shop</a></p>`,
  guests: true,
});

// The shop's name and contact come from its settings: the page redraws with them once loaded.
void ctx.api
  .get<StoreSettings>('/v1/store')
  .then((loaded) => {
    shop = loaded;
    document.title = document.title.replace(/ · [^·]*$/, ` · ${loaded.name}`);
    ctx.redraw();
  })
  .catch(() => undefined);
