/**
 * The Verify page in real headless Chromium (Debian's chromium via playwright-core): served from the explorer's
 * own asset build over loopback HTTP, then taken offline; a valid attestation verifies with every check passed,
 * and each tampered variant fails at the check that catches it; so does an access proof (the file
 * `lianxin receipt prove --out` writes, made by node/verifier/test-access-proof.ts) and its tampered variants.
 * Screenshots go to test-results/screenshots/.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildWebAssets } from '../../node/explorer/web-bundle.ts';
import { attestationBytes } from '../../node/receipts/attestation-signer.ts';
import {
  attest,
  attestBatch,
  bundleOf,
  creditRecordLeaf,
  createTestLog,
  createTestOrg,
  generateTestKey,
  resigned,
  signCheckpoint,
  type TestLog,
  type TestOrg,
} from '../../node/receipts/test-fixtures.ts';
import { encodeLogLeaf } from '../../node/receipts/attestation-codec.ts';
import {
  accessProofFileText,
  createAccessProofFixture,
  signedExchange,
  accessLog,
  type AccessProofFixture,
} from '../../node/verifier/test-access-proof.ts';
import { editBundle } from '../../node/receipts/test-fixtures.ts';
import { ACCESS_PROOF_STEP_IDS } from '../../node/verifier/steps.ts';
import { nodeCrypto } from '../../node/verifier/node-crypto.ts';
import { parseTrustBundle, trustBundleFingerprint } from '../../node/verifier/trust-bundle.ts';
import { launchChromium, saveScreenshot } from '../support/browser.ts';

let server: Server;
let baseUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let org: TestOrg;
let log: TestLog;
let bundleJson: string;
/** The same registry state as the node's explorer serves it: compact, stamped with its own export time. */
let servedBundleJson: string;

const LEAF = 3;
/** The record content whose digest leaf 3 commits to (creditRecordLeaf: SHA-256 of "record 3"). */
const RECORD = Buffer.from(`record ${LEAF}`);

beforeAll(async () => {
  const assets = await buildWebAssets();
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    // The node's own trust bundle, as its explorer serves it (the "Fetch from this node" button).
    if (path === '/api/trust-bundle') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(servedBundleJson);
      return;
    }
    const asset = assets.get(path);
    if (asset === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': asset.contentType }).end(asset.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const created = await createTestOrg('HangzhouAgencyMSP', 'agency');
  org = created;
  log = createTestLog(org, 6);
  bundleJson = JSON.stringify(bundleOf([created]), null, 2);
  servedBundleJson = JSON.stringify(bundleOf([created], new Date('2026-12-07T23:00:00Z')));
  expect(createHash('sha256').update(RECORD).digest()).toEqual(
    Buffer.from(creditRecordLeaf(org.mspId, LEAF).creditRecord?.recordDigest as Uint8Array),
  );

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  await page.goto(`${baseUrl}/verify.html`);
  await context.setOffline(true);
  await page.setInputFiles('#bundle-file', {
    name: 'trust-bundle.json',
    mimeType: 'application/json',
    buffer: Buffer.from(bundleJson),
  });
});

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await new Promise((resolve) => (server as Server | undefined)?.close(resolve));
});

async function verify(name: string, bytes: Uint8Array, artifact?: Buffer): Promise<Record<string, string>> {
  await page.setInputFiles(
    '#artifact-file',
    artifact === undefined ? [] : { name: 'record.json', mimeType: 'application/octet-stream', buffer: artifact },
  );
  await page.setInputFiles('#attestation-file', {
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(bytes),
  });
  return stepsOnceVerified(name);
}

/** Each check's status once the page has given its verdict on `name`. */
async function stepsOnceVerified(name: string): Promise<Record<string, string>> {
  await page.locator('#verdict', { hasText: name }).waitFor();
  const steps: Record<string, string> = {};
  for (const row of await page.locator('#steps tbody tr').all()) {
    steps[(await row.getAttribute('data-step')) ?? ''] = (await row.getAttribute('data-status')) ?? '';
  }
  return steps;
}

describe('the Verify page, offline in Chromium', () => {
  it('verifies a valid attestation and the document it is about, every check passed', async () => {
    const steps = await verify('valid.binpb', attestationBytes(attest(log, LEAF)), RECORD);
    expect(steps).toEqual({
      format: 'passed',
      'batch-proof': 'passed',
      'node-signature': 'passed',
      'leaf-hash': 'passed',
      'checkpoint-signature': 'passed',
      'inclusion-proof': 'passed',
      anchor: 'passed',
      artifact: 'passed',
    });
    expect(await page.textContent('#verdict')).toContain('every check passed');
    await saveScreenshot(page, 'verify-valid');
  });

  const failingAt = (step: string) => async (name: string, bytes: () => Uint8Array, artifact?: Buffer) => {
    const steps = await verify(name, bytes(), artifact);
    expect(steps[step], name).toBe('failed');
    const order = Object.keys(steps);
    for (const earlier of order.slice(0, order.indexOf(step)))
      expect(steps[earlier], `${name}: ${earlier}`).toBe('passed');
    return steps;
  };

  it('fails each tampered variant at the check that catches it', async () => {
    const valid = attest(log, LEAF);
    const validBytes = attestationBytes(valid);
    await failingAt('format')('garbage.binpb', () => Uint8Array.of(0x0a, 0xff, 0xff, 0xff));
    await failingAt('node-signature')('signature-flipped.binpb', () => {
      const bytes = Uint8Array.from(validBytes);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0x01; // inside the DER signature's s
      return bytes;
    });
    await failingAt('leaf-hash')('leaf-version-2.binpb', () =>
      attestationBytes(
        resigned(valid, org.receiptKey, { leaf: encodeLogLeaf({ ...creditRecordLeaf(org.mspId, LEAF), version: 2 }) }),
      ),
    );
    await failingAt('checkpoint-signature')('checkpoint-foreign-key.binpb', () =>
      attestationBytes(
        resigned(valid, org.receiptKey, {
          checkpoint: { ...valid.checkpoint, note: signCheckpoint(org.origin, 6, log.rootHash, generateTestKey()) },
        }),
      ),
    );
    await failingAt('inclusion-proof')('proof-hash-flipped.binpb', () => {
      const hashes = (valid.inclusion?.hashes ?? []).map((h) => Uint8Array.from(h));
      const first = hashes[0];
      if (first !== undefined) first[0] = (first[0] ?? 0) ^ 0x01;
      return attestationBytes(resigned(valid, org.receiptKey, { inclusion: { ...valid.inclusion, hashes } }));
    });
    await failingAt('anchor')('other-channel.binpb', () =>
      attestationBytes(resigned(valid, org.receiptKey, { anchor: { ...valid.anchor, channel: 'elsewhere' } })),
    );
    await failingAt('artifact')('valid-wrong-document.binpb', () => validBytes, Buffer.from('another record'));
    await saveScreenshot(page, 'verify-tampered-artifact');
  });

  it('verifies a v2 attestation (signed per batch, as the node issues them) and fails one with a changed batch path', async () => {
    const [, valid] = attestBatch(log, [1, LEAF, 5]);
    if (valid?.batch == null) throw new Error('the batch signer gave no batch');
    const steps = await verify('valid-v2.binpb', attestationBytes(valid), RECORD);
    expect(
      Object.values(steps).every((status) => status === 'passed'),
      JSON.stringify(steps),
    ).toBe(true);
    expect(await page.textContent('#steps')).toContain('attestation 1 of a batch of 3');
    await saveScreenshot(page, 'verify-valid-v2'); // README's node/explorer/screenshots/verify.png
    const path = valid.batch.path.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 0x01 : b)) : h));
    await failingAt('batch-proof')('v2-path-flipped.binpb', () =>
      attestationBytes({ ...valid, batch: { ...valid.batch, path } }),
    );
    await saveScreenshot(page, 'verify-tampered-v2-path');
  });
});

describe('a trust bundle fetched from the node serving the Verify page', () => {
  it("is labelled as trusting that node, with the fingerprint another node's `lianxin bundle export` prints", async () => {
    const online = await (await browser.newContext()).newPage();
    await online.goto(`${baseUrl}/verify.html`);
    await online.locator('#fetch-bundle').click();
    // The CLI's file (indented, exported at another time) has the fingerprint the page shows for the fetched one.
    const fingerprint = trustBundleFingerprint(parseTrustBundle(bundleJson, nodeCrypto).json, nodeCrypto);
    await online.locator('#loaded', { hasText: `its fingerprint is ${fingerprint}` }).waitFor();
    expect(await online.textContent('#loaded')).toContain('the verdict trusts this node');
    await online.setInputFiles('#attestation-file', {
      name: 'valid.binpb',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(attestationBytes(attest(log, LEAF))),
    });
    await online.locator('#verdict', { hasText: 'valid.binpb' }).waitFor();
    expect(await online.textContent('#verdict')).toMatch(/every check passed .*trusting this node/);
    await saveScreenshot(online, 'verify-fetched-bundle');
    await online.context().close();
  });
});

describe('an access proof on the Verify page, offline in Chromium', () => {
  let fx: AccessProofFixture;
  const json = (text: string) => JSON.parse(text) as { bundle: Record<string, { signature: { signature: string } }> };

  async function useTrustBundle(name: string, trust: unknown): Promise<void> {
    await page.setInputFiles('#bundle-file', {
      name,
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(trust)),
    });
    await page.locator('#loaded', { hasText: name }).waitFor();
  }

  async function verifyFile(name: string, text: string): Promise<Record<string, string>> {
    await page.setInputFiles('#artifact-file', []);
    await page.setInputFiles('#attestation-file', {
      name,
      mimeType: 'application/json',
      buffer: Buffer.from(text),
    });
    return stepsOnceVerified(name);
  }

  /** The proof fails at `step`, every check before it passed; returns the failing row's text. */
  async function failsAt(step: string, name: string, text: string): Promise<string> {
    const steps = await verifyFile(name, text);
    expect(steps[step], `${name}: ${JSON.stringify(steps)}`).toBe('failed');
    const order = Object.keys(steps);
    for (const earlier of order.slice(0, order.indexOf(step)))
      expect(steps[earlier], `${name}: ${earlier}`).toBe('passed');
    return (await page.locator(`#steps tr[data-step="${step}"]`).textContent()) ?? '';
  }

  /** `base64` with its last byte flipped: inside a DER signature's s. */
  const flipLast = (base64: string) => {
    const bytes = Buffer.from(base64, 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    return bytes.toString('base64');
  };

  beforeAll(async () => {
    fx = await createAccessProofFixture();
    await useTrustBundle('access-trust-bundle.json', fx.trustJson);
  });

  it("verifies an access proof: the bundle, the access leaf's attestation and the leaf, every check passed", async () => {
    const steps = await verifyFile('access-proof.json', fx.fileText);
    // Every check of the core's list, in its order, passed.
    expect(Object.entries(steps)).toEqual(ACCESS_PROOF_STEP_IDS.map((id) => [id, 'passed']));
    expect(await page.textContent('#loaded')).toContain('access proof: access-proof.json');
    expect(await page.textContent('#verdict')).toContain('every check passed');
    await saveScreenshot(page, 'verify-access-proof'); // README's node/explorer/screenshots/verify-access-proof.png
  });

  it('fails each tampered access proof at its own check', async () => {
    const proof = json(fx.fileText);
    const withSignature = (message: string) => {
      const copy = structuredClone(proof);
      const signed = copy.bundle[message];
      if (signed === undefined) throw new Error(`no ${message}`);
      signed.signature.signature = flipLast(signed.signature.signature);
      return JSON.stringify(copy);
    };
    expect(await failsAt('request-signature', 'request-signature-flipped.json', withSignature('request'))).toContain(
      'SIGNATURE_INVALID',
    );
    expect(await failsAt('receipt-signature', 'receipt-signature-flipped.json', withSignature('receipt'))).toContain(
      'SIGNATURE_INVALID',
    );
    expect(await failsAt('acknowledgement', 'ack-signature-flipped.json', withSignature('acknowledgement'))).toContain(
      'SIGNATURE_INVALID',
    );

    // What a lying bank node could sign: its own attestation of the leaf with a changed part.
    const valid = attest(fx.log, 1);
    const reattested = (change: Parameters<typeof resigned>[2]) =>
      accessProofFileText(fx.bundle, attestationBytes(resigned(valid, fx.bank.receiptKey, change)));
    const hashes = (valid.inclusion?.hashes ?? []).map((h, i) =>
      i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 0x01 : b)) : h,
    );
    expect(
      await failsAt(
        'inclusion-proof',
        'inclusion-path-flipped.json',
        reattested({ inclusion: { ...valid.inclusion, hashes } }),
      ),
    ).toContain('BAD_INCLUSION_PROOF');
    const forged = signCheckpoint(fx.bank.origin, 3, fx.log.rootHash, generateTestKey());
    expect(
      await failsAt(
        'checkpoint-signature',
        'checkpoint-foreign-key.json',
        reattested({ checkpoint: { ...valid.checkpoint, note: forged } }),
      ),
    ).toContain('BAD_CHECKPOINT_SIGNATURE');
    await saveScreenshot(page, 'verify-access-proof-tampered-checkpoint');
    await failsAt(
      'anchor',
      'anchor-other-channel.json',
      reattested({ anchor: { ...valid.anchor, channel: 'elsewhere' } }),
    );

    // The leaf of another exchange between the same two institutions, properly logged and attested.
    const other = signedExchange(fx.bank, fx.agency);
    const otherLeaf = attest(accessLog(fx.bank, other), 1);
    expect(
      await failsAt(
        'access-leaf',
        'another-exchanges-leaf.json',
        accessProofFileText(fx.bundle, attestationBytes(otherLeaf)),
      ),
    ).toContain('ACCESS_LEAF_MISMATCH');
  });

  it("fails the checkpoint signature when the bank's log key was not yet valid, per the trust bundle", async () => {
    const notYet = editBundle(fx.trustJson, (draft) => {
      for (const key of draft.keys)
        if (key.mspId === fx.bank.mspId && key.role === 'log') key.validFrom = '2026-11-23T13:00:00.000Z';
    });
    await useTrustBundle('trust-bundle-log-key-later.json', notYet);
    expect(await failsAt('checkpoint-signature', 'access-proof-key-window.json', fx.fileText)).toContain(
      'KEY_NOT_VALID_AT_TIME',
    );
    const expired = editBundle(fx.trustJson, (draft) => {
      for (const key of draft.keys)
        if (key.mspId === fx.bank.mspId && key.role === 'receipt') key.validUntil = '2026-11-23T10:00:00.000Z';
    });
    await useTrustBundle('trust-bundle-receipt-key-expired.json', expired);
    expect(await failsAt('request-signature', 'access-proof-receipt-key-window.json', fx.fileText)).toContain(
      'no receipt key',
    );
    await useTrustBundle('access-trust-bundle-again.json', fx.trustJson);
  });
});
