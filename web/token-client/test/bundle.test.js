// The demo page bundles this module with sdk-web for browsers: check that esbuild can.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import * as esbuild from 'esbuild';

test('index.js and credentials.js bundle for browsers with esbuild', async () => {
  const result = await esbuild.build({
    stdin: {
      contents: "export * from './index.js'; export * from './credentials.js';",
      resolveDir: fileURLToPath(new URL('..', import.meta.url)),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const code = result.outputFiles[0].text;
  assert.match(code, /fromDisposableToken/);
  assert.ok(code.length < 2_000_000, `bundle is ${code.length} bytes`);
});
