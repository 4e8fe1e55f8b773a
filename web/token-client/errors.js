// The errors the client throws: one base class, one subclass per way a vend can fail.
// Messages never contain a token: a 2xx body that fails to parse is described, never echoed.

export const BODY_EXCERPT_CHARS = 200;

/** Base class of every error the token client throws. */
export class TokenVendingError extends Error {
  /**
   * @param {string} message
   * @param {{cause?: unknown}} [options]
   */
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The vending machine answered with a non-2xx status.
 *
 * `code`, `serverMessage` and `details` come from a JSON error body
 * (`{"error": ..., "message": ..., "details": [...]}`); for any other body `code` is null and
 * `serverMessage` is the start of the body text. `message` (the standard Error field) reads
 * `token vending machine answered HTTP 403 forbidden: <serverMessage>`. `retryAfter` is the
 * server's `Retry-After` in seconds (from delta-seconds or an HTTP date), or null.
 */
export class TokenVendingHttpError extends TokenVendingError {
  /**
   * @param {{status: number, code?: string | null, serverMessage?: string, body?: string,
   *   details?: unknown[] | null, retryAfter?: number | null}} fields
   */
  constructor({ status, code = null, serverMessage = '', body = '', details = null, retryAfter = null }) {
    const codePart = code ? ` ${code}` : '';
    const textPart = serverMessage ? `: ${serverMessage}` : '';
    super(`token vending machine answered HTTP ${status}${codePart}${textPart}`);
    /** @type {number} */
    this.status = status;
    /** @type {string | null} the JSON body's `error` field, e.g. `forbidden`, `rate_limited` */
    this.code = code;
    /** @type {string} the JSON body's `message` (or the start of a non-JSON body) */
    this.serverMessage = serverMessage;
    /** @type {unknown[] | null} */
    this.details = details;
    /** @type {string} the whole response body */
    this.body = body;
    /** @type {number | null} seconds */
    this.retryAfter = retryAfter;
  }
}

/** No HTTP answer: the connection failed, broke, CORS refused it, or the request could not be sent. */
export class TokenVendingNetworkError extends TokenVendingError {}

/** The vending machine did not answer within `timeoutSeconds`. */
export class TokenVendingTimeoutError extends TokenVendingNetworkError {}

/** A 2xx answer that is not a usable token response (not JSON, missing or bad fields, already expired). */
export class TokenVendingResponseError extends TokenVendingError {}

/**
 * The start of `text` on one line, marked when cut.
 * @param {string} text
 * @param {number} [limit]
 */
export function excerpt(text, limit = BODY_EXCERPT_CHARS) {
  const flat = text.split(/\s+/).filter(Boolean).join(' ');
  return flat.length <= limit ? flat : `${flat.slice(0, limit)}…`;
}
