import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  TokenVendingResponseError,
  parseErrorResponse,
  parseRetryAfter,
  parseTokenResponse,
} from '../index.js';
import { SECRET, START } from './helpers.js';

const NOW = START + 0.5;

/** @param {Record<string, unknown>} fields */
const body = (fields) => JSON.stringify({ auth_token: SECRET, ...fields });

test('expiry forms: seconds, numeric strings, milliseconds, ISO-8601, expires_in, camelCase, default', () => {
  /** @type {[Record<string, unknown>, number][]} */
  const cases = [
    [{ expires_at: START + 60 }, START + 60],
    [{ expires_at: String(START + 60) }, START + 60],
    [{ expires_at: (START + 60) * 1000 }, START + 60],
    [{ expires_at: '2025-01-01T00:01:00Z' }, START + 60],
    [{ expires_at: '2025-01-01T00:01:00' }, START + 60], // no zone: UTC
    [{ expires_at: '2025-01-01T01:01:00+01:00' }, START + 60],
    [{ expires_in: 60 }, NOW + 60],
    [{ expiresIn: '60' }, NOW + 60],
    [{ expiresAt: START + 60 }, START + 60],
    [{}, NOW + 300],
  ];
  for (const [fields, expected] of cases) {
    assert.equal(parseTokenResponse(body(fields), NOW).expiresAt, expected, JSON.stringify(fields));
  }
  assert.equal(parseTokenResponse(JSON.stringify({ authToken: 'x' }), NOW, 30).expiresAt, NOW + 30);
});

test('malformed answers are response errors that never echo the body', () => {
  for (const text of ['', '{', 'null', '[]', '"tok"', '{"auth_token": ""}', '{"auth_token": 5}', body({ expires_at: true }),
    body({ expires_at: 'tomorrow' }), body({ expires_at: '1e400' }), body({ expires_at: START })]) {
    assert.throws(
      () => parseTokenResponse(text, NOW),
      (/** @type {Error} */ e) => e instanceof TokenVendingResponseError && !e.message.includes(SECRET),
      text,
    );
  }
});

test('JSON error bodies give code, server message and details; a code alone gives an empty message', () => {
  const e = parseErrorResponse(400, '{"error": "validation_error", "message": "bad", "details": [{"field": "cacheName"}]}', null, NOW);
  assert.deepEqual([e.status, e.code, e.serverMessage, e.details], [400, 'validation_error', 'bad', [{ field: 'cacheName' }]]);
  const bare = parseErrorResponse(405, '{"error": "method_not_allowed"}', null, NOW);
  assert.equal(bare.message, 'token vending machine answered HTTP 405 method_not_allowed');
  const text = parseErrorResponse(401, 'invalid credentials', null, NOW);
  assert.equal(text.message, 'token vending machine answered HTTP 401: invalid credentials');
  assert.equal(text.code, null);
});

test('Retry-After: delta-seconds or HTTP date, null when absent or bad, never negative', () => {
  const date = (/** @type {number} */ s) => new Date(s * 1000).toUTCString();
  /** @type {[string | null, number | null][]} */
  const cases = [
    [null, null],
    ['', null],
    ['5', 5],
    [' 1.5 ', 1.5],
    ['0', 0],
    ['-3', 0],
    [date(START + 10), 9.5],
    [date(START - 100), 0],
    ['soon', null],
    ['Infinity', null],
  ];
  for (const [value, expected] of cases) assert.equal(parseRetryAfter(value, NOW), expected, String(value));
});
