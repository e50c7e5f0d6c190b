/**
 * The explorer's pages show what the chain holds as text, never as markup: in real headless Chromium, the consortium
 * page of a node whose registry (a typed fake of the chain) names an institution, its city, node, endpoint, log
 * origin and key with HTML in them. A page that parsed any of these strings (innerHTML, insertAdjacentHTML) would
 * create the elements they carry; the test finds none, and the strings shown as they are.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeRecord, Organization, PublicKeyRecord } from '../../chaincode/src/protocol.ts';
import { explorerRoutes } from '../../node/explorer/explorer-routes.ts';
import { nodeExplorerData } from '../../node/explorer/node-explorer-data.ts';
import { webAssets } from '../../node/explorer/web-bundle.ts';
import { launchChromium, saveScreenshot } from '../support/browser.ts';

const AT = '2026-12-05T10:00:00.000Z';
/** Every string the registry gives, each carrying an element with an id starting "injected-". */
const HOSTILE = {
  name: '<img id="injected-name" src="x">Evil Lending Co.',
  city: '<b id="injected-city">Hangzhou</b>',
  nodeId: '<i id="injected-node">node-1</i>',
  endpoint: '<i id="injected-endpoint">localhost:7051</i>',
  origin: 'lianxin/<i id="injected-origin">EvilMSP</i>/0',
  kid: '<i id="injected-kid">kid-1</i>',
  status: 'suspended<i id="injected-status"></i>',
};
const MSP = 'EvilMSP';

let server: Server;
let browser: Browser;
let url: string;

beforeAll(async () => {
  const organization: Organization = {
    mspId: MSP,
    name: HOSTILE.name,
    city: HOSTILE.city,
    role: 'bank',
    status: HOSTILE.status as Organization['status'],
    registeredAt: AT,
    updatedAt: AT,
  };
  const node: NodeRecord = {
    mspId: MSP,
    nodeId: HOSTILE.nodeId,
    endpoint: HOSTILE.endpoint,
    peerId: `12D3KooW${'A'.repeat(44)}`,
    addresses: [],
    shard: '0',
    origin: HOSTILE.origin,
    registeredAt: AT,
    updatedAt: AT,
  };
  const key = {
    mspId: MSP,
    kid: HOSTILE.kid,
    role: 'log',
    status: 'active',
    validFrom: AT,
    validUntil: null,
  } as PublicKeyRecord;
  const routes = explorerRoutes({
    data: nodeExplorerData({
      node: { mspId: MSP, role: 'bank' },
      chain: {
        registrySnapshot: () => Promise.resolve({ organizations: [organization], keys: [key], nodes: [node] }),
        getCheckpoint: () => Promise.resolve(undefined),
        channelCaCertificates: () => Promise.resolve(new Map()),
      },
      channel: 'lianxin',
      chainIndex: {
        getIndexRecord: () => Promise.resolve(undefined),
        anchorHistory: () =>
          Promise.resolve([
            { origin: HOSTILE.origin, size: 1, anchoredAt: '2026-12-05T09:00:00.000Z', blockNumber: '5' },
            { origin: HOSTILE.origin, size: 3, anchoredAt: AT, blockNumber: '9' },
          ]),
      },
      indexBehind: () => undefined,
      records: { get: () => Promise.resolve(undefined) },
      log: { latestCheckpoint: () => undefined },
      anchorer: { anchoredSize: 0 },
      attestations: { attest: () => Promise.reject(new Error('not used')) },
    }),
    assets: webAssets,
    viewerOf: () => Promise.resolve({ kind: 'public' }),
  });
  server = createServer((req, res) => {
    void routes(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/explorer/consortium.html`;
  browser = await launchChromium();
});

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await new Promise((resolve) => (server as Server | undefined)?.close(resolve));
});

describe("the explorer's pages with markup in the registry's names", () => {
  it('show every name as text and create none of the elements it carries', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    expect(await page.locator('[id^="injected-"]').count()).toBe(0);
    const institution = page.locator(`article[data-msp="${MSP}"]`);
    expect(await institution.locator('h3').textContent()).toContain(HOSTILE.name);
    expect(await institution.textContent()).toContain(HOSTILE.status);
    expect(await page.locator('section.city h2').textContent()).toBe(HOSTILE.city);
    const cells = await institution.locator('td').allTextContents();
    for (const text of [HOSTILE.nodeId, HOSTILE.endpoint, HOSTILE.origin, HOSTILE.kid]) expect(cells).toContain(text);
    expect(await page.locator('svg.anchor-chart text.legend').textContent()).toBe(HOSTILE.origin);
    await saveScreenshot(page, 'consortium-markup-names');
    await page.context().close();
  });
});
