// From a vended token to the `@gomomento/sdk-web` CredentialProvider (mirrors the Python client's
// topics.py). A vended token is base64 of JSON `{"endpoint": ..., "api_key": "<jwt>"}`:
// - a real endpoint (`cell-1-....momentohq.com`) goes through `CredentialProvider.fromDisposableToken`,
//   and sdk-web then calls `https://web.cache.<endpoint>`;
// - an endpoint with an explicit port (`127.0.0.1:50051`, the local Momento service) means a local
//   server: every endpoint is overridden to plain `http://host:port` (sdk-web keeps an explicit
//   scheme and adds no `web.` prefix to overridden endpoints). The local gRPC-web port may differ
//   from the gRPC port in the token: pass `webEndpoint` to say where gRPC-web is served.

import { CredentialProvider } from '@gomomento/sdk-web';

/**
 * @typedef {object} DecodedVendedToken
 * @property {string} endpoint e.g. `cell-4-us-west-2-1.prod.a.momentohq.com` or `127.0.0.1:50051`
 * @property {string} apiKey the disposable key (a secret: never log it)
 */

/**
 * The endpoint and API key in a base64 JSON vended token; null for other formats (a bare JWT, say).
 * @param {string | {authToken: string}} vendedToken the `auth_token` string or a `VendedToken`
 * @returns {DecodedVendedToken | null}
 */
export function decodeVendedToken(vendedToken) {
  const authToken = tokenString(vendedToken);
  let info;
  try {
    info = JSON.parse(decodeBase64Utf8(authToken));
  } catch {
    return null;
  }
  if (info === null || typeof info !== 'object') return null;
  const { endpoint, api_key: apiKey } = info;
  if (typeof endpoint !== 'string' || typeof apiKey !== 'string' || !endpoint || !apiKey) return null;
  return { endpoint, apiKey };
}

/**
 * True for `host:port` (`127.0.0.1:50051`, `localhost:9000`, `[::1]:50051`): a local server.
 * @param {string} endpoint
 */
export function isLocalEndpoint(endpoint) {
  return /^(\[[0-9A-Fa-f:.]+\]|[^:/\s]+):\d{1,5}$/.test(endpoint);
}

/**
 * The base URL sdk-web should call for this token, or null when the SDK's own endpoints (from
 * the token, with `https://web.` in front) apply. An explicit `webEndpoint` always wins; a
 * `host:port` endpoint in the token gives `http://host:port`.
 * @param {string | {authToken: string}} vendedToken
 * @param {{webEndpoint?: string | null}} [options]
 * @returns {string | null}
 */
export function webEndpointFor(vendedToken, { webEndpoint } = {}) {
  if (webEndpoint) return normalizeWebEndpoint(webEndpoint);
  const decoded = decodeVendedToken(vendedToken);
  if (decoded && isLocalEndpoint(decoded.endpoint)) return `http://${decoded.endpoint}`;
  return null;
}

/**
 * The sdk-web `CredentialProvider` for a vended token.
 *
 * - `webEndpoint` (`"http://127.0.0.1:PORT"`, or `"127.0.0.1:PORT"` meaning plain http) forces
 *   every endpoint (cache, control, token) to that URL: the local gRPC-web server.
 * - Otherwise a `host:port` endpoint in the token gives `http://host:port`, and anything else is
 *   real Momento (`CredentialProvider.fromDisposableToken`).
 *
 * @param {string | {authToken: string}} vendedToken the `auth_token` string or a `VendedToken`
 * @param {{webEndpoint?: string | null}} [options]
 * @returns {import('@gomomento/sdk-web').CredentialProvider}
 */
export function credentialProviderFor(vendedToken, options = {}) {
  const authToken = tokenString(vendedToken);
  const base = webEndpointFor(authToken, options);
  if (base === null) {
    return CredentialProvider.fromDisposableToken({ authToken });
  }
  return CredentialProvider.fromDisposableToken({
    authToken,
    endpointOverrides: {
      cacheEndpoint: base,
      controlEndpoint: base,
      tokenEndpoint: base,
      secureConnection: base.startsWith('https://'),
    },
  });
}

/** @param {string} webEndpoint */
function normalizeWebEndpoint(webEndpoint) {
  const trimmed = webEndpoint.trim().replace(/\/+$/, '');
  if (/^https?:\/\//i.test(trimmed)) return trimmed;
  if (isLocalEndpoint(trimmed)) return `http://${trimmed}`;
  throw new TypeError(`webEndpoint must be http(s)://host[:port] or host:port, got ${JSON.stringify(webEndpoint)}`);
}

/** @param {string | {authToken: string}} vendedToken */
function tokenString(vendedToken) {
  const authToken = typeof vendedToken === 'string' ? vendedToken : vendedToken?.authToken;
  if (typeof authToken !== 'string' || !authToken) throw new TypeError('a vended token (string or {authToken}) is required');
  return authToken;
}

/**
 * Standard or URL-safe base64, padded or not, to a UTF-8 string (throws when it is not base64).
 * @param {string} text
 */
function decodeBase64Utf8(text) {
  const normalized = text.trim().replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normalized)) throw new Error('not base64');
  const padded = normalized.padEnd(normalized.length + ((4 - (normalized.length % 4)) % 4), '=');
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
