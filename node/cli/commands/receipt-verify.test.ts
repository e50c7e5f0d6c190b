/**
 * `lianxin receipt verify --steps` on an access proof file (as `lianxin receipt prove --out` writes it): the same
 * named checks the Verify page shows, from the same core, each passed for a valid proof, and for a tampered one
 * the failing check with its code and nothing after it reached.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationBytes } from '../../receipts/index.ts';
import { attest, generateTestKey, resigned, signCheckpoint } from '../../receipts/test-fixtures.ts';
import { ACCESS_PROOF_STEP_IDS } from '../../verifier/steps.ts';
import { accessProofFileText, createAccessProofFixture } from '../../verifier/test-access-proof.ts';
import { lianxin } from '../test-io.ts';

let dir: string;
let trustFile: string;
let fx: Awaited<ReturnType<typeof createAccessProofFixture>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-receipt-'));
  fx = await createAccessProofFixture();
  trustFile = join(dir, 'trust-bundle.json');
  await writeFile(trustFile, JSON.stringify(fx.trustJson));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Each printed step line as [mark, id]. */
const stepsOf = (stdout: string) =>
  stdout
    .split('\n')
    .map((line) => /^ {2}([✔✘·]) (\S+)/u.exec(line))
    .filter((m) => m !== null)
    .map((m) => [m[1], m[2]]);

describe('lianxin receipt verify --steps', () => {
  it("prints every check of a valid access proof, passed, in the Verify page's order", async () => {
    const file = join(dir, 'access-proof.json');
    await writeFile(file, fx.fileText);
    const run = await lianxin(['receipt', 'verify', file, '--bundle', trustFile, '--steps']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(stepsOf(run.stdout)).toEqual(ACCESS_PROOF_STEP_IDS.map((id) => ['✔', id]));
    expect(run.stdout).toContain(`access leaf 1 of ${fx.bank.origin}`);
  });

  it('stops at the forged checkpoint signature, exit 1, with the code', async () => {
    const valid = attest(fx.log, 1);
    const note = signCheckpoint(fx.bank.origin, 3, fx.log.rootHash, generateTestKey());
    const forged = resigned(valid, fx.bank.receiptKey, { checkpoint: { ...valid.checkpoint, note } });
    const file = join(dir, 'forged.json');
    await writeFile(file, accessProofFileText(fx.bundle, attestationBytes(forged)));
    const run = await lianxin(['receipt', 'verify', file, '--bundle', trustFile, '--steps']);
    expect(run.code).toBe(1);
    const at = ACCESS_PROOF_STEP_IDS.indexOf('checkpoint-signature');
    expect(stepsOf(run.stdout)).toEqual(
      ACCESS_PROOF_STEP_IDS.map((id, i) => [i < at ? '✔' : i === at ? '✘' : '·', id]),
    );
    expect(run.stdout).toMatch(/✘ checkpoint-signature\s+BAD_CHECKPOINT_SIGNATURE/);
    expect(run.stderr).toMatch(/ACCESS_PROOF_REJECTED/);
  });

  it('prints the bundle steps of a bundle alone and marks the leaf checks not requested', async () => {
    const file = join(dir, 'bundle.json');
    await writeFile(file, accessProofFileText(fx.bundle, undefined));
    const run = await lianxin(['receipt', 'verify', file, '--bundle', trustFile, '--steps']);
    expect(run.code).toBe(0);
    expect(stepsOf(run.stdout).map(([mark]) => mark)).toEqual(ACCESS_PROOF_STEP_IDS.map((_, i) => (i < 3 ? '✔' : '·')));
  });
});
