import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { p256LogSigner } from '../log/index.ts';
import { createNodeInfoService } from './node-info-service.ts';
import { callContext, openTestNodeParts, type TestNodeParts } from './test-node-parts.ts';

let parts: TestNodeParts;

beforeEach(async () => {
  parts = await openTestNodeParts('HangzhouAgencyMSP', 'agency');
});

afterEach(async () => {
  await parts[Symbol.asyncDispose]();
});

it("reports the node's organisation, log, software version and signing key IDs", async () => {
  await parts.ingest([1, 2]);
  const { org } = parts;
  const service = createNodeInfoService({
    mspId: org.mspId,
    role: org.role,
    log: parts.log,
    logKid: p256LogSigner(org.logKey.privateKey).kid,
    receiptKid: org.receiptKey.kid,
  });
  const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };

  const info = await service.GetNodeInfo({}, callContext('ShanghaiBankMSP', 'bank'));

  expect(info).toEqual({
    mspId: 'HangzhouAgencyMSP',
    role: 'agency',
    logOrigin: org.origin,
    logSize: 2,
    version,
    // The kids the registry knows the keys by (and the trust bundle lists).
    logKeyId: org.logKey.kid,
    receiptKeyId: org.receiptKey.kid,
  });
});
