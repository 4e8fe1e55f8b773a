// The chat page: reads ?cache=...&topic=...&permission=..., learns from config.json where the vending
// machine and (locally) the gRPC-web server are, then wires a ChatSession to the DOM.

import { TokenVendingClient } from '../token-client/index.js';
import { ChatSession, ChatState, chatOptionsFromQuery, sendFailureText } from './chat.js';
import { momentoTopics } from './momento.js';

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

/**
 * `tokenUrl` (relative to the page) and `webEndpoint` (null for real Momento).
 * @returns {Promise<{tokenUrl: string, webEndpoint: string | null}>}
 */
async function loadConfig() {
  const response = await fetch(new URL('config.json', window.location.href), { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  return response.json();
}

async function main() {
  const { cacheName, topicName, permission } = chatOptionsFromQuery(window.location.search);
  const readOnly = permission === 'subscribe';
  const status = element('status');
  const tokenInfo = element('token');
  const problem = element('error');
  const messages = element('messages');
  const form = /** @type {HTMLFormElement} */ (element('composer'));
  const input = /** @type {HTMLInputElement} */ (element('message'));
  const send = /** @type {HTMLButtonElement} */ (element('send'));
  // A read-only viewer's Send still publishes, so that Momento's refusal shows in #error.
  const mode = readOnly ? ' · read-only (subscribe token)' : '';
  element('where').textContent = `cache ${cacheName} · topic ${topicName}${mode}`;
  document.title = `${topicName} · Momento chat`;

  const config = await loadConfig();
  const session = new ChatSession({
    tokens: new TokenVendingClient({
      url: new URL(config.tokenUrl, window.location.href).href,
      cacheName,
      topicName,
      ...(readOnly ? { permission } : {}), // a chatting page asks as before: the machine's default
    }),
    topicsFor: momentoTopics({ webEndpoint: config.webEndpoint }),
    cacheName,
    topicName,
    onMessage: (text) => {
      const item = document.createElement('li');
      item.textContent = text;
      messages.append(item);
      item.scrollIntoView({ block: 'nearest' });
    },
    onStateChange: (state, { reason, expiresAt, resubscriptions }) => {
      status.textContent = state === ChatState.REFUSED ? `refused: ${reason}` : state;
      status.dataset.state = state;
      send.disabled = state !== ChatState.SUBSCRIBED;
      if (state === ChatState.SUBSCRIBED) problem.textContent = '';
      if (expiresAt !== undefined) {
        const until = new Date(expiresAt * 1000).toLocaleTimeString();
        const renewed = resubscriptions ? `, resubscribed ${resubscriptions}× with a fresh token` : '';
        tokenInfo.textContent = `Token valid until ${until}${renewed}.`;
        tokenInfo.dataset.resubscriptions = String(resubscriptions);
      }
    },
    onProblem: (message) => {
      problem.textContent = message;
    },
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    try {
      await session.send(text);
      input.value = '';
      problem.textContent = '';
    } catch (error) {
      problem.textContent = sendFailureText(error);
    }
  });
  session.start();
}

main().catch((error) => {
  const status = document.getElementById('status');
  if (status) status.textContent = `failed: ${error instanceof Error ? error.message : String(error)}`;
});
