/** Params of `path` when it matches `pattern` ("/orders/:id"), or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (const [index, part] of want.entries()) {
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(have[index]);
    else if (part !== have[index]) return null;
  }
  return params;
}

/**
 * History-API navigation: same-origin links inside `base` are followed without a page load, and
 * back/forward redraw the page. The server answers every page path with the app, so reloads work.
 */
export function startRouter(
  base: string,
  onNavigate: () => void,
): { navigate(to: string, replace?: boolean): void } {
  const navigate = (to: string, replace = false) => {
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
    window.scrollTo(0, 0);
    onNavigate();
  };
  document.addEventListener('click', (event) => {
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    const link = (event.target as Element).closest('a');
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href, location.href);
    const inApp = base === '/' ? !url.pathname.startsWith('/admin') : url.pathname.startsWith(base);
    if (url.origin !== location.origin || !inApp) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', onNavigate);
  return { navigate };
}
