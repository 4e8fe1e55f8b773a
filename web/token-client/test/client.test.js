import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';

import {
  TokenVendingClient,
  TokenVendingError,
  TokenVendingHttpError,
  TokenVendingNetworkError,
  TokenVendingResponseError,
  TokenVendingTimeoutError,
  VendedToken,
} from '../index.js';
import {
  FakeClock,
  FakeFetch,
  SECRET,
  START,
  deferred,
  errorAnswer,
  jsonAnswer,
  networkFailure,
  tokenAnswer,
} from './helpers.js';

const URL_ = 'https://tvm.example/vend';

/**
 * @param {FakeFetch} fake
 * @param {FakeClock} clock
 * @param {Partial<import('../client.js').TokenVendingClientOptions>} [options]
 */
function makeClient(fake, clock, options = {}) {
  return new TokenVendingClient({
    url: URL_,
    cacheName: 'cache',
    topicName: 'topic',
    fetch: fake.fetch,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.5,
    ...options,
  });
}

/**
 * @param {() => Promise<unknown>} fn
 * @returns {Promise<any>}
 */
async function rejection(fn) {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('vending and caching', () => {
  test('POSTs cacheName/topicName as JSON with extra headers, then answers from the cache', async () => {
    const fake = new FakeFetch(tokenAnswer());
    const clock = new FakeClock();
    const client = makeClient(fake, clock, { headers: { Authorization: 'Bearer app' } });

    const tokens = [];
    for (let i = 0; i < 50; i++) tokens.push(await client.getToken());

    assert.equal(fake.requests, 1);
    assert.ok(tokens.every((t) => t === tokens[0]));
    assert.equal(tokens[0].authToken, SECRET);
    assert.equal(tokens[0].expiresAt, START + 3600);
    const [{ url, init, body }] = fake.calls;
    assert.equal(url, URL_);
    assert.equal(init.method, 'POST');
    assert.deepEqual(body, { cacheName: 'cache', topicName: 'topic' });
    assert.equal(/** @type {Record<string, string>} */ (init.headers)['content-type'], 'application/json');
    assert.equal(/** @type {Record<string, string>} */ (init.headers).Authorization, 'Bearer app');
  });

  test('sends the permission when given and refuses unknown ones', async () => {
    const fake = new FakeFetch(tokenAnswer());
    const client = makeClient(fake, new FakeClock(), { permission: 'subscribe' });
    await client.getToken();
    assert.deepEqual(fake.calls[0].body, { cacheName: 'cache', topicName: 'topic', permission: 'subscribe' });
    assert.throws(
      () => makeClient(fake, new FakeClock(), { permission: /** @type {any} */ ('admin') }),
      /permission must be one of/,
    );
  });

  test('headers may be a function, called per request', async () => {
    const fake = new FakeFetch(tokenAnswer());
    let n = 0;
    const client = makeClient(fake, new FakeClock(), { headers: async () => ({ Authorization: `Bearer ${++n}` }) });
    await client.getToken();
    client.invalidate();
    await client.getToken();
    assert.deepEqual(
      fake.calls.map((c) => /** @type {Record<string, string>} */ (c.init.headers).Authorization),
      ['Bearer 1', 'Bearer 2'],
    );
  });

  test('options are validated', () => {
    const fake = new FakeFetch(tokenAnswer());
    assert.throws(() => new TokenVendingClient(/** @type {any} */ ({ cacheName: 'c', topicName: 't' })), /url/);
    assert.throws(() => makeClient(fake, new FakeClock(), { topicName: '' }), /cacheName and topicName/);
    assert.throws(() => makeClient(fake, new FakeClock(), { refreshBufferSeconds: -1 }), RangeError);
    assert.throws(() => makeClient(fake, new FakeClock(), { retry: { maxAttempts: 0 } }), RangeError);
  });

  test('a fetch passed in is called as a plain function, not as a method of the client', async () => {
    const fake = new FakeFetch(tokenAnswer());
    /** @type {unknown} */
    let receiver = 'unset';
    const strictFetch = /** @type {typeof fetch} */ (
      function (/** @type {any[]} */ ...args) {
        receiver = this; // eslint-disable-line no-invalid-this
        return fake.fetch(.../** @type {[string, RequestInit]} */ (args));
      }
    );
    await makeClient(fake, new FakeClock(), { fetch: strictFetch }).getToken();
    assert.equal(receiver, undefined);
  });

  test('the default fetch is the global one, called on globalThis', async () => {
    const original = globalThis.fetch;
    const fake = new FakeFetch(tokenAnswer());
    /** @type {unknown} */
    let receiver = 'unset';
    globalThis.fetch = /** @type {typeof fetch} */ (
      function (/** @type {any[]} */ ...args) {
        receiver = this; // eslint-disable-line no-invalid-this
        return fake.fetch(.../** @type {[string, RequestInit]} */ (args));
      }
    );
    try {
      const clock = new FakeClock();
      const client = new TokenVendingClient({ url: URL_, cacheName: 'c', topicName: 't', now: clock.now });
      await client.getToken();
      assert.equal(fake.requests, 1);
      assert.equal(receiver, globalThis);
    } finally {
      globalThis.fetch = original;
    }
  });
});

describe('single-flight', () => {
  test('100 concurrent callers make one request and get the same token', async () => {
    const fake = new FakeFetch(tokenAnswer());
    const gate = deferred();
    fake.gate = gate.promise;
    const client = makeClient(fake, new FakeClock());

    const pending = Array.from({ length: 100 }, () => client.getToken());
    await new Promise((r) => setImmediate(r));
    assert.equal(fake.requests, 1);
    gate.resolve();
    const tokens = await Promise.all(pending);

    assert.equal(fake.requests, 1);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(tokens[0].authToken, SECRET);
  });

  test('concurrent callers share one failure, and the next call tries again', async () => {
    const fake = new FakeFetch(errorAnswer(400, 'validation_error', 'bad topic'), tokenAnswer());
    const gate = deferred();
    fake.gate = gate.promise;
    const client = makeClient(fake, new FakeClock());

    const pending = Array.from({ length: 100 }, () => client.getToken().catch((e) => e));
    gate.resolve();
    const results = await Promise.all(pending);
    assert.equal(fake.requests, 1);
    assert.ok(results.every((r) => r instanceof TokenVendingHttpError && r.status === 400));

    const token = await client.getToken();
    assert.equal(token.authToken, SECRET);
    assert.equal(fake.requests, 2);
  });

  test('100 concurrent callers at refresh time make one more request', async () => {
    const fake = new FakeFetch(tokenAnswer('first', START + 3600), tokenAnswer('second', START + 7200));
    const clock = new FakeClock();
    const client = makeClient(fake, clock);
    await client.getToken();
    clock.advance(3600 - 59);
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getToken()));
    assert.equal(fake.requests, 2);
    assert.ok(tokens.every((t) => t.authToken === 'second'));
  });
});

describe('refresh timing', () => {
  test('a token is refreshed refreshBufferSeconds before it expires', async () => {
    const fake = new FakeFetch(tokenAnswer('first', START + 3600), tokenAnswer('second', START + 7200));
    const clock = new FakeClock();
    const client = makeClient(fake, clock, { refreshBufferSeconds: 120 });

    assert.equal((await client.getToken()).authToken, 'first');
    assert.equal(client.refreshAt, START + 3600 - 120);
    clock.advance(3600 - 121);
    assert.equal((await client.getToken()).authToken, 'first');
    assert.equal(fake.requests, 1);
    clock.advance(1);
    assert.equal((await client.getToken()).authToken, 'second');
    assert.equal(fake.requests, 2);
  });

  test('the default buffer is 60 seconds', async () => {
    const fake = new FakeFetch(tokenAnswer('first', START + 3600));
    const client = makeClient(fake, new FakeClock());
    await client.getToken();
    assert.equal(client.refreshAt, START + 3600 - 60);
  });

  test('a token shorter-lived than twice the buffer is refreshed at half-life', async () => {
    const fake = new FakeFetch(tokenAnswer('short', START + 20), tokenAnswer('next', START + 40));
    const clock = new FakeClock();
    const client = makeClient(fake, clock); // buffer 60 > 20 / 2

    await client.getToken();
    assert.equal(client.refreshAt, START + 10);
    clock.advance(9.9);
    assert.equal((await client.getToken()).authToken, 'short');
    clock.advance(0.1);
    assert.equal((await client.getToken()).authToken, 'next');
    assert.equal(client.refreshAt, START + 10 + 15); // half of the 30 s left when it arrived
  });

  test('invalidate() forces the next call to vend', async () => {
    const fake = new FakeFetch(tokenAnswer('first'), tokenAnswer('second'));
    const client = makeClient(fake, new FakeClock());
    await client.getToken();
    client.invalidate();
    assert.equal(client.cachedToken, null);
    assert.equal((await client.getToken()).authToken, 'second');
  });
});

describe('retries', () => {
  test('429 and 503 are retried after Retry-After seconds', async () => {
    const fake = new FakeFetch(
      errorAnswer(429, 'rate_limited', 'slow down', { 'Retry-After': '2' }),
      errorAnswer(503, 'unavailable', 'busy', { 'Retry-After': '3' }),
      tokenAnswer(),
    );
    const clock = new FakeClock();
    const token = await makeClient(fake, clock).getToken();
    assert.equal(token.authToken, SECRET);
    assert.equal(fake.requests, 3);
    assert.deepEqual(clock.sleeps, [2, 3]);
  });

  test('Retry-After as an HTTP date is honoured', async () => {
    const clock = new FakeClock();
    const date = new Date((START + 4) * 1000).toUTCString(); // "Wed, 01 Jan 2025 00:00:04 GMT"
    const fake = new FakeFetch(errorAnswer(503, 'unavailable', 'busy', { 'Retry-After': date }), tokenAnswer());
    await makeClient(fake, clock).getToken();
    assert.deepEqual(clock.sleeps, [4]);
  });

  test('Retry-After is capped (10 s by default, configurable)', async () => {
    const clock = new FakeClock();
    const far = new Date((START + 3600) * 1000).toUTCString();
    const fake = new FakeFetch(
      errorAnswer(429, 'rate_limited', 'x', { 'Retry-After': '600' }),
      errorAnswer(429, 'rate_limited', 'x', { 'Retry-After': far }),
      tokenAnswer(),
    );
    await makeClient(fake, clock).getToken();
    assert.deepEqual(clock.sleeps, [10, 10]);

    const clock2 = new FakeClock();
    const fake2 = new FakeFetch(errorAnswer(429, 'rate_limited', 'x', { 'Retry-After': '600' }), tokenAnswer());
    await makeClient(fake2, clock2, { retry: { maxRetryAfterSeconds: 1.5 } }).getToken();
    assert.deepEqual(clock2.sleeps, [1.5]);
  });

  test('without Retry-After, exponential backoff with equal jitter', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(errorAnswer(503, 'unavailable', 'x'), errorAnswer(503, 'unavailable', 'x'), tokenAnswer());
    await makeClient(fake, clock, { random: () => 1 }).getToken();
    assert.deepEqual(clock.sleeps, [0.2, 0.4]);

    const clock2 = new FakeClock();
    const fake2 = new FakeFetch(errorAnswer(503, 'unavailable', 'x'), tokenAnswer());
    await makeClient(fake2, clock2, { random: () => 0 }).getToken();
    assert.deepEqual(clock2.sleeps, [0.1]);
  });

  test('network errors are retried with backoff, then surface as TokenVendingNetworkError', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(networkFailure(), networkFailure(), tokenAnswer());
    assert.equal((await makeClient(fake, clock).getToken()).authToken, SECRET);
    assert.equal(clock.sleeps.length, 2);
    assert.ok(clock.sleeps[1] > clock.sleeps[0]);

    const fake2 = new FakeFetch(networkFailure('connection refused'));
    const error = await rejection(() => makeClient(fake2, new FakeClock()).getToken());
    assert.ok(error instanceof TokenVendingNetworkError);
    assert.ok(error instanceof TokenVendingError);
    assert.match(error.message, /could not reach the token vending machine at https:\/\/tvm\.example\/vend: TypeError: connection refused/);
    assert.ok(error.cause instanceof TypeError);
    assert.equal(fake2.requests, 3);
  });

  test('network retries can be turned off', async () => {
    const fake = new FakeFetch(networkFailure());
    await rejection(() => makeClient(fake, new FakeClock(), { retry: { retryNetworkErrors: false } }).getToken());
    assert.equal(fake.requests, 1);
  });

  test('attempts are bounded (3 by default) and the last error is thrown', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(errorAnswer(429, 'rate_limited', 'slow down', { 'Retry-After': '1' }));
    const error = await rejection(() => makeClient(fake, clock).getToken());
    assert.equal(fake.requests, 3);
    assert.deepEqual(clock.sleeps, [1, 1]);
    assert.ok(error instanceof TokenVendingHttpError);
    assert.equal(error.status, 429);
    assert.equal(error.retryAfter, 1);

    const fake1 = new FakeFetch(errorAnswer(429, 'rate_limited', 'x'));
    await rejection(() => makeClient(fake1, new FakeClock(), { retry: { maxAttempts: 1 } }).getToken());
    assert.equal(fake1.requests, 1);
  });

  for (const status of [400, 403, 405, 413, 415, 500, 502, 504]) {
    test(`HTTP ${status} is final`, async () => {
      const clock = new FakeClock();
      const fake = new FakeFetch(errorAnswer(status, 'some_error', 'no', { 'Retry-After': '1' }), tokenAnswer());
      const error = await rejection(() => makeClient(fake, clock).getToken());
      assert.equal(error.status, status);
      assert.equal(fake.requests, 1);
      assert.deepEqual(clock.sleeps, []);
    });
  }

  test('a malformed 2xx is final', async () => {
    const fake = new FakeFetch(jsonAnswer(200, { nope: 1 }), tokenAnswer());
    const error = await rejection(() => makeClient(fake, new FakeClock()).getToken());
    assert.ok(error instanceof TokenVendingResponseError);
    assert.equal(fake.requests, 1);
  });

  test('a request that does not answer in time is a TokenVendingTimeoutError (and retried)', async () => {
    /** @type {RequestInit[]} */
    const inits = [];
    const hanging = async (/** @type {string} */ _url, /** @type {RequestInit} */ init) => {
      inits.push(init);
      return new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    };
    const client = makeClient(new FakeFetch(), new FakeClock(), {
      fetch: /** @type {typeof fetch} */ (hanging),
      timeoutSeconds: 0.02,
      retry: { maxAttempts: 2 },
    });
    const error = await rejection(() => client.getToken());
    assert.ok(error instanceof TokenVendingTimeoutError);
    assert.ok(error instanceof TokenVendingNetworkError);
    assert.match(error.message, /did not answer within 0.02 s/);
    assert.equal(inits.length, 2);
  });
});

describe('errors', () => {
  test('HTTP errors carry status, code, server message, details, body and retryAfter', async () => {
    const body = {
      error: 'forbidden',
      message: 'topic not allowed by policy',
      details: [{ field: 'topicName', reason: 'not allowed' }],
    };
    const fake = new FakeFetch(jsonAnswer(403, body));
    const error = await rejection(() => makeClient(fake, new FakeClock()).getToken());
    assert.ok(error instanceof TokenVendingHttpError);
    assert.equal(error.name, 'TokenVendingHttpError');
    assert.equal(error.status, 403);
    assert.equal(error.code, 'forbidden');
    assert.equal(error.serverMessage, 'topic not allowed by policy');
    assert.deepEqual(error.details, body.details);
    assert.equal(error.body, JSON.stringify(body));
    assert.equal(error.retryAfter, null);
    assert.equal(error.message, 'token vending machine answered HTTP 403 forbidden: topic not allowed by policy');
  });

  test('a non-JSON error body becomes the message, cut to 200 characters', async () => {
    const long = 'x'.repeat(500);
    const fake = new FakeFetch(() => new Response(`Bad   gateway\n${long}`, { status: 502 }));
    const error = await rejection(() => makeClient(fake, new FakeClock()).getToken());
    assert.equal(error.code, null);
    assert.equal(error.serverMessage.length, 201);
    assert.ok(error.serverMessage.startsWith('Bad gateway xxx'));
    assert.ok(error.serverMessage.endsWith('…'));
    assert.equal(error.body.length, 'Bad   gateway\n'.length + 500);
  });

  const badSuccessBodies = [
    `not json ${SECRET}`,
    JSON.stringify([SECRET]),
    JSON.stringify({ token: SECRET }),
    JSON.stringify({ auth_token: SECRET, expires_at: 'soon' }),
    JSON.stringify({ auth_token: SECRET, expires_at: START - 1 }),
    JSON.stringify({ auth_token: SECRET, expires_in: 'x' }),
  ];
  for (const [i, text] of badSuccessBodies.entries()) {
    test(`a bad 2xx body never puts the token in the error (${i})`, async () => {
      const fake = new FakeFetch(() => new Response(text, { status: 200 }));
      const error = await rejection(() => makeClient(fake, new FakeClock()).getToken());
      assert.ok(error instanceof TokenVendingResponseError);
      for (const shown of [error.message, String(error), error.stack ?? '', inspect(error), JSON.stringify(error)]) {
        assert.ok(!shown.includes(SECRET), `token leaked in: ${shown}`);
      }
    });
  }

  test('the token never appears in logs, even when a stale token is served', async () => {
    /** @type {string[]} */
    const lines = [];
    const logger = {
      info: (/** @type {unknown[]} */ ...a) => lines.push(a.join(' ')),
      warn: (/** @type {unknown[]} */ ...a) => lines.push(a.join(' ')),
    };
    const clock = new FakeClock();
    const fake = new FakeFetch(tokenAnswer(), errorAnswer(503, 'unavailable', 'busy'));
    const client = makeClient(fake, clock, { logger });
    await client.getToken();
    clock.advance(3600 - 30);
    assert.equal((await client.getToken()).authToken, SECRET);
    assert.ok(lines.length >= 3);
    assert.ok(lines.every((l) => !l.includes(SECRET)));
    assert.ok(!String(client).includes(SECRET));
  });

  test('a VendedToken never shows its token when printed or serialized', async () => {
    const token = await makeClient(new FakeFetch(tokenAnswer()), new FakeClock()).getToken();
    assert.ok(token instanceof VendedToken);
    for (const shown of [String(token), `${token}`, inspect(token), JSON.stringify(token), JSON.stringify({ token })]) {
      assert.ok(!shown.includes(SECRET), shown);
    }
    assert.match(String(token), /redacted, 52 chars.*2025-01-01T01:00:00.000Z/);
    assert.ok(Object.isFrozen(token));
  });
});

describe('serving a still-valid token when a refresh fails', () => {
  test('the cached token is served, the next attempt comes staleRetryIntervalSeconds later', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(
      tokenAnswer('first', START + 3600),
      errorAnswer(500, 'internal', 'x'),
      tokenAnswer('second', START + 7200),
    );
    const client = makeClient(fake, clock);
    await client.getToken();
    clock.advance(3600 - 30);
    assert.equal((await client.getToken()).authToken, 'first');
    assert.equal(fake.requests, 2);
    assert.equal(client.refreshAt, clock.seconds + 5);
    assert.equal((await client.getToken()).authToken, 'first'); // no request within the interval
    assert.equal(fake.requests, 2);
    clock.advance(5);
    assert.equal((await client.getToken()).authToken, 'second');
  });

  test('once the token has expired the error is thrown', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(tokenAnswer('first', START + 100), errorAnswer(500, 'internal', 'x'));
    const client = makeClient(fake, clock);
    await client.getToken();
    clock.advance(100);
    const error = await rejection(() => client.getToken());
    assert.equal(error.status, 500);
  });

  test('serveStaleOnError: false always throws', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(tokenAnswer('first', START + 3600), errorAnswer(500, 'internal', 'x'));
    const client = makeClient(fake, clock, { serveStaleOnError: false });
    await client.getToken();
    clock.advance(3600 - 30);
    assert.equal((await rejection(() => client.getToken())).status, 500);
  });
});

describe('watch()', () => {
  test('hands over the first token, then a new one at each refreshAt', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(
      tokenAnswer('t1', START + 20),
      tokenAnswer('t2', START + 40),
      tokenAnswer('t3', START + 60),
    );
    const client = makeClient(fake, clock);
    /** @type {[string, number][]} */
    const seen = [];
    const done = deferred();
    const watcher = client.watch((token) => {
      seen.push([token.authToken, clock.seconds - START]);
      if (seen.length === 3) done.resolve();
    });
    await done.promise;
    watcher.stop();
    await watcher.done;
    // t1 lives 20 s: refreshed at 10 s; t2 arrives at 10 s with 30 s left: refreshed at 25 s.
    assert.deepEqual(seen, [
      ['t1', 0],
      ['t2', 10],
      ['t3', 25],
    ]);
    assert.equal(fake.requests, 3);
  });

  test('reports errors and tries again; a failing onToken gets the same token again', async () => {
    const clock = new FakeClock();
    const fake = new FakeFetch(errorAnswer(403, 'forbidden', 'no'), tokenAnswer('t1', START + 3600));
    const client = makeClient(fake, clock);
    /** @type {unknown[]} */
    const errors = [];
    /** @type {string[]} */
    const seen = [];
    const done = deferred();
    const watcher = client.watch(
      (token) => {
        seen.push(token.authToken);
        if (seen.length === 1) throw new Error('subscribe failed');
        done.resolve();
      },
      { onError: (e) => errors.push(e) },
    );
    await done.promise;
    watcher.stop();
    await watcher.done;
    assert.deepEqual(seen, ['t1', 't1']);
    assert.equal(errors.length, 2);
    assert.ok(errors[0] instanceof TokenVendingHttpError);
    assert.equal(/** @type {Error} */ (errors[1]).message, 'subscribe failed');
    assert.equal(fake.requests, 2);
  });

  test('stop() ends a real-time wait at once', async () => {
    const fake = new FakeFetch(tokenAnswer('t1', Date.now() / 1000 + 3600));
    const client = new TokenVendingClient({ url: URL_, cacheName: 'c', topicName: 't', fetch: fake.fetch });
    const first = deferred();
    const watcher = client.watch(() => first.resolve());
    await first.promise;
    watcher.stop();
    await watcher.done; // would hang for an hour if the sleep were not aborted
    assert.equal(fake.requests, 1);
  });
});
