// ChatSession with fakes for the token client and the topic calls: no network, no SDK.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TokenVendingHttpError } from '../../token-client/index.js';
import { VendedToken } from '../../token-client/parsing.js';
import { ChatSession, ChatState, TopicError, chatOptionsFromQuery, sendFailureText } from '../chat.js';

/** A token client whose watch() callbacks the test calls itself. */
class FakeTokens {
  constructor() {
    this.watches = 0;
    this.stopped = 0;
    this.invalidated = 0;
    /** @type {((token: VendedToken) => Promise<void>) | null} */
    this.onToken = null;
    /** @type {((error: unknown) => void) | null} */
    this.onError = null;
  }

  watch(onToken, { onError }) {
    this.watches += 1;
    this.onToken = onToken;
    this.onError = onError;
    return { stop: () => (this.stopped += 1) };
  }

  invalidate() {
    this.invalidated += 1;
  }
}

/**
 * Topic calls per token; each subscription records its handlers and whether it was dropped.
 * With `publishRefusal` (a TopicError), every publish rejects with it, as Momento refuses a subscribe-only token.
 */
function fakeTopics({ publishRefusal = null } = {}) {
  const subscriptions = [];
  const published = [];
  const topicsFor = (token) => ({
    async subscribe(cacheName, topicName, handlers) {
      const subscription = { token: token.authToken, cacheName, topicName, handlers, live: true };
      subscriptions.push(subscription);
      return { unsubscribe: () => (subscription.live = false) };
    },
    async publish(cacheName, topicName, text) {
      if (publishRefusal) throw publishRefusal;
      published.push({ token: token.authToken, cacheName, topicName, text });
    },
  });
  return { topicsFor, subscriptions, published };
}

/** A started ChatSession on fake tokens and topics, with what it showed and did recorded. */
function startedSession(topicOptions = {}) {
  const tokens = new FakeTokens();
  const { topicsFor, subscriptions, published } = fakeTopics(topicOptions);
  const messages = [];
  const states = [];
  const problems = [];
  const chat = new ChatSession({
    tokens,
    topicsFor,
    cacheName: 'SampleCache',
    topicName: 'sample-topic',
    onMessage: (text) => messages.push(text),
    onStateChange: (state, detail) => states.push({ state, ...detail }),
    onProblem: (message) => problems.push(message),
    sleep: async () => {},
  });
  chat.start();
  return { tokens, chat, subscriptions, published, messages, states, problems };
}

const token = (name, expiresAt = 2_000_000_000) => new VendedToken(name, expiresAt);

test('subscribes with the first token, publishes with it and shows what arrives', async () => {
  const { tokens, chat, subscriptions, published, messages, states } = startedSession();

  await tokens.onToken(token('t1'));
  await chat.send('hello');
  subscriptions[0].handlers.onItem({ text: 'hello', sequenceNumber: 1 });

  assert.deepEqual(
    states.map((s) => s.state),
    [ChatState.VENDING, ChatState.SUBSCRIBING, ChatState.SUBSCRIBED],
  );
  assert.equal(subscriptions[0].topicName, 'sample-topic');
  assert.deepEqual(published, [{ token: 't1', cacheName: 'SampleCache', topicName: 'sample-topic', text: 'hello' }]);
  assert.deepEqual(messages, ['hello']);
});

test('a fresh token: subscribes anew, then drops the old subscription, showing overlapping items once', async () => {
  const { tokens, chat, subscriptions, published, messages, states } = startedSession();
  await tokens.onToken(token('t1'));
  const [first] = subscriptions;
  first.handlers.onItem({ text: 'one', sequenceNumber: 1 });

  await tokens.onToken(token('t2', 2_000_000_500));
  const second = subscriptions[1];
  second.handlers.onItem({ text: 'one', sequenceNumber: 1 });
  second.handlers.onItem({ text: 'two', sequenceNumber: 2 });
  await chat.send('three');

  assert.equal(first.live, false);
  assert.equal(second.live, true);
  assert.deepEqual(messages, ['one', 'two']);
  assert.equal(published[0].token, 't2');
  assert.deepEqual(states.at(-1), { state: ChatState.SUBSCRIBED, expiresAt: 2_000_000_500, resubscriptions: 1 });
});

test('the same token handed out again keeps the subscription', async () => {
  const { tokens, chat, subscriptions } = startedSession();
  await tokens.onToken(token('t1'));

  await tokens.onToken(token('t1'));

  assert.equal(subscriptions.length, 1);
  assert.equal(chat.resubscriptions, 0);
});

test('a 403 from the vending machine stops the session with the reason', async () => {
  const { tokens, chat, states } = startedSession();

  tokens.onError(new TokenVendingHttpError({ status: 403, code: 'forbidden', serverMessage: 'Topic not allowed.' }));

  assert.equal(tokens.stopped, 1);
  assert.deepEqual(states.at(-1), { state: ChatState.REFUSED, reason: 'Topic not allowed.', resubscriptions: 0 });
  await assert.rejects(chat.send('hello'), /not subscribed/);
});

test('a 503 is a passing problem: the token client retries', async () => {
  const { tokens, chat, problems } = startedSession();

  tokens.onError(new TokenVendingHttpError({ status: 503, serverMessage: 'busy' }));

  assert.equal(tokens.stopped, 0);
  assert.equal(chat.state, ChatState.VENDING);
  assert.match(problems[0], /503/);
});

test('a subscription that ends with an error: a new token, a new subscription', async () => {
  const { tokens, chat, subscriptions, problems } = startedSession();
  await tokens.onToken(token('t1'));

  await subscriptions[0].handlers.onError(new Error('token expired'));
  await tokens.onToken(token('t2'));

  assert.equal(tokens.invalidated, 1);
  assert.equal(tokens.watches, 2);
  assert.match(problems[0], /token expired/);
  assert.equal(subscriptions[1].token, 't2');
  assert.equal(chat.state, ChatState.SUBSCRIBED);
});

test('the query picks the room and, with ?permission=subscribe, a read-only viewer', () => {
  assert.deepEqual(chatOptionsFromQuery(''), {
    cacheName: 'SampleCache',
    topicName: 'sample-topic',
    permission: 'publish_subscribe',
  });
  assert.deepEqual(chatOptionsFromQuery('?cache=c&topic=chat-1&permission=subscribe'), {
    cacheName: 'c',
    topicName: 'chat-1',
    permission: 'subscribe',
  });
  assert.equal(chatOptionsFromQuery(new URLSearchParams({ permission: '' })).permission, 'publish_subscribe');
  // A publish-only token could not show the chat: the page says so instead of never subscribing.
  assert.throws(() => chatOptionsFromQuery('?permission=publish'), /permission= must be one of publish_subscribe, subscribe/);
});

test("a publish Momento refuses rejects the send with the SDK's code, shows nothing, and keeps the subscription", async () => {
  const refusal = new TopicError('Insufficient permissions to perform an operation on a topic.', 'PERMISSION_ERROR');
  const { tokens, chat, subscriptions, published, messages, states, problems } = startedSession({ publishRefusal: refusal });
  await tokens.onToken(token('subscribe-only'));

  const sent = chat.send('hello');

  await assert.rejects(sent, (error) => error === refusal);
  assert.equal(sendFailureText(refusal), 'publish refused: PERMISSION_ERROR');
  assert.deepEqual(published, []);
  assert.deepEqual(messages, []);
  assert.deepEqual(problems, []);
  assert.equal(subscriptions[0].live, true);
  assert.equal(chat.state, ChatState.SUBSCRIBED);
  assert.equal(states.length, 3);
});

test('a send that fails before reaching Momento shows its message', async () => {
  const { chat } = startedSession();

  const error = await chat.send('too early').catch((e) => e);

  assert.equal(sendFailureText(error), 'not sent: not subscribed yet');
  assert.equal(sendFailureText('odd'), 'not sent: odd');
});
