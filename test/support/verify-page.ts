/**
 * The explorer's Verify page in real headless Chromium, for tests that hold files a user would hold (an access
 * proof from a live exchange, a trust bundle the CLI exported): the page is served from the explorer's own asset
 * build over loopback HTTP, the browser is taken offline once it has loaded, and the files go in through the
 * page's file inputs, as a user picks them. The result is what the page shows: its verdict line and each check's
 * status from the rendered table.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { buildWebAssets } from '../../node/explorer/web-bundle.ts';
import { launchChromium } from './browser.ts';

export interface PageFile {
  readonly name: string;
  readonly text: string;
}

export interface VerifyPageResult {
  /** The verdict line's text. */
  readonly verdict: string;
  /** The loaded-files line's text (what the page took each file for). */
  readonly loaded: string;
  /** Each check's status as rendered (`passed`, `failed`, `not-reached`, `not-requested`), in table order. */
  readonly steps: readonly (readonly [string, string])[];
}

/**
 * Verifies `evidence` (an access receipt or proof file) with `bundle` (a trust bundle) on the Verify page, offline
 * in Chromium, and returns what the page shows once its verdict names `evidence`.
 */
export async function verifyOnPage(evidence: PageFile, bundle: PageFile): Promise<VerifyPageResult> {
  const assets = await buildWebAssets();
  const server = createServer((request, response) => {
    const asset = assets.get(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (asset === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': asset.contentType }).end(asset.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/verify.html`);
    // Nothing the verdict depends on may come from the network.
    await context.setOffline(true);
    await page.setInputFiles('#bundle-file', asFile(bundle));
    await page.setInputFiles('#attestation-file', asFile(evidence));
    return await shown(page, evidence.name);
  } finally {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

const asFile = (file: PageFile) => ({
  name: file.name,
  mimeType: 'application/json',
  buffer: Buffer.from(file.text),
});

async function shown(page: Page, name: string): Promise<VerifyPageResult> {
  await page.locator('#verdict', { hasText: name }).waitFor();
  const steps: [string, string][] = [];
  for (const row of await page.locator('#steps tbody tr').all()) {
    steps.push([(await row.getAttribute('data-step')) ?? '', (await row.getAttribute('data-status')) ?? '']);
  }
  return {
    verdict: (await page.textContent('#verdict')) ?? '',
    loaded: (await page.textContent('#loaded')) ?? '',
    steps,
  };
}
