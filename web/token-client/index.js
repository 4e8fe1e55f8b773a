// The Momento token vending machine client for browsers and Node (ES module, no dependencies).
// The sdk-web CredentialProvider helper lives in ./credentials.js (it imports @gomomento/sdk-web).
export {
  TokenVendingClient,
  DEFAULT_REFRESH_BUFFER_SECONDS,
  DEFAULT_STALE_RETRY_INTERVAL_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  PERMISSIONS,
} from './client.js';
export {
  TokenVendingError,
  TokenVendingHttpError,
  TokenVendingNetworkError,
  TokenVendingResponseError,
  TokenVendingTimeoutError,
} from './errors.js';
export {
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  VendedToken,
  parseErrorResponse,
  parseRetryAfter,
  parseTokenResponse,
} from './parsing.js';
