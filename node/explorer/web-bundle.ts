/**
 * The explorer's browser assets, built in memory when the server starts: every `web/<name>-page.ts` is bundled by
 * esbuild into one self-contained `/<name>.js` (no imports left, so a page keeps working with the network
 * disconnected once loaded), next to the `web/*.html` and `web/*.css` files served as they are. Building at start
 * (≈ 0.1–0.3 s) instead of shipping a build output keeps one source of truth and no build step before `npm start`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { build } from 'esbuild';

export interface WebAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

const WEB_DIR = new URL('./web/', import.meta.url);
const PAGE_SUFFIX = '-page.ts';
const STATIC_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

let built: Promise<ReadonlyMap<string, WebAsset>> | undefined;

/**
 * The assets, built once per process at the first call: a node builds them when its explorer first serves a page
 * (nodes whose explorer nobody opens never pay for the build), and the nodes of one process (tests) share them.
 */
export function webAssets(): Promise<ReadonlyMap<string, WebAsset>> {
  built ??= buildWebAssets();
  // A failed build is not kept: the next page asks again.
  built.catch(() => {
    built = undefined;
  });
  return built;
}

/** Every asset by URL path (`/verify.html`, `/verify.js`, `/style.css`). */
export async function buildWebAssets(): Promise<ReadonlyMap<string, WebAsset>> {
  const files = (await readdir(WEB_DIR)).sort();
  const assets = new Map<string, WebAsset>();
  for (const file of files) {
    const type = STATIC_TYPES[file.slice(file.lastIndexOf('.'))];
    if (type !== undefined) assets.set(`/${file}`, { contentType: type, body: await readFile(new URL(file, WEB_DIR)) });
  }
  const pages = files.filter((file) => file.endsWith(PAGE_SUFFIX));
  if (pages.length === 0) return assets;
  const result = await build({
    entryPoints: Object.fromEntries(
      pages.map((file) => [file.slice(0, -PAGE_SUFFIX.length), new URL(file, WEB_DIR).pathname]),
    ),
    bundle: true,
    write: false,
    outdir: '/',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  for (const output of result.outputFiles) {
    assets.set(output.path, { contentType: 'text/javascript; charset=utf-8', body: Buffer.from(output.contents) });
  }
  return assets;
}
