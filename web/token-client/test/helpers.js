// Test doubles: a scripted fetch, a fake clock and a sleep that advances it.

export const START_MS = Date.UTC(2025, 0, 1); // Unix ms
export const START = START_MS / 1000; // Unix seconds
export const SECRET = 'ZXlKaGJHY2lPaUpJVXpJMU5pSjkuc2VjcmV0LXRva2VuLWJvZHk='; // looks like a real vended token

export class FakeClock {
  constructor(ms = START_MS) {
    this.ms = ms;
    /** @type {number[]} every sleep, in seconds */
    this.sleeps = [];
    this.now = () => this.ms;
    this.sleep = async (/** @type {number} */ ms, /** @type {AbortSignal | undefined} */ signal) => {
      if (signal?.aborted) throw signal.reason;
      this.sleeps.push(ms / 1000);
      this.ms += ms;
      await Promise.resolve();
      if (signal?.aborted) throw signal.reason;
    };
  }

  /** @param {number} seconds */
  advance(seconds) {
    this.ms += seconds * 1000;
  }

  get seconds() {
    return this.ms / 1000;
  }
}

/**
 * @param {string} authToken
 * @param {number} expiresAt Unix seconds
 */
export function tokenAnswer(authToken = SECRET, expiresAt = START + 3600) {
  return jsonAnswer(200, { auth_token: authToken, expires_at: expiresAt });
}

/**
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
export function jsonAnswer(status, body, headers = {}) {
  return () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * @param {number} status
 * @param {string} code
 * @param {string} message
 * @param {Record<string, string>} [headers]
 */
export function errorAnswer(status, code, message, headers = {}) {
  return jsonAnswer(status, { error: code, message }, headers);
}

/** @param {string} [message] */
export function networkFailure(message = 'Failed to fetch') {
  return () => {
    throw new TypeError(message);
  };
}

/**
 * A fetch that answers from a script, one entry per request (the last one repeats).
 * `gate`, when set, is a promise every request waits for before answering.
 */
export class FakeFetch {
  /** @param {...(() => Response | Promise<Response>)} answers */
  constructor(...answers) {
    this.answers = answers;
    /** @type {{url: string, init: RequestInit, body: unknown}[]} */
    this.calls = [];
    /** @type {Promise<void> | null} */
    this.gate = null;
    this.fetch = async (/** @type {string} */ url, /** @type {RequestInit} */ init) => {
      this.calls.push({ url, init, body: JSON.parse(/** @type {string} */ (init.body)) });
      const answer = this.answers[Math.min(this.calls.length - 1, this.answers.length - 1)];
      if (this.gate) await this.gate;
      return answer();
    };
  }

  get requests() {
    return this.calls.length;
  }
}

/** A promise with its resolve function. */
export function deferred() {
  /** @type {() => void} */
  let resolve = () => {};
  const promise = new Promise((r) => {
    resolve = () => r(undefined);
  });
  return { promise, resolve };
}
