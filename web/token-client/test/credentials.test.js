import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { credentialProviderFor, decodeVendedToken, isLocalEndpoint, webEndpointFor } from '../credentials.js';
import { VendedToken } from '../index.js';

// sdk-web's own function for the URL it sends gRPC-web requests to (internal, but it is the truth).
const require = createRequire(import.meta.url);
const { getWebCacheEndpoint, getWebTokenEndpoint } = require('@gomomento/sdk-web/dist/src/utils/web-client-utils.js');

// A disposable key is a JWT; its payload does not matter to the provider.
const API_KEY = 'eyJhbGciOiJIUzI1NiJ9.eyJ0IjoiZCIsInN1YiI6InZlbmRlZCJ9.c2lnbmF0dXJl';

/** @param {string} endpoint */
const vended = (endpoint) => Buffer.from(JSON.stringify({ endpoint, api_key: API_KEY })).toString('base64');

test('a 127.0.0.1:PORT token targets plain http://127.0.0.1:PORT for every endpoint', () => {
  const provider = credentialProviderFor(vended('127.0.0.1:50051'));
  assert.equal(provider.getAuthToken(), API_KEY);
  assert.equal(provider.getCacheEndpoint(), 'http://127.0.0.1:50051');
  assert.equal(provider.getControlEndpoint(), 'http://127.0.0.1:50051');
  assert.equal(provider.getTokenEndpoint(), 'http://127.0.0.1:50051');
  assert.equal(provider.areEndpointsOverridden(), true);
  assert.equal(provider.isEndpointSecure(), false);
  assert.equal(getWebCacheEndpoint(provider), 'http://127.0.0.1:50051'); // no https://, no web. prefix
});

test('webEndpoint overrides the port (the local gRPC-web server may listen elsewhere)', () => {
  for (const webEndpoint of ['http://127.0.0.1:9001', '127.0.0.1:9001', 'http://127.0.0.1:9001/']) {
    const provider = credentialProviderFor(vended('127.0.0.1:50051'), { webEndpoint });
    assert.equal(provider.getCacheEndpoint(), 'http://127.0.0.1:9001', webEndpoint);
    assert.equal(getWebCacheEndpoint(provider), 'http://127.0.0.1:9001');
    assert.equal(provider.getAuthToken(), API_KEY);
  }
  const tls = credentialProviderFor(vended('127.0.0.1:50051'), { webEndpoint: 'https://grpcweb.example:8443' });
  assert.equal(getWebCacheEndpoint(tls), 'https://grpcweb.example:8443');
  assert.equal(tls.isEndpointSecure(), true);
  assert.throws(() => credentialProviderFor(vended('127.0.0.1:1'), { webEndpoint: 'not a url' }), TypeError);
});

test('localhost and [::1] with a port are local too', () => {
  assert.equal(credentialProviderFor(vended('localhost:4000')).getCacheEndpoint(), 'http://localhost:4000');
  assert.equal(credentialProviderFor(vended('[::1]:4000')).getCacheEndpoint(), 'http://[::1]:4000');
});

test('a real endpoint uses the SDK provider: https://web.cache.<endpoint>', () => {
  const endpoint = 'cell-4-us-west-2-1.prod.a.momentohq.com';
  const provider = credentialProviderFor(new VendedToken(vended(endpoint), 2e9));
  assert.equal(provider.getAuthToken(), API_KEY);
  assert.equal(provider.getCacheEndpoint(), `cache.${endpoint}`);
  assert.equal(provider.getTokenEndpoint(), `token.${endpoint}`);
  assert.equal(provider.getControlEndpoint(), `control.${endpoint}`);
  assert.equal(provider.areEndpointsOverridden(), false);
  assert.equal(provider.isEndpointSecure(), true);
  assert.equal(getWebCacheEndpoint(provider), `https://web.cache.${endpoint}`);
  assert.equal(getWebTokenEndpoint(provider), `https://web.token.${endpoint}`);
});

test('decodeVendedToken and isLocalEndpoint', () => {
  assert.deepEqual(decodeVendedToken(vended('127.0.0.1:50051')), { endpoint: '127.0.0.1:50051', apiKey: API_KEY });
  const urlSafe = vended('h:1').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  assert.deepEqual(decodeVendedToken(urlSafe), { endpoint: 'h:1', apiKey: API_KEY });
  assert.equal(decodeVendedToken(API_KEY), null); // a bare JWT
  assert.equal(decodeVendedToken(Buffer.from('{"endpoint": "x"}').toString('base64')), null);
  assert.equal(decodeVendedToken(Buffer.from('[1]').toString('base64')), null);
  assert.equal(webEndpointFor(vended('cell-1.prod.a.momentohq.com')), null);
  assert.equal(webEndpointFor(vended('127.0.0.1:50051')), 'http://127.0.0.1:50051');
  assert.ok(isLocalEndpoint('127.0.0.1:50051'));
  assert.ok(!isLocalEndpoint('cell-1.prod.a.momentohq.com'));
  assert.ok(!isLocalEndpoint('http://127.0.0.1:50051'));
  assert.throws(() => credentialProviderFor(''), TypeError);
});

test('errors from a malformed token never contain the key', () => {
  const broken = Buffer.from(JSON.stringify({ api_key: API_KEY })).toString('base64');
  assert.throws(
    () => credentialProviderFor(broken),
    (/** @type {Error} */ e) => !e.message.includes(API_KEY) && !e.message.includes(broken),
  );
});
