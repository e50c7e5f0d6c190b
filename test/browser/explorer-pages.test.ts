/**
 * The explorer's pages in real headless Chromium (Debian's chromium through playwright-core), against a small
 * consortium of node processes on the embedded ledger: the Hangzhou agency's and the regulator's nodes run as
 * daemons with libp2p on loopback and their operations endpoints over mutual TLS; the browser presents each
 * member user's client certificate (Playwright's clientCertificates), as a user's browser would. The bank's node is
 * configured and registered (its keys sign the seeded access) but not started.
 *
 * One access is seeded as the regulator-audit test seeds it: a bundle signed with the real receipt keys, put in
 * the agency's journal by the journal's own code, which records its digest on chain. The audit page then fetches
 * and verifies it over p2p from the agency's node. Screenshots go to test-results/screenshots/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgPaths } from '../../network/pki/index.ts';
import { verifyAttestation } from '../../node/receipts/index.ts';
import { launchChromium, saveScreenshot } from '../support/browser.ts';
import { testUscc } from '../support/chaincode-log.ts';
import { eventually } from '../support/eventually.ts';
import { registryTrustBundle } from '../support/registry-bundle.ts';
import type { DaemonProcess } from '../support/node-daemon-process.ts';
import { startSeededNodes } from '../support/seeded-nodes.ts';
import { startTestNetwork, type TestNetwork } from '../support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';
const REGULATOR = 'RegulatorMSP';
const PURPOSE = 'LOAN_APPROVAL';
const SUBJECT = testUscc(700);
const ACCESSED = testUscc(701);
/** The record's content: no page or data answer may ever show it. */
const SECRET = 'CONFIDENTIAL-BALANCE-CNY-73125';
const SETTINGS = {
  log: { level: 'info' },
  checkpoint: { intervalSeconds: 1, leaves: 100 },
  operations: { tls: { enabled: true, clientAuthRequired: true } },
};
const EXPLORER_SCRIPT = new URL('../../scripts/explorer.ts', import.meta.url).pathname;

let net: TestNetwork;
let browser: Browser | undefined;
const daemons: DaemonProcess[] = [];
const contexts: BrowserContext[] = [];
const configs: Record<string, string> = {};
/** The operations endpoint (https://host:port) of each started node. */
const explorer: Record<string, string> = {};
let records: grpc.Client | undefined;
let standalone: ChildProcess | undefined;

/** A browser context presenting `mspId`'s User1 client certificate to every started node's operations endpoint. */
async function contextOf(mspId: string): Promise<BrowserContext> {
  const tls = orgPaths(net.members.cryptoDir, mspId).user('User1').tls;
  if (browser === undefined) throw new Error('no browser');
  const context = await browser.newContext({
    // The nodes' server certificates name their DNS hosts, not 127.0.0.1; the client certificate is what is tested.
    ignoreHTTPSErrors: true,
    clientCertificates: Object.values(explorer).map((origin) => ({ origin, certPath: tls.cert, keyPath: tls.key })),
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
  contexts.push(context);
  return context;
}

function call<Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

let seededDigest: string;

beforeAll(async () => {
  net = await startTestNetwork();
  const started = await startSeededNodes(
    net,
    {
      settings: SETTINGS,
      members: [AGENCY, BANK, REGULATOR],
      access: {
        requester: BANK,
        provider: AGENCY,
        subject: ACCESSED,
        purpose: PURPOSE,
        consentScope: ['loan'],
        kinds: ['loan'],
      },
      running: [AGENCY, REGULATOR],
    },
    daemons,
  );
  Object.assign(configs, started.configs);
  seededDigest = started.seededDigest;
  const agencyServing = started.serving[AGENCY];
  const regulatorServing = started.serving[REGULATOR];
  if (agencyServing === undefined || regulatorServing === undefined) throw new Error('a node did not start');
  explorer[AGENCY] = `https://${agencyServing.operations}`;
  explorer[REGULATOR] = `https://${regulatorServing.operations}`;

  const client = new net.v1.RecordService(agencyServing.grpc, await net.credentials(AGENCY));
  records = client;
  // Three batches a little over a checkpoint interval apart: three anchors, three points on the chart.
  for (const [batch, count] of [2, 3, 4].entries()) {
    if (batch > 0) await sleep(1_500);
    await call(client.IngestBatch.bind(client), {
      requestId: `explorer-${batch}`,
      records: Array.from({ length: count }, (_, i) => ({
        subject: batch === 0 && i === 0 ? SUBJECT : testUscc(710 + batch * 10 + i),
        kind: 'loan',
        version: 1,
        contentType: 'application/json',
        content: Buffer.from(JSON.stringify({ note: SECRET, batch, i })),
      })),
    });
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  standalone?.kill('SIGTERM');
  for (const context of contexts) await context.close();
  await browser?.close();
  records?.close();
  await Promise.all(daemons.map((d) => d.stop()));
  await net[Symbol.asyncDispose]();
});

describe('explorer pages in Chromium', () => {
  it("renders the consortium page: the demo's institutions by city, their nodes, keys, checkpoints and a chart", async () => {
    const page = await (await contextOf(AGENCY)).newPage();
    // The agency's anchor reaches the chart once anchored and applied to the node's chain index.
    await eventually(
      async () => {
        await page.goto(`${explorer[AGENCY]}/explorer/`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
        return (await page.locator('svg.anchor-chart circle.point').count()) >= 3 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: "the agency's three anchors on the chart" },
    );
    const shown: (string | null)[] = [];
    for (const article of await page.locator('article.institution').all()) {
      shown.push(await article.getAttribute('data-msp'));
    }
    expect(shown.sort()).toEqual(net.members.consortium.organizations.map((o) => o.mspId).sort());
    const cities = await page.locator('section.city h2').allTextContents();
    expect(cities.sort()).toEqual([...new Set(net.members.consortium.organizations.map((o) => o.city))].sort());
    const agency = page.locator(`article[data-msp="${AGENCY}"]`);
    await expect(
      agency
        .locator('code')
        .filter({ hasText: `lianxin/${AGENCY}/0` })
        .count(),
    ).resolves.toBe(1);
    await expect(agency.locator('.age').count()).resolves.toBe(1);
    await expect(agency.getByText('receipt', { exact: true }).count()).resolves.toBeGreaterThan(0);
    await expect(page.locator(`svg.anchor-chart path[data-origin="lianxin/${AGENCY}/0"]`).count()).resolves.toBe(1);
    await saveScreenshot(page, 'consortium');
  });

  it('finds an ingested subject on the record page and downloads an attestation that verifies', async () => {
    const page = await (await contextOf(AGENCY)).newPage();
    await eventually(
      async () => {
        await page.goto(`${explorer[AGENCY]}/explorer/record.html?subject=${SUBJECT}&kind=loan`);
        await page.waitForSelector('body[data-ready="true"]');
        return (await page.locator('#local-status').textContent())?.includes('anchored on the chain')
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the record anchored' },
    );
    await expect(page.locator('#chain-status').textContent()).resolves.toContain(`version 1 in lianxin/${AGENCY}/0`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const bytes = await readFile(await download.path());
    const bundle = await registryTrustBundle(net, BANK);
    expect(verifyAttestation(bytes, bundle)).toMatchObject({ ok: true });
    await saveScreenshot(page, 'record');
  });

  it('lists the seeded access with its verdict for the regulator, and refuses the audit to a bank', async () => {
    const page = await (await contextOf(REGULATOR)).newPage();
    await page.goto(`${explorer[REGULATOR]}/explorer/audit.html?subject=${ACCESSED}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const row = page.locator('#accesses tbody tr');
    await expect(row.count()).resolves.toBe(1);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1, 6)).toEqual([BANK, AGENCY, ACCESSED, PURPOSE, seededDigest.slice(0, 12)]);
    expect(await row.locator('.verdict').textContent()).toMatch(/^[A-Z_]+$/);
    await saveScreenshot(page, 'audit');

    const bank = await (await contextOf(BANK)).newPage();
    await bank.goto(`${explorer[REGULATOR]}/explorer/audit.html?subject=${ACCESSED}`);
    await bank.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await expect(bank.locator('[role="alert"]').textContent()).resolves.toMatch(/^PERMISSION_DENIED: .*role "bank"/);
    await expect(bank.locator('#accesses').count()).resolves.toBe(0);
  });

  it("never shows a record's content in any data answer", async () => {
    const context = await contextOf(REGULATOR);
    const answers = await Promise.all(
      [
        `${explorer[AGENCY]}/explorer/api/consortium`,
        `${explorer[AGENCY]}/explorer/api/record?subject=${SUBJECT}&kind=loan`,
        `${explorer[AGENCY]}/explorer/api/attestation?subject=${SUBJECT}&kind=loan`,
        `${explorer[REGULATOR]}/explorer/api/record?subject=${SUBJECT}&kind=loan`,
        `${explorer[REGULATOR]}/explorer/api/audit?subject=${ACCESSED}`,
      ].map(async (url) => {
        const res = await context.request.get(url);
        expect(res.status(), url).toBe(200);
        return (await res.body()).toString('latin1');
      }),
    );
    for (const answer of answers) expect(answer).not.toContain(SECRET);
  });

  it('serves the same pages read-only from npm run explorer, with the user certificate on the node side', async () => {
    const tls = orgPaths(net.members.cryptoDir, AGENCY).user('User1').tls;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        EXPLORER_SCRIPT,
        '--node',
        explorer[AGENCY]?.slice('https://'.length) ?? '',
        '--cert',
        tls.cert,
        '--key',
        tls.key,
        '--tls-ca',
        orgPaths(net.members.cryptoDir, AGENCY).tlsca.cert,
        '--server-name',
        'node0.hangzhou-credit.lianxin.local',
        '--listen',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    standalone = child;
    const line = await Promise.race([
      new Promise<string>((resolve) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l: string) => {
          if (l.startsWith('explorer ')) resolve(l);
        });
      }),
      once(child, 'exit').then(([code]) => {
        throw new Error(`npm run explorer exited (${String(code)})`);
      }),
    ]);
    const url = /explorer (http:\/\/\S+)/.exec(line)?.[1] ?? '';
    if (browser === undefined) throw new Error('no browser');
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    await expect(page.locator('article.institution').count()).resolves.toBe(
      net.members.consortium.organizations.length,
    );
    await expect(page.locator('svg.anchor-chart circle.point').count()).resolves.toBeGreaterThan(0);
    // Read-only: nothing but GET and HEAD.
    expect((await context.request.post(url.replace('consortium.html', 'api/consortium'))).status()).toBe(405);
  });
});
