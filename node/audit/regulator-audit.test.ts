import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeConfig } from '../config/index.ts';
import { runRegulatorAudit } from './regulator-audit.ts';

// The key is read before the ledger is dialled: a config naming only the key file reaches the refusal.
const configWithP2pKey = (file: string) => ({ keys: { p2p: file } }) as unknown as NodeConfig;

describe("the regulator's audit reads its p2p key as the node does", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lianxin-audit-key-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses a key file open to other users, naming the field and the chmod', async () => {
    const file = join(dir, 'p2p.key');
    await writeFile(file, privateKeyToProtobuf(await generateKeyPair('Ed25519')), { mode: 0o600 });
    await chmod(file, 0o644);
    const refused = runRegulatorAudit(configWithP2pKey(file), {});
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'keys.p2p' });
    await expect(refused).rejects.toThrow(`chmod 600 ${file}`);
  });

  it('refuses a file that holds no libp2p key, naming the field and the file', async () => {
    const file = join(dir, 'not-a-key');
    await writeFile(file, 'hello', { mode: 0o600 });
    const refused = runRegulatorAudit(configWithP2pKey(file), {});
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_CONFIG', field: 'keys.p2p' });
    await expect(refused).rejects.toThrow(file);
  });
});
