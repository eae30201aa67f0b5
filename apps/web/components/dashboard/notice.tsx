/** A boxed message that tells the operator what is wrong and what to do about it. */
import type { ReactNode } from 'react';
import styles from './dashboard.module.css';

export function Notice({ tone = 'info', title, children, testId }: { tone?: 'info' | 'warn' | 'error'; title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className={`${styles.notice} ${styles[`notice_${tone}`]}`} role={tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      <strong>{title}</strong>
      {children ? <div className={styles.noticeBody}>{children}</div> : null}
    </div>
  );
}

/** What to do when a service cannot be reached or reports a known failure. */
export function ServiceProblem({ service, error, url }: { service: 'ingest' | 'transcoder'; error: { code: string; detail: string }; url: string }) {
  if (error.code === 'ffmpeg_missing') {
    return (
      <Notice tone="error" title="ffmpeg is not installed" testId={`${service}-problem`}>
        <p>{error.detail}</p>
        <p>
          Install it and restart: <code>sudo apt-get install -y ffmpeg</code>
        </p>
      </Notice>
    );
  }
  if (error.code === 'upstream_unreachable') {
    return (
      <Notice tone="error" title={`${service === 'ingest' ? 'Ingest' : 'Transcoder'} unreachable at ${url}`} testId={`${service}-problem`}>
        <p>{error.detail}</p>
      </Notice>
    );
  }
  if (error.code === 'invalid_admin_token' || error.code === 'missing_credentials') {
    return (
      <Notice tone="error" title={`The ${service} refused the web server's admin token`} testId={`${service}-problem`}>
        <p>Start every service with the same ONAIR_ADMIN_TOKEN (npm start does). {error.detail}</p>
      </Notice>
    );
  }
  return (
    <Notice tone="error" title={`The ${service} reported a problem (${error.code})`} testId={`${service}-problem`}>
      <p>{error.detail}</p>
    </Notice>
  );
}

/** Failed health checks of either service, with the fix where it is known (ffmpeg → apt-get). */
export function HealthProblems({ service, report }: { service: 'ingest' | 'transcoder'; report: { checks: Record<string, { ok: boolean; reason?: string }> } | null }) {
  if (!report) return null;
  const failed = Object.entries(report.checks).filter(([, check]) => !check.ok);
  if (failed.length === 0) return null;
  return (
    <>
      {failed.map(([name, check]) =>
        name === 'ffmpeg' ? (
          <Notice key={name} tone="error" title="ffmpeg is not installed: nothing can be transcoded" testId="health-ffmpeg">
            <p>{check.reason}</p>
            <p>
              Install it: <code>sudo apt-get install -y ffmpeg</code> (Debian/Ubuntu). The transcoder picks it up without a restart.
            </p>
          </Notice>
        ) : (
          <Notice key={name} tone="warn" title={`${service === 'ingest' ? 'Ingest' : 'Transcoder'} not ready: ${name}`} testId={`health-${service}-${name}`}>
            <p>{check.reason ?? 'failing'}</p>
          </Notice>
        ),
      )}
    </>
  );
}
