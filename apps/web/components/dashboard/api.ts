/**
 * Browser-side calls to the dashboard's own route handlers (same origin; the session cookie goes
 * along). Errors come back as problem+json; `DashboardApiError` keeps its detail and issues so
 * forms can show them.
 */
export class DashboardApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly issues: string[] = [],
  ) {
    super(detail);
  }
}

let leaving = false;

/**
 * Leaves the dashboard for `url`, once: the sign-out button, the event stream's `signed-out` and
 * a 401 can all want to, and two navigations at once abort each other.
 */
export function leaveDashboard(url: string): void {
  if (leaving) return;
  leaving = true;
  window.location.assign(url);
}

/** Signs out: claims the navigation first, so the `signed-out` event it causes cannot race it. */
export async function signOut(): Promise<void> {
  if (leaving) return;
  leaving = true;
  await fetch('/dashboard/api/session', { method: 'DELETE' }).catch(() => undefined);
  window.location.assign('/dashboard/login');
}

export async function api<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`/dashboard/api${path}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    cache: 'no-store',
  });
  if (res.status === 401) {
    leaveDashboard('/dashboard/login?expired=1');
    throw new DashboardApiError(401, 'missing_credentials', 'Signed out.');
  }
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok) {
    const body = type.includes('json') ? ((await res.json().catch(() => ({}))) as { code?: string; detail?: string; title?: string; issues?: unknown }) : {};
    const issues = Array.isArray(body.issues) ? body.issues.map(String) : [];
    throw new DashboardApiError(res.status, body.code ?? 'error', body.detail ?? body.title ?? `HTTP ${res.status}`, issues);
  }
  if (res.status === 204) return undefined as T;
  return (type.includes('json') ? res.json() : res.text()) as Promise<T>;
}
