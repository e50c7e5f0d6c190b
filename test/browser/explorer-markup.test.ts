/**
 * The explorer's pages show what the chain holds as text, never as markup: in real headless Chromium, a regulator's
 * node whose registry (a typed fake of the chain) names an institution, its city, node, endpoint, log origin and key
 * with HTML in them, whose chain index gives a record's origin, transaction and digest so, and whose audit finds an
 * access whose receipt and finding carry HTML in every string: the consortium, record and audit pages. A page that
 * parsed any of these strings (innerHTML, insertAdjacentHTML) would create the elements they carry; the test finds
 * none, and the strings shown as they are.
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
  txId: '<i id="injected-tx">tx-9</i>',
  recordDigest: '<i id="injected-digest">cd</i>',
  blockNumber: '<i id="injected-block">9</i>',
};
/** The strings of an access receipt and its audit finding, as the chain and the audit give them. */
const HOSTILE_ACCESS = {
  requester: '<i id="injected-requester">BankMSP</i>',
  provider: '<i id="injected-provider">AgencyMSP</i>',
  subject: '<i id="injected-subject">91330100716105852D</i>',
  purpose: '<img id="injected-purpose" src="x">loan review',
  accessedAt: '<i id="injected-accessed">2026-12-05</i>',
  receiptDigest: '<i id="injected-receipt">ab</i>',
  reason: '<img id="injected-reason" src="x">no bundle',
  field: '<i id="injected-field">bundle</i>',
};
const SUBJECT = '91330100716105852D';
const MSP = 'EvilMSP';

let server: Server;
let browser: Browser;
let base: string;

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
      node: { mspId: MSP, role: 'regulator' },
      chain: {
        registrySnapshot: () => Promise.resolve({ organizations: [organization], keys: [key], nodes: [node] }),
        getCheckpoint: () => Promise.resolve(undefined),
        channelCaCertificates: () => Promise.resolve(new Map()),
      },
      channel: 'lianxin',
      chainIndex: {
        getIndexRecord: (subject, kind) =>
          Promise.resolve({
            subject,
            kind,
            version: 1,
            origin: HOSTILE.origin,
            leafIndex: 0,
            leafHash: 'ab'.repeat(32),
            recordDigest: HOSTILE.recordDigest,
            checkpointSize: 1,
            txId: HOSTILE.txId,
            blockNumber: HOSTILE.blockNumber,
            anchoredAt: AT,
          }),
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
      audit: () =>
        Promise.resolve([
          {
            receipt: {
              ...HOSTILE_ACCESS,
              consentId: '<i id="injected-consent">c-1</i>',
              recordedBy: MSP,
              recordedAt: AT,
              txId: HOSTILE.txId,
            },
            verdict: 'BUNDLE_MISSING',
            findings: [{ code: 'BUNDLE_MISSING', reason: HOSTILE_ACCESS.reason, field: HOSTILE_ACCESS.field }],
            bundleFrom: undefined,
          },
        ]),
      // The chart's window ends at the anchors' day, whatever day the test runs.
      now: () => new Date(AT),
    }),
    assets: webAssets,
    // The node's own regulator: every page, the record's detail and the audit included, is served.
    viewerOf: () =>
      Promise.resolve({
        kind: 'member',
        caller: { mspId: MSP, role: 'regulator', commonName: 'Auditor1', fingerprint: 'AB:CD' },
      }),
  });
  server = createServer((req, res) => {
    void routes(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/explorer/`;
  browser = await launchChromium();
});

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await new Promise((resolve) => (server as Server | undefined)?.close(resolve));
});

describe("the explorer's pages with markup in the registry's names", () => {
  /** `path` of the explorer, loaded until its data is shown, with none of the injected elements in it. */
  async function opened(path: string) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}${path}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    expect(await page.locator('[id^="injected-"]').count()).toBe(0);
    return page;
  }

  it('show every name as text and create none of the elements it carries', async () => {
    const page = await opened('consortium.html');
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

  it("show a record's origin, transaction and digest from the chain index as text", async () => {
    const page = await opened(`record.html?subject=${SUBJECT}&kind=loan`);
    expect(await page.locator('#chain-status').textContent()).toContain(HOSTILE.origin);
    const cells = await page.locator('#evidence td').allTextContents();
    for (const text of [HOSTILE.origin, HOSTILE.txId, HOSTILE.recordDigest, HOSTILE.blockNumber]) {
      expect(cells).toContain(text);
    }
    await saveScreenshot(page, 'record-markup-names');
    await page.context().close();
  });

  it("show an access receipt's names and the audit's finding as text", async () => {
    const page = await opened(`audit.html?subject=${SUBJECT}`);
    const cells = await page.locator('#accesses td').allTextContents();
    for (const text of [
      HOSTILE_ACCESS.accessedAt,
      HOSTILE_ACCESS.requester,
      HOSTILE_ACCESS.provider,
      HOSTILE_ACCESS.subject,
      HOSTILE_ACCESS.purpose,
      `${HOSTILE_ACCESS.reason} [${HOSTILE_ACCESS.field}]`,
    ]) {
      expect(cells).toContain(text);
    }
    expect(await page.locator('#accesses code[title]').getAttribute('title')).toBe(HOSTILE_ACCESS.receiptDigest);
    await saveScreenshot(page, 'audit-markup-names');
    await page.context().close();
  });
});
