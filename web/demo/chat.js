// The chat demo's logic, free of the DOM and of the Momento SDK (both are passed in): read the room
// from the page's query, keep a token fresh with the token client's watch(), subscribe with every new
// token before the old one expires, and hand messages, state changes and problems to the page.

import { TokenVendingHttpError } from '../token-client/index.js';

export const ChatState = Object.freeze({
  VENDING: 'vending a token',
  SUBSCRIBING: 'subscribing',
  SUBSCRIBED: 'subscribed',
  RECONNECTING: 'reconnecting',
  REFUSED: 'refused',
  STOPPED: 'stopped',
});

export const DEFAULT_CACHE = 'SampleCache';
export const DEFAULT_TOPIC = 'sample-topic';

// What `?permission=` may ask the vending machine for: the default chats; `subscribe` makes a
// read-only viewer, whose sends Momento refuses (a token that may only publish could not show the chat).
export const PAGE_PERMISSIONS = Object.freeze(['publish_subscribe', 'subscribe']);

/**
 * The room and the permission a page asks for, from its query (`?cache=...&topic=...&permission=...`).
 * @param {string | URLSearchParams} query `window.location.search`, say
 * @returns {{cacheName: string, topicName: string, permission: 'publish_subscribe' | 'subscribe'}}
 */
export function chatOptionsFromQuery(query) {
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const permission = params.get('permission') || 'publish_subscribe';
  if (!PAGE_PERMISSIONS.includes(permission)) {
    throw new Error(`?permission= must be one of ${PAGE_PERMISSIONS.join(', ')}, not ${JSON.stringify(permission)}`);
  }
  return {
    cacheName: params.get('cache') || DEFAULT_CACHE,
    topicName: params.get('topic') || DEFAULT_TOPIC,
    permission: /** @type {'publish_subscribe' | 'subscribe'} */ (permission),
  };
}

/** An error response from Momento to a topic call (`code` is the SDK's error code, e.g. PERMISSION_ERROR). */
export class TopicError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   */
  constructor(message, code) {
    super(message);
    this.name = 'TopicError';
    this.code = code;
  }
}

/**
 * What the page shows when a send fails: Momento's error code for an error response from Momento
 * (`publish refused: PERMISSION_ERROR` for a subscribe-only token), else the error's message.
 * @param {unknown} error what `ChatSession.send` rejected with
 */
export function sendFailureText(error) {
  if (error instanceof TopicError) return `publish refused: ${error.code}`;
  return `not sent: ${describe(error)}`;
}

// After a subscription ends with an error, wait this long before vending and subscribing again.
export const RECONNECT_DELAY_MS = 1000;

/**
 * What `topicsFor(token)` returns: the topic calls made with one vended token.
 * @typedef {object} Topics
 * @property {(cacheName: string, topicName: string, handlers: SubscriptionHandlers) => Promise<{unsubscribe: () => void}>} subscribe
 *   resolves once the subscription is live; rejects when it cannot be made
 * @property {(cacheName: string, topicName: string, text: string) => Promise<void>} publish
 *   rejects with a TopicError when Momento answers with an error
 */

/**
 * @typedef {object} SubscriptionHandlers
 * @property {(item: {text: string, sequenceNumber: number}) => void} onItem
 * @property {(error: Error) => void} onError the subscription has ended
 * @property {() => void} onDiscontinuity the topic's sequence numbers jumped
 */

/**
 * @typedef {object} ChatSessionOptions
 * @property {Pick<import('../token-client/index.js').TokenVendingClient, 'watch' | 'invalidate'>} tokens
 * @property {(token: import('../token-client/index.js').VendedToken) => Topics} topicsFor
 * @property {string} cacheName
 * @property {string} topicName
 * @property {(text: string) => void} onMessage once per message, however many subscriptions carried it
 * @property {(state: string, detail: {reason?: string, expiresAt?: number, resubscriptions: number}) => void} [onStateChange]
 * @property {(message: string) => void} [onProblem] a transient failure, retried by the session
 * @property {(ms: number) => Promise<void>} [sleep]
 */

export class ChatSession {
  /** @param {ChatSessionOptions} options */
  constructor({ tokens, topicsFor, cacheName, topicName, onMessage, onStateChange, onProblem, sleep }) {
    this._tokens = tokens;
    this._topicsFor = topicsFor;
    this.cacheName = cacheName;
    this.topicName = topicName;
    this._onMessage = onMessage;
    this._onStateChange = onStateChange ?? (() => {});
    this._onProblem = onProblem ?? (() => {});
    this._sleep = sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    /** @type {{topics: Topics, subscription: {unsubscribe: () => void}, generation: number, authToken: string} | null} */
    this._current = null;
    /** @type {{stop: () => void} | null} */
    this._watch = null;
    this._generation = 0;
    this._lastSequenceNumber = 0;
    this.resubscriptions = 0;
    this.state = ChatState.STOPPED;
  }

  start() {
    this._setState(ChatState.VENDING);
    this._watch = this._tokens.watch((token) => this._useToken(token), { onError: (error) => this._onVendError(error) });
  }

  stop() {
    this._watch?.stop();
    this._watch = null;
    this._current?.subscription.unsubscribe();
    this._current = null;
    this._setState(ChatState.STOPPED);
  }

  /** @param {string} text */
  async send(text) {
    if (!this._current) throw new Error('not subscribed yet');
    await this._current.topics.publish(this.cacheName, this.topicName, text);
  }

  /**
   * A new token: subscribe with it, and only once that subscription is live drop the previous one,
   * so that no message published meanwhile is missed.
   * @param {import('../token-client/index.js').VendedToken} token
   */
  async _useToken(token) {
    if (this._current?.authToken === token.authToken) {
      // The vending machine handed out the same token again (it reuses young tokens): keep the subscription.
      this._setState(ChatState.SUBSCRIBED, { expiresAt: token.expiresAt });
      return;
    }
    if (!this._current) this._setState(ChatState.SUBSCRIBING);
    const topics = this._topicsFor(token);
    const generation = ++this._generation;
    const subscription = await topics.subscribe(this.cacheName, this.topicName, {
      onItem: (item) => this._deliver(item),
      onError: (error) => this._onSubscriptionEnded(generation, error),
      onDiscontinuity: () => {
        this._lastSequenceNumber = 0;
      },
    });
    if (this._watch === null) {
      subscription.unsubscribe(); // stopped while subscribing
      return;
    }
    const previous = this._current;
    this._current = { topics, subscription, generation, authToken: token.authToken };
    if (previous) {
      previous.subscription.unsubscribe();
      this.resubscriptions += 1;
    }
    this._setState(ChatState.SUBSCRIBED, { expiresAt: token.expiresAt });
  }

  /** @param {{text: string, sequenceNumber: number}} item */
  _deliver({ text, sequenceNumber }) {
    // While two subscriptions overlap, both carry the same items: show each sequence number once.
    if (sequenceNumber > 0 && sequenceNumber <= this._lastSequenceNumber) return;
    this._lastSequenceNumber = sequenceNumber;
    this._onMessage(text);
  }

  /** @param {unknown} error */
  _onVendError(error) {
    if (error instanceof TokenVendingHttpError && isFinalStatus(error.status)) {
      // The policy (or the request) is wrong: asking again would get the same answer.
      this._watch?.stop();
      this._watch = null;
      this._current?.subscription.unsubscribe();
      this._current = null;
      this._setState(ChatState.REFUSED, { reason: error.serverMessage || error.message });
      return;
    }
    this._onProblem(describe(error));
  }

  /**
   * The SDK ends a subscription with an error it does not retry itself (an expired or refused
   * token, say): vend a new token and subscribe again.
   * @param {number} generation
   * @param {Error} error
   */
  async _onSubscriptionEnded(generation, error) {
    if (this._current?.generation !== generation || this._watch === null) return;
    this._current = null;
    this._onProblem(`subscription ended: ${describe(error)}`);
    this._setState(ChatState.RECONNECTING);
    this._watch.stop();
    this._tokens.invalidate();
    await this._sleep(RECONNECT_DELAY_MS);
    if (this.state !== ChatState.RECONNECTING) return; // stopped or refused meanwhile
    this._watch = this._tokens.watch((token) => this._useToken(token), { onError: (e) => this._onVendError(e) });
  }

  /**
   * @param {string} state
   * @param {{reason?: string, expiresAt?: number}} [detail]
   */
  _setState(state, detail = {}) {
    this.state = state;
    this._onStateChange(state, { ...detail, resubscriptions: this.resubscriptions });
  }
}

/** 4xx answers other than 408 and 429 do not change by asking again. @param {number} status */
function isFinalStatus(status) {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}
