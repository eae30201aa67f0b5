/**
 * Who is asking for a WHIP/WHEP session, and whether they may have one now: the client address
 * (the socket's, or what a trusted proxy says: ONAIR_TRUSTED_PROXIES, or the site's own proxy
 * proving itself with a key derived from the admin token — the same rule as the web and the
 * transcoder, packages/shared/src/trusted-proxies.ts), the POST rate, and the slots a session
 * holds (session-limits.ts): a pending one until it connects or closes, and for an anonymous WHEP
 * viewer an ONAIR_MAX_VIEWERS one until it closes.
 * Refusals carry Retry-After and are logged with the client address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isOnairError } from '@onair/shared/errors';
import type { Logger } from '@onair/service/logger';
import { isSiteProxy, SITE_PROXY_HEADER } from '@onair/service/site-proxy';
import type { IngestConfig } from '../config';
import type { AnySession, SessionKind } from '../router/sessions';
import { type PendingRole, SessionLimits } from './session-limits';

export class SessionAdmission {
  readonly limits: SessionLimits;

  constructor(private readonly config: IngestConfig) {
    this.limits = new SessionLimits(config.sessions);
  }

  /** The client's address for this request, as logged and limited. */
  clientOf(req: IncomingMessage): string {
    const viaSiteProxy = isSiteProxy(req.headers[SITE_PROXY_HEADER], this.config.adminToken);
    return this.config.trustedProxies.clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], viaSiteProxy || undefined);
  }

  /** Counts a session POST (and for WHEP, refuses early at ONAIR_MAX_VIEWERS); throws 429/503 with Retry-After. */
  admitPost(client: string, kind: SessionKind, res: ServerResponse, log: Logger): void {
    this.refusing(client, res, log, () => {
      this.limits.admitPost(client);
      if (kind === 'whep') this.limits.checkViewers();
    });
  }

  /**
   * Holds a pending slot for `client` (`role`: see SessionLimits) while `create` runs and until the
   * session connects or closes, and for a viewer an ONAIR_MAX_VIEWERS slot until it closes. Both are
   * taken before `create` awaits anything: POSTs awaiting the engine all passed a check made earlier.
   */
  async hold<S extends AnySession>(client: string, role: PendingRole, res: ServerResponse, log: Logger, create: () => Promise<S>): Promise<S> {
    const { pending, viewer } = this.refusing(client, res, log, () => {
      const viewer = role === 'viewer' ? this.limits.reserveViewer() : undefined;
      try {
        return { pending: this.limits.reservePending(client, role), viewer };
      } catch (error) {
        viewer?.release();
        throw error;
      }
    });
    const release = () => {
      pending.release();
      viewer?.release();
    };
    let session: S;
    try {
      session = await create();
    } catch (error) {
      release();
      throw error;
    }
    if (session.closed) release();
    else {
      if (session.connected) pending.release();
      else session.once('connected', () => pending.release());
      session.once('closed', release);
    }
    return session;
  }

  private refusing<T>(client: string, res: ServerResponse, log: Logger, check: () => T): T {
    try {
      return check();
    } catch (error) {
      if (isOnairError(error)) {
        const retryAfterS = error.extensions.retryAfterS;
        if (typeof retryAfterS === 'number') res.setHeader('Retry-After', String(retryAfterS));
        log.warn({ client, code: error.code }, 'session request refused');
      }
      throw error;
    }
  }
}

