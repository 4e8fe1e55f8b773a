// TokenVendingClient: vends Momento tokens for one cache and topic from the token vending machine
// and keeps the current one. Mirrors the Python client (client/momento_tvm_client): refresh
// buffer (half-life for short tokens), single-flight, bounded retries honouring Retry-After,
// serving a still-valid token when a refresh fails. It never logs a token.

import {
  TokenVendingError,
  TokenVendingHttpError,
  TokenVendingNetworkError,
  TokenVendingTimeoutError,
} from './errors.js';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, VendedToken, parseErrorResponse, parseTokenResponse } from './parsing.js';

export const DEFAULT_REFRESH_BUFFER_SECONDS = 60;
export const DEFAULT_TIMEOUT_SECONDS = 5;
export const DEFAULT_STALE_RETRY_INTERVAL_SECONDS = 5;
export const PERMISSIONS = Object.freeze(['publish_subscribe', 'subscribe', 'publish']);

/**
 * @typedef {object} RetryOptions
 * @property {number} [maxAttempts] attempts including the first (default 3; 1 disables retries)
 * @property {number} [baseDelaySeconds] first backoff (default 0.2), doubled per attempt, with equal jitter
 * @property {number} [maxDelaySeconds] backoff cap (default 5)
 * @property {number} [maxRetryAfterSeconds] cap on a server's Retry-After (default 10)
 * @property {number[]} [retryStatuses] statuses retried (default [429, 503])
 * @property {boolean} [retryNetworkErrors] retry connection failures and timeouts (default true)
 */

/**
 * @typedef {object} Logger
 * @property {(...args: unknown[]) => void} [info]
 * @property {(...args: unknown[]) => void} [warn]
 */

/**
 * @typedef {Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)} HeadersOption
 */

/**
 * @typedef {object} TokenVendingClientOptions
 * @property {string} url the vending machine endpoint (POST)
 * @property {string} cacheName
 * @property {string} topicName
 * @property {'publish_subscribe' | 'subscribe' | 'publish'} [permission] sent only when given
 * @property {typeof globalThis.fetch} [fetch] default: the global fetch
 * @property {number} [refreshBufferSeconds] refresh once fewer seconds remain (default 60; at most half the token's life)
 * @property {HeadersOption} [headers] extra request headers, or a function returning them per request (an app's Authorization, say)
 * @property {() => number} [now] the clock in MILLISECONDS since the epoch, like Date.now (the default)
 * @property {(ms: number, signal?: AbortSignal) => Promise<void>} [sleep] how to wait between retries (default setTimeout)
 * @property {() => number} [random] jitter source in [0, 1) (default Math.random)
 * @property {number} [timeoutSeconds] per request (default 5)
 * @property {RetryOptions} [retry]
 * @property {boolean} [serveStaleOnError] return the cached, still-valid token when a refresh fails (default true)
 * @property {number} [staleRetryIntervalSeconds] after serving a stale token, next attempt this much later (default 5)
 * @property {number} [defaultTokenLifetimeSeconds] lifetime of a token answered without expiry (default 300)
 * @property {Logger | null} [logger] e.g. `console`; default silent. Messages never contain a token.
 * @property {RequestCredentials} [credentials] fetch's `credentials` (e.g. 'include' for cookie auth)
 */

/**
 * Sleeps `ms` milliseconds; rejects with the signal's reason when aborted.
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function defaultSleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class TokenVendingClient {
  /** @param {TokenVendingClientOptions} options */
  constructor(options) {
    const {
      url,
      cacheName,
      topicName,
      permission,
      fetch: fetchImpl,
      refreshBufferSeconds = DEFAULT_REFRESH_BUFFER_SECONDS,
      headers,
      now = Date.now,
      sleep = defaultSleep,
      random = Math.random,
      timeoutSeconds = DEFAULT_TIMEOUT_SECONDS,
      retry = {},
      serveStaleOnError = true,
      staleRetryIntervalSeconds = DEFAULT_STALE_RETRY_INTERVAL_SECONDS,
      defaultTokenLifetimeSeconds = DEFAULT_TOKEN_LIFETIME_SECONDS,
      logger = null,
      credentials,
    } = options ?? /** @type {TokenVendingClientOptions} */ ({});
    if (!url) throw new TypeError('url is required');
    if (!cacheName || !topicName) throw new TypeError('cacheName and topicName are required');
    if (permission !== undefined && !PERMISSIONS.includes(permission)) {
      throw new TypeError(`permission must be one of ${PERMISSIONS.join(', ')}`);
    }
    if (!(refreshBufferSeconds >= 0) || !(staleRetryIntervalSeconds >= 0) || !(defaultTokenLifetimeSeconds > 0)) {
      throw new RangeError('refreshBufferSeconds and staleRetryIntervalSeconds must be >= 0, defaultTokenLifetimeSeconds > 0');
    }
    if (!(timeoutSeconds > 0)) throw new RangeError('timeoutSeconds must be > 0');
    const resolvedFetch = fetchImpl ?? globalThis.fetch;
    if (typeof resolvedFetch !== 'function') throw new TypeError('no fetch available: pass options.fetch');

    this.url = url;
    this.cacheName = cacheName;
    this.topicName = topicName;
    this.permission = permission ?? null;
    // Called as a plain function: window.fetch throws "Illegal invocation" when called as a method
    // of another object. The global one is looked up per call, so a later polyfill or test double applies.
    this._fetch = fetchImpl ?? ((/** @type {Parameters<typeof fetch>} */ ...args) => globalThis.fetch(...args));
    this._headers = headers;
    this._credentials = credentials;
    this._body = JSON.stringify({ cacheName, topicName, ...(permission ? { permission } : {}) });
    this._refreshBuffer = refreshBufferSeconds;
    this._nowMs = now;
    this._sleep = sleep;
    this._random = random;
    this._timeoutMs = timeoutSeconds * 1000;
    this._retry = normalizeRetry(retry);
    this._serveStale = serveStaleOnError;
    this._staleRetryInterval = staleRetryIntervalSeconds;
    this._defaultLifetime = defaultTokenLifetimeSeconds;
    this._logger = logger;
    /** @type {{token: VendedToken, refreshAt: number} | null} */
    this._entry = null;
    /** @type {Promise<VendedToken> | null} */
    this._flight = null;
  }

  /**
   * The cached token while it is fresh, else a newly vended one. However many callers wait,
   * one request is in flight. Throws a `TokenVendingError` subclass when no valid token can be had.
   * @returns {Promise<VendedToken>}
   */
  getToken() {
    const fresh = this._freshToken();
    if (fresh) return Promise.resolve(fresh);
    if (!this._flight) {
      const flight = this._refresh().finally(() => {
        if (this._flight === flight) this._flight = null;
      });
      this._flight = flight;
    }
    return this._flight;
  }

  /** The cached token, fresh or not, without any request (null before the first vend). */
  get cachedToken() {
    return this._entry?.token ?? null;
  }

  /**
   * Unix seconds from which the cached token counts as due for refresh (null when none is cached).
   * Schedule a resubscription at this moment, e.g. with `watch()`.
   */
  get refreshAt() {
    return this._entry?.refreshAt ?? null;
  }

  /** Forget the cached token, so the next `getToken()` vends a new one (e.g. after Momento rejected it). */
  invalidate() {
    this._entry = null;
  }

  /**
   * Keep a token fresh in the background: calls `onToken` with the first token and again with
   * every new one, each time at the cached token's `refreshAt`, until `stop()`. `onError` gets
   * each failed refresh (the loop tries again `staleRetryIntervalSeconds` later, or after the
   * server's Retry-After). Use it to resubscribe a Momento topic client before its token expires.
   * @param {(token: VendedToken) => void | Promise<void>} onToken
   * @param {{onError?: (error: unknown) => void}} [options]
   * @returns {{stop: () => void, done: Promise<void>}}
   */
  watch(onToken, { onError } = {}) {
    const controller = new AbortController();
    const { signal } = controller;
    const loop = async () => {
      /** @type {VendedToken | null} */
      let last = null;
      while (!signal.aborted) {
        let waitSeconds;
        try {
          const token = await this.getToken();
          if (signal.aborted) return;
          if (token !== last) {
            await onToken(token); // when it throws, the same token is offered again after the pause
            last = token;
          }
          const refreshAt = this.refreshAt ?? this._nowSeconds();
          waitSeconds = Math.max(refreshAt - this._nowSeconds(), 0.05);
        } catch (error) {
          if (signal.aborted) return;
          onError?.(error);
          const retryAfter = error instanceof TokenVendingHttpError ? error.retryAfter : null;
          waitSeconds = Math.max(retryAfter ?? this._staleRetryInterval, 0.05);
        }
        try {
          await this._sleep(waitSeconds * 1000, signal);
        } catch {
          return; // aborted
        }
      }
    };
    const done = loop();
    return { stop: () => controller.abort(), done };
  }

  toString() {
    return `TokenVendingClient(url=${this.url}, cacheName=${this.cacheName}, topicName=${this.topicName})`;
  }

  // --- internals ------------------------------------------------------------------------------

  _nowSeconds() {
    return this._nowMs() / 1000;
  }

  _freshToken() {
    const entry = this._entry;
    return entry && this._nowSeconds() < entry.refreshAt ? entry.token : null;
  }

  /** @returns {Promise<VendedToken>} */
  async _refresh() {
    const fresh = this._freshToken();
    if (fresh) return fresh;
    try {
      return this._store(await this._vend());
    } catch (error) {
      const stale = error instanceof TokenVendingError ? this._staleAfterFailure(error) : null;
      if (stale) return stale;
      throw error;
    }
  }

  /**
   * A token shorter-lived than twice the buffer is refreshed at half its life, not at once.
   * @param {VendedToken} token
   */
  _store(token) {
    const lifetime = token.expiresAt - this._nowSeconds();
    const buffer = Math.min(this._refreshBuffer, lifetime / 2);
    this._entry = { token, refreshAt: token.expiresAt - buffer };
    return token;
  }

  /**
   * The still-valid cached token to serve after a failed refresh, or null to throw. Serving it
   * pushes the next attempt `staleRetryIntervalSeconds` away (never past expiry).
   * @param {TokenVendingError} error
   */
  _staleAfterFailure(error) {
    const entry = this._entry;
    const now = this._nowSeconds();
    if (!this._serveStale || !entry || now >= entry.token.expiresAt) return null;
    const { token } = entry;
    this._entry = { token, refreshAt: Math.min(now + this._staleRetryInterval, token.expiresAt) };
    this._logger?.warn?.(
      `token refresh failed (${error.message}); serving the cached token, valid for ${Math.round(token.expiresAt - now)} more seconds`,
    );
    return token;
  }

  /** @returns {Promise<VendedToken>} */
  async _vend() {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this._exchange();
      } catch (error) {
        const delay = this._delayBeforeRetry(error, attempt);
        if (delay === null) throw error;
        this._logger?.info?.(
          `token vend attempt ${attempt} failed (${/** @type {Error} */ (error).message}); retrying in ${delay.toFixed(2)} s`,
        );
        await this._sleep(delay * 1000);
      }
    }
  }

  /**
   * Seconds to wait before attempt `attempt + 1`, or null when `error` is final.
   * @param {unknown} error
   * @param {number} attempt
   * @returns {number | null}
   */
  _delayBeforeRetry(error, attempt) {
    const policy = this._retry;
    if (attempt >= policy.maxAttempts) return null;
    if (error instanceof TokenVendingHttpError) {
      if (!policy.retryStatuses.includes(error.status)) return null;
      if (error.retryAfter !== null) return Math.min(error.retryAfter, policy.maxRetryAfterSeconds);
    } else if (!(policy.retryNetworkErrors && error instanceof TokenVendingNetworkError)) {
      return null;
    }
    const backoff = Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** (attempt - 1));
    return backoff / 2 + (this._random() * backoff) / 2;
  }

  /** One HTTP exchange: a token, or a TokenVendingError. */
  async _exchange() {
    const extra = typeof this._headers === 'function' ? await this._headers() : this._headers;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this._timeoutMs);
    let response;
    let text;
    try {
      const fetchImpl = this._fetch;
      response = await fetchImpl(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...extra },
        body: this._body,
        signal: controller.signal,
        ...(this._credentials ? { credentials: this._credentials } : {}),
      });
      text = await response.text();
    } catch (cause) {
      if (controller.signal.aborted) {
        throw new TokenVendingTimeoutError(
          `token vending machine at ${this.url} did not answer within ${this._timeoutMs / 1000} s`,
          { cause },
        );
      }
      const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
      throw new TokenVendingNetworkError(`could not reach the token vending machine at ${this.url}: ${detail}`, {
        cause,
      });
    } finally {
      clearTimeout(timer);
    }
    const now = this._nowSeconds();
    if (response.status >= 200 && response.status < 300) {
      return parseTokenResponse(text, now, this._defaultLifetime);
    }
    throw parseErrorResponse(response.status, text, response.headers.get('retry-after'), now);
  }
}

/**
 * @param {RetryOptions} retry
 * @returns {Required<RetryOptions>}
 */
function normalizeRetry(retry) {
  const policy = {
    maxAttempts: 3,
    baseDelaySeconds: 0.2,
    maxDelaySeconds: 5,
    maxRetryAfterSeconds: 10,
    retryStatuses: [429, 503],
    retryNetworkErrors: true,
    ...retry,
  };
  if (!(policy.maxAttempts >= 1)) throw new RangeError('retry.maxAttempts must be at least 1');
  if (!(Math.min(policy.baseDelaySeconds, policy.maxDelaySeconds, policy.maxRetryAfterSeconds) >= 0)) {
    throw new RangeError('retry delays must not be negative');
  }
  return policy;
}
