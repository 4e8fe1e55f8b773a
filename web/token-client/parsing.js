// Turning vending-machine answers into tokens and errors: pure functions, no I/O (mirrors the
// Python client's parsing.py).
//
// Accepted token responses (snake_case or camelCase keys):
// - `auth_token` / `authToken`: a non-empty string (required);
// - `expires_at` / `expiresAt`: Unix seconds (number or numeric string; values above 1e11 are taken
//   as milliseconds) or an ISO-8601 timestamp (without a zone means UTC);
// - else `expires_in` / `expiresIn`: seconds from the moment the answer was received;
// - with neither, the token is assumed to live `DEFAULT_TOKEN_LIFETIME_SECONDS` (5 minutes).

import { TokenVendingHttpError, TokenVendingResponseError, excerpt } from './errors.js';

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;
const MILLISECONDS_THRESHOLD = 1e11;
const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A vended token: `authToken` (for Momento, base64 of JSON `{"endpoint", "api_key"}`) and
 * `expiresAt` in Unix seconds. `toString()`, `toJSON()` and Node's `util.inspect` never show
 * the token, so logging one by accident does not leak it.
 */
export class VendedToken {
  /**
   * @param {string} authToken
   * @param {number} expiresAt Unix seconds
   */
  constructor(authToken, expiresAt) {
    /** @type {string} */
    this.authToken = authToken;
    /** @type {number} */
    this.expiresAt = expiresAt;
    Object.freeze(this);
  }

  /** `expiresAt` as a Date. */
  get expiresAtDate() {
    return new Date(this.expiresAt * 1000);
  }

  toString() {
    return `VendedToken(authToken=<redacted, ${this.authToken.length} chars>, expiresAt=${this.expiresAtDate.toISOString()})`;
  }

  toJSON() {
    return { authToken: '<redacted>', expiresAt: this.expiresAt };
  }

  [INSPECT]() {
    return this.toString();
  }
}

/**
 * Parse a 2xx body into a token, or throw `TokenVendingResponseError` (never echoing the body).
 * @param {string} text the response body
 * @param {number} now Unix seconds when the answer arrived
 * @param {number} [defaultLifetime] seconds
 * @returns {VendedToken}
 */
export function parseTokenResponse(text, now, defaultLifetime = DEFAULT_TOKEN_LIFETIME_SECONDS) {
  let payload;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new TokenVendingResponseError('token response is not valid JSON');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    const kind = payload === null ? 'null' : Array.isArray(payload) ? 'array' : typeof payload;
    throw new TokenVendingResponseError(`token response is a JSON ${kind}, not an object`);
  }
  const authToken = first(payload, 'auth_token', 'authToken');
  if (typeof authToken !== 'string' || authToken === '') {
    throw new TokenVendingResponseError("token response has no non-empty string 'auth_token'");
  }
  const expiresAtRaw = first(payload, 'expires_at', 'expiresAt');
  const expiresInRaw = first(payload, 'expires_in', 'expiresIn');
  let expiresAt;
  if (expiresAtRaw !== undefined) {
    expiresAt = parseExpiresAt(expiresAtRaw);
  } else if (expiresInRaw !== undefined) {
    expiresAt = now + parseSeconds(expiresInRaw, 'expires_in');
  } else {
    expiresAt = now + defaultLifetime;
  }
  if (expiresAt <= now) {
    throw new TokenVendingResponseError('token response carries a token that has already expired');
  }
  return new VendedToken(authToken, expiresAt);
}

/**
 * The error for a non-2xx answer: the JSON error body when there is one, else its text.
 * @param {number} status
 * @param {string} text the response body
 * @param {string | null} retryAfterHeader
 * @param {number} now Unix seconds
 * @returns {TokenVendingHttpError}
 */
export function parseErrorResponse(status, text, retryAfterHeader, now) {
  let code = null;
  let serverMessage = excerpt(text);
  let details = null;
  let payload;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = undefined;
  }
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    if (typeof payload.error === 'string') code = payload.error;
    if (typeof payload.message === 'string') serverMessage = excerpt(payload.message);
    else if (code !== null) serverMessage = '';
    if (Array.isArray(payload.details)) details = payload.details;
  }
  return new TokenVendingHttpError({
    status,
    code,
    serverMessage,
    body: text,
    details,
    retryAfter: parseRetryAfter(retryAfterHeader, now),
  });
}

/**
 * `Retry-After` in seconds from `now`: delta-seconds or an HTTP date; null when absent or bad.
 * @param {string | null | undefined} value
 * @param {number} now Unix seconds
 * @returns {number | null}
 */
export function parseRetryAfter(value, now) {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  let seconds;
  if (NUMERIC.test(trimmed)) {
    seconds = Number(trimmed);
  } else {
    const millis = Date.parse(trimmed);
    if (Number.isNaN(millis)) return null;
    seconds = millis / 1000 - now;
  }
  if (!Number.isFinite(seconds)) return null;
  return Math.max(0, seconds);
}

/**
 * @param {Record<string, unknown>} payload
 * @param {...string} keys
 */
function first(payload, ...keys) {
  for (const key of keys) {
    if (payload[key] !== null && payload[key] !== undefined) return payload[key];
  }
  return undefined;
}

/** @param {unknown} raw */
function parseExpiresAt(raw) {
  if (typeof raw === 'string' && !NUMERIC.test(raw)) return parseIso8601(raw);
  const seconds = parseSeconds(raw, 'expires_at');
  return seconds > MILLISECONDS_THRESHOLD ? seconds / 1000 : seconds;
}

/** @param {string} raw */
function parseIso8601(raw) {
  // A date-time without a zone is UTC (as in the Python client), not local time as Date.parse has it.
  const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(raw.trim()) ? `${raw.trim()}Z` : raw;
  const millis = /^\d{4}-\d{2}-\d{2}/.test(iso.trim()) ? Date.parse(iso.replace(' ', 'T')) : NaN;
  if (Number.isNaN(millis)) {
    throw new TokenVendingResponseError("token response 'expires_at' is neither Unix seconds nor ISO-8601");
  }
  return millis / 1000;
}

/**
 * @param {unknown} raw
 * @param {string} field
 */
function parseSeconds(raw, field) {
  if (typeof raw === 'string') {
    if (!NUMERIC.test(raw)) throw new TokenVendingResponseError(`token response '${field}' is not a number`);
    raw = Number(raw);
  }
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    throw new TokenVendingResponseError(`token response '${field}' is not a finite number`);
  }
  return raw;
}
