/**
 * Key rotation without downtime (issue 12), through the README's own command: `lianxin keys rotate` run against a
 * running agency node registers the new log and receipt keys on chain and switches the node over its admin socket.
 * Attestations signed before and after — by the old and the new receipt key, over checkpoints of the old and the
 * new log key — all verify offline with a trust bundle exported afterwards; a checkpoint signed by the old key that
 * was still waiting for the chain when the rotation committed is anchored all the same, and the node is never
 * restarted. The node switches only once the rotation has committed: what the old key signs meanwhile falls in its
 * overlap and verifies, what it would sign after the overlap does not. A rotation the chain refuses changes nothing.
 * The key the node signs with is revoked only on purpose, and a node whose key was revoked gets a fresh one.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmod, chown, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../network/crypto/index.ts';
import { loadOrgRootCerts, orgPaths } from '../network/pki/index.ts';
import type { Attestation__Output } from '../node/api/generated/lianxin/v1/Attestation.ts';
import { lianxin } from '../node/cli/test-io.ts';
import { nextKeyFile } from '../node/keys/index.ts';
import type { LianxinNode } from '../node/node.ts';
import { buildTrustBundle, parseTrustBundle, verifyAttestation, type TrustBundle } from '../node/receipts/index.ts';
import { testUscc } from './support/chaincode-log.ts';
import { startTestNetwork, type TestNetwork } from './support/test-node.ts';

const AGENCY = 'HangzhouCreditMSP';
const BANK = 'ShanghaiBankMSP';

let net: TestNetwork;
let node: LianxinNode;
let configFile: string;
let adminMsp: string;
const clients: grpc.Client[] = [];

function call<Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

const record = (n: number) => ({
  subject: testUscc(n),
  kind: 'loan',
  version: 1,
  contentType: 'application/json',
  content: Buffer.from(`{"n":${n}}`),
});

async function ingest(requestId: string, from: number, count: number): Promise<void> {
  const agency = new net.v1.RecordService(node.address, await net.credentials(AGENCY));
  clients.push(agency);
  const records = Array.from({ length: count }, (_, i) => record(from + i));
  await call(agency.IngestBatch.bind(agency), { requestId, records });
}

async function attest(n: number): Promise<Attestation__Output> {
  const bank = new net.v1.AttestationService(node.address, await net.credentials(BANK));
  clients.push(bank);
  const answer = await call(bank.Attest.bind(bank), {
    requestId: `a${n}-${Date.now()}`,
    record: { subject: testUscc(n), kind: 'loan' },
  });
  if (!answer.attestation) throw new Error(`no attestation for record ${n}`);
  return answer.attestation;
}

async function nodeKeys(): Promise<{ logKeyId: string; receiptKeyId: string }> {
  const info = new net.v1.NodeInfoService(node.address, await net.credentials(BANK));
  clients.push(info);
  return call(info.GetNodeInfo.bind(info), {});
}

async function trustBundle(): Promise<TrustBundle> {
  const registry = await (await net.chain(BANK)).registrySnapshot();
  const certificates = await Promise.all(
    registry.organizations.map((o) => loadOrgRootCerts(net.members.cryptoDir, o.mspId)),
  );
  const json = buildTrustBundle({
    channel: net.members.consortium.channel,
    exportedAt: new Date(),
    ...registry,
    certificates,
  });
  return parseTrustBundle(JSON.stringify(json));
}

const rotate = (kind: string) =>
  lianxin(['keys', 'rotate', '--kind', kind, '--config', configFile, '--admin-msp-dir', adminMsp]);

beforeAll(async () => {
  net = await startTestNetwork();
  // A long retry: a checkpoint the chain could not take while the ledger was down stays queued across the rotation.
  node = await net.startNode(AGENCY, {
    checkpoint: { intervalSeconds: 1, leaves: 100 },
    outbox: { retryInitialMs: 4_000, retryMaxMs: 4_000 },
  });
  configFile = join(net.members.dir, 'nodes', AGENCY, 'node.yaml');
  adminMsp = orgPaths(net.members.cryptoDir, AGENCY).user('Admin').msp.dir;
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await net[Symbol.asyncDispose]();
});

describe('lianxin keys rotate', () => {
  it('rotates the log and receipt keys of a running node; old and new attestations verify offline', async () => {
    await ingest('before', 100, 20);
    await node.anchorer.whenAnchored(20);
    const before = await nodeKeys();
    const oldAttestation = await attest(105);

    // A checkpoint signed by the old log key that the chain has not taken when the rotation commits.
    await net.restartLedger(async () => {
      await ingest('in-flight', 200, 10);
      await waitFor(() => (node.log.latestCheckpoint()?.size ?? 0) === 30, 'the in-flight checkpoint');
    });
    expect(node.anchorer.anchoredSize).toBe(20);

    const log = await rotate('log');
    expect(log).toMatchObject({ code: 0, stderr: '' });
    expect(log.stdout).toContain('the running node signs with the new log key');
    const receipt = await rotate('receipt');
    expect(receipt).toMatchObject({ code: 0, stderr: '' });
    const after = await nodeKeys();
    expect(after.logKeyId).not.toBe(before.logKeyId);
    expect(after.receiptKeyId).not.toBe(before.receiptKeyId);
    // The new private keys replaced the old ones where node.yaml points, 0600; nothing pending is left.
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'log.key');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    await expect(stat(nextKeyFile(keyFile))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(keyFile, 'utf8')).toContain('PRIVATE KEY');

    // The old key's checkpoint, signed inside its window, is anchored; the node was never restarted.
    await node.anchorer.whenAnchored(30);
    await ingest('after', 300, 10);
    await node.anchorer.whenAnchored(40);

    const oldRecordNow = await attest(101);
    const newRecord = await attest(305);
    const inFlight = await attest(205);
    const bundle = await trustBundle();
    const verified = [oldAttestation, oldRecordNow, newRecord, inFlight].map((a) =>
      verifyAttestation(a, bundle, { requireAnchored: true }),
    );
    expect(verified.map((v) => v.ok)).toEqual([true, true, true, true]);
    const [v0, v1, v2, v3] = verified;
    if (!v0?.ok || !v1?.ok || !v2?.ok || !v3?.ok) return;
    expect(v0.receiptKey.kid).toBe(before.receiptKeyId);
    expect(v0.logKey.kid).toBe(before.logKeyId);
    // Issued after the rotation: the new receipt key, over the checkpoint the old log key signed in its window.
    expect(v1.receiptKey.kid).toBe(after.receiptKeyId);
    expect(v1.logKey.kid).toBe(before.logKeyId);
    expect(v2).toMatchObject({ receiptKey: { kid: after.receiptKeyId }, logKey: { kid: after.logKeyId } });
    // The in-flight checkpoint: signed by the old log key inside its overlap, anchored and verified as it was.
    expect(v3).toMatchObject({ receiptKey: { kid: after.receiptKeyId }, logKey: { kid: before.logKeyId } });

    const keys = await (await net.chain(BANK)).listKeys(AGENCY);
    expect(keys.find((k) => k.kid === before.logKeyId)).toMatchObject({
      status: 'rotated',
      replacedBy: after.logKeyId,
    });
    expect(keys.find((k) => k.kid === after.logKeyId)).toMatchObject({ status: 'active', role: 'log' });
  }, 60_000);

  it('finishes a rotation interrupted after the chain registered the new key', async () => {
    const { logKeyId } = await nodeKeys();
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'log.key');
    // What a run killed right after RotateKeyWithOverlap leaves: the new key pending beside the old one, registered.
    const spki = await pendingKey(keyFile);
    await (await net.chain(AGENCY, 'Admin')).rotateKeyWithOverlap(logKeyId, spki.toString('base64'));

    const run = await rotate('log');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('already registered by an earlier run');
    expect((await nodeKeys()).logKeyId).toBe(sha256Hex(spki));
    await ingest('after-resume', 400, 10);
    await node.anchorer.whenAnchored(50);
  }, 30_000);

  it('names a pending key file torn by a crash, to remove; the chain never saw it (review7 C1)', async () => {
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'log.key');
    const { logKeyId } = await nodeKeys();
    const torn = nextKeyFile(keyFile);
    await writeFile(torn, '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49', { mode: 0o600 });
    const run = await rotate('log');
    expect(run).toMatchObject({ code: 1 });
    expect(run.stderr).toContain(`remove ${torn} and run again`);
    expect((await nodeKeys()).logKeyId).toBe(logKeyId);
    await rm(torn);
  }, 30_000);

  it('verifies what the old key signed inside its overlap, and refuses what it signed after', async () => {
    const { receiptKeyId } = await nodeKeys();
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'receipt.key');
    // Phase one alone, with a 1 s overlap: the chain has the new key, the node still signs with the old one.
    const spki = await pendingKey(keyFile);
    const rotated = await (
      await net.chain(AGENCY, 'Admin')
    ).rotateKeyWithOverlap(receiptKeyId, spki.toString('base64'), 1);
    const old = (await (await net.chain(BANK)).listKeys(AGENCY)).find((k) => k.kid === receiptKeyId);
    expect(old).toMatchObject({ status: 'rotated', replacedBy: sha256Hex(spki) });
    const overlapEnds = Date.parse(old?.validUntil ?? '');
    expect(overlapEnds - Date.parse(rotated.result.validFrom)).toBe(1_000);
    const inOverlap = await attest(305);
    // A node that failed to switch in time: the old key past its overlap.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, overlapEnds - Date.now() + 50)));
    const afterOverlap = await attest(305);

    const run = await rotate('receipt');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('already registered by an earlier run');
    expect((await nodeKeys()).receiptKeyId).toBe(sha256Hex(spki));

    const bundle = await trustBundle();
    expect(verifyAttestation(inOverlap, bundle)).toMatchObject({ ok: true, receiptKey: { kid: receiptKeyId } });
    expect(verifyAttestation(afterOverlap, bundle)).toMatchObject({ ok: false, code: 'KEY_NOT_VALID_AT_TIME' });
  }, 30_000);

  it('leaves the key file and the node as they were when the chain refuses the rotation', async () => {
    // RotateKeyWithOverlap signed by a member who is not the organisation's admin.
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'receipt.key');
    const before = await readFile(keyFile, 'utf8');
    const { receiptKeyId } = await nodeKeys();
    const userMsp = orgPaths(net.members.cryptoDir, AGENCY).user('User1').msp.dir;
    const refused = await lianxin([
      ...['keys', 'rotate', '--kind', 'receipt', '--config', configFile, '--admin-msp-dir', userMsp],
    ]);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain('the ledger at');
    // Refused in phase one: the key file and the node are as they were, the new key left pending.
    expect(await readFile(keyFile, 'utf8')).toBe(before);
    expect(await readFile(nextKeyFile(keyFile), 'utf8')).toContain('PRIVATE KEY');
    expect((await nodeKeys()).receiptKeyId).toBe(receiptKeyId);
  }, 30_000);

  it('refuses an overlap too short for the node to switch, before the chain (review7 S2)', async () => {
    const { logKeyId } = await nodeKeys();
    for (const overlap of ['0', '29']) {
      const run = await lianxin([
        ...['keys', 'rotate', '--kind', 'log', '--config', configFile, '--admin-msp-dir', adminMsp],
        ...['--overlap', overlap],
      ]);
      expect(run).toMatchObject({ code: 2 });
      expect(run.stderr).toContain('--overlap must be whole seconds from 30 to 86400');
    }
    expect((await (await net.chain(BANK)).listKeys(AGENCY)).find((k) => k.kid === logKeyId)?.status).toBe('active');
  }, 30_000);

  it('revokes the key the node signs with only when told to; what it signs afterwards no longer verifies', async () => {
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'receipt.key');
    const { receiptKeyId } = await nodeKeys();
    const signedBefore = await attest(305);
    const revoke = (...force: string[]) =>
      lianxin([
        ...['keys', 'revoke', '--kid', receiptKeyId, '--config', configFile, '--admin-msp-dir', adminMsp],
        ...force,
      ]);
    const refused = await revoke();
    expect(refused).toMatchObject({ code: 2 });
    expect(refused.stderr).toContain(`is the receipt key the node signs with (keys.receipt ${keyFile})`);
    expect((await (await net.chain(BANK)).listKeys(AGENCY)).find((k) => k.kid === receiptKeyId)?.status).toBe('active');

    expect(await revoke('--force')).toMatchObject({ code: 0, stderr: '' });
    const signedAfter = await attest(305);
    const bundle = await trustBundle();
    expect(verifyAttestation(signedBefore, bundle)).toMatchObject({ ok: true });
    expect(verifyAttestation(signedAfter, bundle)).toMatchObject({ ok: false, code: 'KEY_REVOKED' });
  }, 30_000);

  it('gives a node whose key was revoked a fresh registered key (review7 C3)', async () => {
    const { receiptKeyId } = await nodeKeys();
    const run = await rotate('receipt');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`(registered afresh: ${receiptKeyId} is no longer active)`);
    const now = (await nodeKeys()).receiptKeyId;
    expect(now).not.toBe(receiptKeyId);
    const keys = await (await net.chain(BANK)).listKeys(AGENCY);
    expect(keys.find((k) => k.kid === now)).toMatchObject({ status: 'active', role: 'receipt' });
    expect(keys.find((k) => k.kid === receiptKeyId)).toMatchObject({ status: 'revoked', replacedBy: null });
    expect(verifyAttestation(await attest(305), await trustBundle())).toMatchObject({
      ok: true,
      receiptKey: { kid: now },
    });
  }, 30_000);

  it('refuses to register afresh past a successor still valid, naming it to revoke (review9 S7)', async () => {
    const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'receipt.key');
    const { receiptKeyId } = await nodeKeys();
    // Rotated on chain to a key whose private key was then lost; the old key's 1 s overlap runs out.
    const lost = await pendingKey(keyFile);
    const rotated = await (
      await net.chain(AGENCY, 'Admin')
    ).rotateKeyWithOverlap(receiptKeyId, lost.toString('base64'), 1);
    await rm(nextKeyFile(keyFile));
    const lostKid = sha256Hex(lost);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(rotated.result.validFrom) + 1_100 - Date.now()));
    const registered = (await (await net.chain(BANK)).listKeys(AGENCY)).length;

    const refused = await rotate('receipt');
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain(`was rotated to ${lostKid}, which is active`);
    expect(refused.stderr).toContain(`keys revoke --kid ${lostKid} --force`);
    expect((await (await net.chain(BANK)).listKeys(AGENCY)).length).toBe(registered);

    // Revoked, the lost key leaves the way to a fresh one; a node that does not switch is told its key is dead.
    await (await net.chain(AGENCY, 'Admin')).revokeKey(lostKid);
    const logFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'log.key');
    await chmod(logFile, 0o644);
    const unswitched = await rotate('receipt');
    expect(unswitched).toMatchObject({ code: 1 });
    expect(unswitched.stderr).toContain(
      `it signs with ${receiptKeyId}, no longer active: what it signs does not verify`,
    );
    await chmod(logFile, 0o600);
    const recovered = await rotate('receipt');
    expect(recovered).toMatchObject({ code: 0, stderr: '' });
    expect((await nodeKeys()).receiptKeyId).not.toBe(receiptKeyId);
  }, 30_000);

  it.runIf(process.getuid?.() === 0)(
    'installs the new key owned as the old one was, run as root (review7 S1)',
    async () => {
      const keyFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'log.key');
      await chown(keyFile, 4321, 4322);
      const run = await rotate('log');
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(await stat(keyFile)).toMatchObject({ uid: 4321, gid: 4322 });
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      // Root's key file, readable by the node's group (review9 S4): the new one is too.
      await chown(keyFile, 0, 4322);
      await chmod(keyFile, 0o640);
      expect(await rotate('log')).toMatchObject({ code: 0, stderr: '' });
      expect(await stat(keyFile)).toMatchObject({ uid: 0, gid: 4322 });
      expect((await stat(keyFile)).mode & 0o777).toBe(0o640);
    },
    30_000,
  );

  it('says until when the old key signs when the running node does not switch (review7 S1)', async () => {
    const receiptFile = join(net.members.dir, 'nodes', AGENCY, 'keys', 'receipt.key');
    const { logKeyId } = await nodeKeys();
    // The node's reload reads both key files: one open to others makes it refuse, and change nothing.
    await chmod(receiptFile, 0o644);
    const failed = await rotate('log');
    expect(failed).toMatchObject({ code: 1 });
    expect(failed.stderr).toMatch(/but the running node did not switch to it \(.*chmod 600.*\): it signs with /);
    expect(failed.stderr).toMatch(new RegExp(`signs with ${logKeyId}, valid until \\d{4}-\\d\\d-\\d\\dT`));
    expect((await nodeKeys()).logKeyId).toBe(logKeyId);
    await chmod(receiptFile, 0o600);
    const again = await rotate('log');
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain('already registered by an earlier run');
    expect((await nodeKeys()).logKeyId).not.toBe(logKeyId);
  }, 30_000);

  it('keeps leaves anchored before their log key was revoked verifying, once revoked and rotated (review20 C2)', async () => {
    const { logKeyId } = await nodeKeys();
    // Leaf 101, first anchored under the node's first log key, rotated since (not revoked).
    const firstKey = verifyAttestation(await attest(101), await trustBundle());
    expect(firstKey).toMatchObject({ ok: true });
    const anchored = node.log.size + 5;
    await ingest('before-revocation', 500, 5);
    await node.anchorer.whenAnchored(anchored);
    // Attested before the revocation, the leaf's anchor is remembered: the revocation must withdraw it (review23 #4a).
    expect(verifyAttestation(await attest(502), await trustBundle(), { requireAnchored: true })).toMatchObject({
      ok: true,
      logKey: { kid: logKeyId },
    });
    // The README's way back from a compromised log key: revoke it (--force: the node signs with it), then rotate.
    const revoked = await lianxin([
      ...['keys', 'revoke', '--kid', logKeyId, '--config', configFile, '--admin-msp-dir', adminMsp, '--force'],
    ]);
    expect(revoked).toMatchObject({ code: 0, stderr: '' });
    // The running node read the revocation at once (review23 #1), not at its next periodic read.
    expect(revoked.stdout).toContain('the running node has read the revoked keys');
    // Until rotated, the node signs with the revoked key: an error the operator sees, no retry hint (review23 #3).
    const dead = (await attest(502).then(
      () => undefined,
      (err: unknown) => err,
    )) as grpc.ServiceError | undefined;
    expect(dead).toMatchObject({ code: 9, details: expect.stringContaining('keys rotate --kind log') as unknown });
    expect(dead?.metadata.get('retry-after-ms')).toEqual([]);
    expect(node.failedChecks()).toContainEqual(expect.objectContaining({ component: 'log-key' }));
    expect(await rotate('log')).toMatchObject({ code: 0, stderr: '' });
    const fresh = (await nodeKeys()).logKeyId;
    expect(node.failedChecks()).not.toContainEqual(expect.objectContaining({ component: 'log-key' }));

    // Signed again by the fresh key (same size, same root), the log needs no new record: CHECKPOINTED at once
    // (review23 #2); ANCHORED once the log grows (the chaincode takes no second checkpoint at a size it holds).
    expect(verifyAttestation(await attest(502), await trustBundle())).toMatchObject({
      ok: true,
      state: 'EVIDENCE_STATE_CHECKPOINTED',
      logKey: { kid: fresh },
      size: anchored,
    });
    await ingest('after-revocation', 600, 3);
    await node.anchorer.whenAnchored(anchored + 3);
    const bundle = await trustBundle();
    const [old, older] = [await attest(502), await attest(101)].map((a) =>
      verifyAttestation(a, bundle, { requireAnchored: true }),
    );
    // Proven against the fresh key's anchor; a leaf first anchored under a key merely rotated keeps its first anchor.
    expect(old).toMatchObject({ ok: true, logKey: { kid: fresh }, size: anchored + 3 });
    expect(older).toMatchObject({ ok: true, logKey: { kid: firstKey.ok && firstKey.logKey.kid } });
  }, 60_000);

  it('refuses a kind it does not know, as a usage error', async () => {
    expect(await rotate('tls')).toMatchObject({ code: 2 });
  });
});

/** Writes a new P-256 key as `<keyFile>.next`, as phase one of a rotation does; its SPKI DER. */
async function pendingKey(keyFile: string): Promise<Buffer> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(nextKeyFile(keyFile), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
