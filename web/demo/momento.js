// The one place the demo touches @gomomento/sdk-web: topic calls made with one vended token, with
// the SDK's error responses turned into thrown TopicErrors (see `Topics` in chat.js).

import { TopicClient, TopicConfigurations, TopicPublish, TopicSubscribe } from '@gomomento/sdk-web';

import { credentialProviderFor } from '../token-client/credentials.js';
import { TopicError } from './chat.js';

/**
 * `topicsFor(token)` for the chat session. `webEndpoint` is the local gRPC-web server
 * (`http://127.0.0.1:PORT`); null means real Momento, at the endpoint the token names.
 * @param {{webEndpoint?: string | null}} [options]
 * @returns {(token: {authToken: string}) => import('./chat.js').Topics}
 */
export function momentoTopics({ webEndpoint = null } = {}) {
  return (token) => {
    const client = new TopicClient({
      configuration: TopicConfigurations.Browser.latest(),
      credentialProvider: credentialProviderFor(token, { webEndpoint }),
    });
    return {
      async subscribe(cacheName, topicName, { onItem, onError, onDiscontinuity }) {
        const response = await client.subscribe(cacheName, topicName, {
          onItem: (item) => onItem({ text: item.valueString(), sequenceNumber: item.sequenceNumber() }),
          onError: (error) => onError(asTopicError(error)),
          onDiscontinuity: () => onDiscontinuity(),
        });
        if (response instanceof TopicSubscribe.Error) throw asTopicError(response);
        return { unsubscribe: () => response.unsubscribe() };
      },
      async publish(cacheName, topicName, text) {
        const response = await client.publish(cacheName, topicName, text);
        if (response instanceof TopicPublish.Error) throw asTopicError(response);
      },
    };
  };
}

/** @param {{message: () => string, errorCode: () => string}} response */
function asTopicError(response) {
  return new TopicError(response.message(), String(response.errorCode()));
}
