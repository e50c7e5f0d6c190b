import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCryptoMaterial, loadConsortium } from '../network/pki/index.ts';
import { prepareConsortium } from './consortium-processes.ts';

const DEMO = fileURLToPath(new URL('../network/consortium.yaml', import.meta.url));
const YEAR_MS = 365 * 86_400_000;

describe('prepareConsortium', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lianxin-prepare-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says how many expired leaves it reissued, not only what it created and kept (review33 N3)', async () => {
    // Issued three years ago: every leaf (two years) has expired, no CA (ten) has.
    const issued = new Date(Date.now() - 3 * YEAR_MS);
    await generateCryptoMaterial(await loadConsortium(DEMO), join(dataDir, 'crypto'), { now: issued });
    const said: string[] = [];
    await prepareConsortium(DEMO, dataDir, (line) => said.push(line));
    expect(said).toEqual([expect.stringMatching(/: 0 files created, [1-9]\d* reissued \(keys kept\), \d+ kept$/)]);
  });
});
