/**
 * `/healthz`, `/metrics` and `/problems/<code>`, the same on every service. Health is a list of named checks; the
 * service is ready when all pass (200), else 503 with the reasons. Metrics use a registry per
 * service instance (not prom-client's global one) so several instances can share a process in
 * tests.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { OnairError } from '@onair/shared/errors';
import { problemPage } from '@onair/shared/problem-page';
import { sendJson, sendText, type Router } from './http';

export interface HealthCheck {
  name: string;
  /** Resolves to null when healthy, or to the reason it is not. */
  check(): Promise<string | null> | string | null;
}

export interface HealthReport {
  ready: boolean;
  service: string;
  checks: Record<string, { ok: boolean; reason?: string }>;
}

export async function runHealthChecks(service: string, checks: HealthCheck[]): Promise<HealthReport> {
  const report: HealthReport = { ready: true, service, checks: {} };
  for (const { name, check } of checks) {
    let reason: string | null;
    try {
      reason = await check();
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
    report.checks[name] = reason === null ? { ok: true } : { ok: false, reason };
    if (reason !== null) report.ready = false;
  }
  return report;
}

export function createMetricsRegistry(service: string, withProcessMetrics = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'onair_' });
  return registry;
}

export function registerOpsRoutes(router: Router, service: string, checks: HealthCheck[], registry: Registry): void {
  router.on('GET', '/healthz', async ({ res }) => {
    const report = await runHealthChecks(service, checks);
    sendJson(res, report.ready ? 200 : 503, report);
  });
  router.on('GET', '/metrics', async ({ res }) => {
    sendText(res, 200, await registry.metrics(), registry.contentType, { 'Cache-Control': 'no-store' });
  });
  // Where a problem's relative `type` (/problems/<code>) resolves to.
  router.on('GET', '/problems/:code', ({ res, params }) => {
    const page = problemPage(params.code ?? '');
    if (!page) throw new OnairError('not_found', `There is no problem code "${params.code}".`);
    sendText(res, 200, page, 'text/html; charset=utf-8', { 'Cache-Control': 'public, max-age=3600' });
  });
}
