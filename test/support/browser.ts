/**
 * Real headless Chromium for the browser tests: Debian's `chromium` package (installed by .ci/run), driven by
 * playwright-core, which never downloads a browser build. `CHROMIUM_PATH` points elsewhere when needed.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const SCREENSHOT_DIR = new URL('../../test-results/screenshots/', import.meta.url);

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // The CI container runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Saves a full-page PNG under test-results/screenshots/ and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = new URL(`${name}.png`, SCREENSHOT_DIR).pathname;
  await page.screenshot({ path, fullPage: true });
  return path;
}
