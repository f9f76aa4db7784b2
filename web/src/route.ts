import { useEffect, useState } from 'react';

/** Where the app is: kept in the URL's hash, so a reload or a shared link lands on the same page. */
export type Route =
  | { readonly page: 'home' }
  | { readonly page: 'new' }
  | {
      readonly page: 'settings' | 'configuration' | 'promote' | 'runs' | 'audit';
      readonly workspaceId: string;
    };

const WORKSPACE_PAGES = ['settings', 'configuration', 'promote', 'runs', 'audit'] as const;

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'new') return { page: 'new' };
  const page = WORKSPACE_PAGES.find((p) => p === parts[2]);
  if (parts[0] === 'w' && parts[1] && page) return { page, workspaceId: parts[1] };
  return { page: 'home' };
}

export function href(route: Route): string {
  if (route.page === 'home') return '#/';
  if (route.page === 'new') return '#/new';
  return `#/w/${encodeURIComponent(route.workspaceId)}/${route.page}`;
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
