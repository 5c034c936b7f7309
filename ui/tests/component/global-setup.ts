/**
 * Builds the page once with the fake service injected as its first module script and
 * serves the result on a free loopback port for the component tests.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { build, type Plugin } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Puts the fake's installer before the app's script, so the mock exists first. */
function injectFake(): Plugin {
  return {
    name: 'corridor-inject-fake',
    transformIndexHtml: {
      order: 'pre',
      handler: () => [
        { tag: 'script', attrs: { type: 'module', src: '/tests/fake/install.ts' }, injectTo: 'head-prepend' },
      ],
    },
  };
}

let server: Server | undefined;
let outDir: string | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = resolve(import.meta.dirname, '../..');
  outDir = await mkdtemp(join(tmpdir(), 'corridor-ui-test-'));
  await build({
    configFile: resolve(root, '../vite.config.ts'),
    root,
    logLevel: 'warn',
    plugins: [injectFake()],
    build: { outDir, emptyOutDir: true, minify: false },
  });
  const dir = outDir;
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = normalize(join(dir, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname)));
    if (!path.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(path).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((ok) => server?.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('test server has no port');
  project.provide('baseUrl', `http://127.0.0.1:${address.port}/`);
  return async () => {
    await new Promise<void>((ok) => server?.close(() => ok()));
    if (outDir) await rm(outDir, { recursive: true, force: true });
  };
}
