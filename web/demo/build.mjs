// Builds the chat demo for the local stack: bundles main.js (with the token client and
// @gomomento/sdk-web) with esbuild and copies the page next to it.
//
//   node web/demo/build.mjs [OUTDIR]      (default web/demo/dist; `npm run build:demo`, `make run`)

import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, 'dist'));
const STATIC_FILES = ['index.html', 'style.css'];

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'main.js')],
  outfile: join(outdir, 'demo.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  logLevel: 'warning',
});
await Promise.all(STATIC_FILES.map((name) => copyFile(join(here, name), join(outdir, name))));
