import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeDerSignature, encodeDerSignature } from '../../crypto/index.ts';
import { channelMspsOf, createTestOrg } from '../validation/test-identities.ts';
import { organizationalUnits } from './channel-msps.ts';
import { serializeIdentity } from './signer.ts';

/** P-256's group order (SEC 2 §2.4.2): n - s is the high-S twin of a low-S signature. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

describe('ChannelMsps.verifySignatureAsync', () => {
  it('answers as verifySignature does: valid, another message, high-S, malformed, unknown MSP', async () => {
    const org = await createTestOrg('Org1MSP');
    const stranger = await createTestOrg('StrangerMSP');
    const client = await org.issue('client');
    const outsider = await stranger.issue('client');
    const message = Buffer.from('proposal bytes');
    const signature = client.sign(message);
    const sig = decodeDerSignature(signature);
    const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
      [client.serializedIdentity, message, signature],
      [client.serializedIdentity, Buffer.from('other bytes'), signature],
      [client.serializedIdentity, message, encodeDerSignature({ r: sig.r, s: P256_N - sig.s })],
      [client.serializedIdentity, message, Uint8Array.of(0x30, 0x02, 0x02, 0x00)],
      [outsider.serializedIdentity, message, outsider.sign(message)],
    ];
    // Fresh verifiers for each form.
    const sync = cases.map(([who, bytes, sig]) => channelMspsOf([org]).verifySignature(who, bytes, sig));
    for (const verifyOnThreadPool of [false, true]) {
      const async = await Promise.all(
        cases.map(([who, bytes, sig]) =>
          channelMspsOf([org], { verifyOnThreadPool }).verifySignatureAsync(who, bytes, sig),
        ),
      );
      expect(async).toEqual(sync);
      expect(async.map((check) => check.ok)).toEqual([true, false, false, false, false]);
    }
  });

  for (const [verifyOnThreadPool, where, ranBefore] of [
    [true, 'on the thread pool when asked: a callback queued behind many verifications runs before they finish', true],
    [false, 'on the event loop by default (least CPU): a callback queued behind them runs after', false],
  ] as const) {
    it(`verifies ${where}`, async () => {
      const org = await createTestOrg('Org1MSP');
      const client = await org.issue('client');
      const msps = channelMspsOf([org], { verifyOnThreadPool });
      const messages = Array.from({ length: 64 }, (_, i) => Buffer.from(`transaction ${String(i)}`));
      const signed = messages.map((m) => [m, client.sign(m)] as const);
      let finished = 0;
      const ranBeforeAllFinished = new Promise<boolean>((resolve) => {
        setImmediate(() => {
          resolve(finished < messages.length);
        });
      });
      const checks = await Promise.all(
        signed.map(async ([m, sig]) => {
          const check = await msps.verifySignatureAsync(client.serializedIdentity, m, sig);
          finished++;
          return check.ok;
        }),
      );
      expect(checks.every(Boolean)).toBe(true);
      expect(await ranBeforeAllFinished).toBe(ranBefore);
    });
  }
});

describe('ChannelMsps.validate', () => {
  it('answers each identity by its own bytes when two end alike (another MSP naming the same certificate)', async () => {
    const org = await createTestOrg('Org1MSP');
    const stranger = await createTestOrg('StrangerMSP');
    const client = await org.issue('client');
    // The same certificate under another member's name: bytes that differ only before the certificate.
    const claimed = serializeIdentity(stranger.mspId, client.certificatePem);
    const msps = channelMspsOf([org, stranger]);
    for (let round = 0; round < 2; round++) {
      expect(msps.validate(client.serializedIdentity)).toMatchObject({ ok: true, identity: { mspId: 'Org1MSP' } });
      expect(msps.validate(claimed)).toEqual({
        ok: false,
        reason: 'the supplied identity is not valid: x509: certificate signed by unknown authority',
      });
    }
  });
});

describe('organizationalUnits', () => {
  it('reads the OUs of a multi-valued RDN, as fabric-ca (Go) writes a NodeOU beside the affiliation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lianxin-ou-'));
    try {
      await promisify(execFile)('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-multivalue-rdn'],
        ...['-subj', '/O=Hyperledger/OU=client+OU=org1/CN=user1', '-days', '1'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ]);
      const certificate = new X509Certificate(await readFile(join(dir, 'cert.pem')));
      expect(certificate.subject).toMatch(/^OU=\w+ \+ OU=\w+$/m);
      expect(organizationalUnits(certificate).sort()).toEqual(['client', 'org1']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
