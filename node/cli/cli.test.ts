/**
 * The command line as a user meets it: exit codes and one-line reasons for usage mistakes, and `verify` end to
 * end and offline on node/receipts' golden attestations (and tampered copies of them).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedTlsPair } from '../../test/support/exposed-tls-pair.ts';
import { lianxin } from './test-io.ts';

const TESTDATA = fileURLToPath(new URL('../receipts/testdata/', import.meta.url));
const BUNDLE = join(TESTDATA, 'trust-bundle.v1.json');
const CREDIT = join(TESTDATA, 'credit-record-attestation.v1.binpb');
const RECEIPT = join(TESTDATA, 'notarization-receipt.v1.binpb');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONSORTIUM = join(ROOT, 'network', 'consortium.yaml');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lianxin-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lianxin: usage', () => {
  it.each([
    [[], /Usage: lianxin <command>/],
    [['frobnicate'], /^lianxin: unknown command 'frobnicate'\n$/],
    [['stauts'], /^lianxin: unknown command 'stauts'\n\(Did you mean status\?\)\n$/],
    [['status', '--bogus'], /^lianxin status: unknown option '--bogus'\n$/],
    [['status', 's', 'k', '--jsn'], /^lianxin status: unknown option '--jsn'\n\(Did you mean --json\?\)\n$/],
    [['status', 'only-subject'], /^lianxin status: missing required argument 'kind'\n$/],
    [['status', 's', 'k', '1', 'extra'], /too many arguments for 'status'\. Expected 3 arguments but got 4/],
    [['proof', 'inclusion', 'minus-one'], /leaf-index must be a whole number/],
    [['proof', 'sideways', '1', '2'], /^lianxin proof: unknown command 'sideways'\n$/],
    [['ingest', 'records.txt'], /cannot tell the format of records\.txt/],
    [['ingest', 'a.csv', '--batch', '0'], /--batch must be a whole number of at least 1/],
    [['info'], /no node to call: give --node host:port, or --msp with --crypto-dir/],
    [['info', '--node', 'localhost'], /--node must be host:port/],
    [['info', '--msp', 'HangzhouCreditMSP'], /--msp needs --crypto-dir/],
    [['info', '--node', '127.0.0.1:7102'], /no TLS CA/],
    [['info', '--node', '127.0.0.1:7102', '--tls-ca', 'ca.pem', '--cert', 'c.pem'], /--cert and --key go together/],
    [['notarize', '--party', 'X'], /give either a document file or --digest/],
    [['notarize', '--digest', 'abc', '--party', 'X'], /--digest must be a SHA-256 digest/],
    [['notarize', '--digest', 'a'.repeat(64)], /give at least one --party/],
    [['notarize', '--digest', 'a'.repeat(64), '--party', 'X', '--label', 'novalue'], /--label must be key=value/],
    [['verify', CREDIT], /^lianxin verify: required option '--bundle <file>' not specified\n$/],
    [['verify', CREDIT, '--bundle', BUNDLE, '--digest', 'abc'], /--digest must be sha256: and 64 hex digits/],
    [
      ['verify', CREDIT, '--bundle', BUNDLE, '--digest', `sha256:${'a'.repeat(64)}`, '--artifact', BUNDLE],
      /give --artifact or --digest, not both/,
    ],
    [['verify', CREDIT, '--bundle', BUNDLE, '--at', 'yesterday'], /--at must be an RFC 3339 time/],
    // Date.parse reads these; RFC 3339 (as the chain writes times) does not.
    [['verify', CREDIT, '--bundle', BUNDLE, '--at', '2026-11-24'], /--at must be an RFC 3339 time/],
    [['verify', CREDIT, '--bundle', BUNDLE, '--at', 'Tue, 24 Nov 2026 08:00:00 GMT'], /--at must be an RFC 3339 time/],
    [['bundle', 'import'], /^lianxin bundle: unknown command 'import'\n\(Did you mean export\?\)\n$/],
    [['bundle', 'export', '--crypto-dir', 'x', '--msp', 'M'], /required option '-o, --out <file>' not specified/],
    [
      ['consent', 'grant', 'S', '--purpose', 'P', '--kinds', 'loan', '--from', 'tomorrow'],
      /--from must be an RFC 3339/,
    ],
    [['consent', 'grant', 'S', '--purpose', 'P', '--kinds', 'loan', '--until', '2026-13-01'], /--until must be an/],
    [['ledger', 'info'], /--msp is required \(the organisation to query as\), with --crypto-dir or --msp-dir/],
  ])('exits 2 with a one-line reason for lianxin %j', async (argv, reason) => {
    const run = await lianxin(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(reason);
    expect(run.stdout).toBe('');
  });

  it('takes the node from LIANXIN_NODE', async () => {
    const run = await lianxin(['info'], { LIANXIN_NODE: 'no-port' });
    expect(run).toMatchObject({
      code: 2,
      stderr: 'lianxin info: --node (from LIANXIN_NODE) must be host:port, got "no-port"\n',
    });
  });

  it('prints the command list and each command usage on --help, exit 0', async () => {
    const list = await lianxin(['--help']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ingest .*\n.*status/s);
    for (const name of [
      'ingest',
      'status',
      'attest',
      'notarize',
      'notarization',
      'checkpoint',
      'proof',
      'info',
      'verify',
      'bundle',
      'ledger',
    ]) {
      const help = await lianxin([name, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: lianxin ${name}`);
      expect(help.stdout).toContain('Exit status: 0 done; 1 the operation or check failed');
    }
    // The connection options are one definition, shown under one heading by every node command.
    for (const name of ['ingest', 'status', 'attest', 'notarize', 'notarization', 'checkpoint', 'info']) {
      const help = await lianxin([name, '--help']);
      expect(help.stdout).toMatch(/Connection to the node:\n {2}--node <host:port> /);
      expect(help.stdout).toContain('CORE_PEER_LOCALMSPID');
    }
    const bundle = await lianxin(['bundle', 'export', '--help']);
    expect(bundle.stdout).toMatch(/Connection to the ledger:[^]*--ledger <host:port>[^]*CORE_PEER_ADDRESS/);
  });

  it('refuses a TLS client key open to other users, naming it, exit 1 (review33 N1)', async () => {
    const { cert, key } = await exposedTlsPair(dir);
    const args = ['--node', '127.0.0.1:1', '--tls-ca', cert, '--cert', cert, '--key', key];
    const run = await lianxin(['info', ...args]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^lianxin info: ${key} is open to other users \\(mode 0644\\).*chmod 600`));
  });

  it('reports an unreadable TLS CA as a failure, exit 1', async () => {
    const run = await lianxin(['info', '--node', '127.0.0.1:1', '--tls-ca', join(dir, 'absent.pem')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lianxin info: cannot read the TLS CA .*absent\.pem: no such file/);
  });
});

describe('lianxin: where connection settings come from', () => {
  /** A profile in its own folder, so relative paths in it resolve there. */
  async function profile(name: string, yaml: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, yaml);
    return file;
  }

  it('flag over environment over profile, each named in the message', async () => {
    const file = await profile('bad-node.yaml', 'node: profile-bad\n');
    const fromProfile = await lianxin(['info', '--profile', file]);
    expect(fromProfile).toMatchObject({
      code: 2,
      stderr: `lianxin info: --node (from profile ${file}) must be host:port, got "profile-bad"\n`,
    });
    const fromEnv = await lianxin(['info', '--profile', file], { LIANXIN_NODE: 'env-bad' });
    expect(fromEnv.stderr).toBe('lianxin info: --node (from LIANXIN_NODE) must be host:port, got "env-bad"\n');
    const fromFlag = await lianxin(['info', '--profile', file, '--node', 'flag-bad'], { LIANXIN_NODE: 'env-bad' });
    expect(fromFlag.stderr).toBe('lianxin info: --node must be host:port, got "flag-bad"\n');
    // LIANXIN_PROFILE names the profile when --profile does not.
    const envProfile = await lianxin(['info'], { LIANXIN_PROFILE: file });
    expect(envProfile.stderr).toContain('got "profile-bad"');
  });

  it("takes Fabric's CORE_PEER_LOCALMSPID as --msp, below LIANXIN_MSP", async () => {
    const run = await lianxin(['info'], { CORE_PEER_LOCALMSPID: 'FabricMSP' });
    expect(run.stderr).toBe(
      'lianxin info: --msp (from CORE_PEER_LOCALMSPID) needs --crypto-dir (or LIANXIN_CRYPTO_DIR)\n',
    );
    const both = await lianxin(['info'], { CORE_PEER_LOCALMSPID: 'FabricMSP', LIANXIN_MSP: 'LianxinMSP' });
    expect(both.stderr).toContain('--msp (from LIANXIN_MSP)');
  });

  it('answers an unknown MSP with the consortium file and its MSP IDs, exit 1', async () => {
    const run = await lianxin(['info', '--msp', 'ShanghaiBnakMSP', '--crypto-dir', dir, '--consortium', CONSORTIUM]);
    expect(run).toMatchObject({
      code: 1,
      stderr:
        `lianxin info: unknown MSP "ShanghaiBnakMSP": the consortium (${CONSORTIUM}) has ShanghaiBankMSP, ` +
        'HangzhouCreditMSP, NanjingSupplyChainMSP, HefeiCreditMSP, RegulatorMSP, OperatorMSP\n',
    });
  });

  it("reads a profile's relative paths from the profile's folder", async () => {
    const file = await profile('relative.yaml', 'node: 127.0.0.1:1\ntls-ca: certs/absent-ca.pem\n');
    const run = await lianxin(['info', '--profile', file]);
    expect(run).toMatchObject({
      code: 1,
      stderr: `lianxin info: cannot read the TLS CA ${join(dir, 'certs', 'absent-ca.pem')}: no such file\n`,
    });
  });

  it('names a profile key that is no setting, and a missing profile', async () => {
    const file = await profile('typo.yaml', 'nodes: 127.0.0.1:1\n');
    const run = await lianxin(['info', '--profile', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^lianxin info: the profile ${file}: nodes is no setting \\(settings: node, tls-ca, `),
    );
    const missing = await lianxin(['info', '--profile', join(dir, 'absent.yaml')]);
    expect(missing.stderr).toBe(`lianxin info: cannot read the profile ${join(dir, 'absent.yaml')}: no such file\n`);
  });
});

describe('lianxin verify (offline)', () => {
  it('verifies the golden credit-record attestation and sums it up, exit 0', async () => {
    const run = await lianxin(['verify', CREDIT, '--bundle', BUNDLE]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('issuer      HangzhouAgencyMSP');
    expect(run.stdout).toContain('origin      lianxin/HangzhouAgencyMSP/main');
    expect(run.stdout).toContain('leaf        credit record 91330100MA27XK5U3F loan v3');
    expect(run.stdout).toContain('position    leaf 2 of tree size 5');
    expect(run.stdout).toContain('state       ANCHORED');
    expect(run.stdout).toMatch(/anchor {6}channel lianxin, chaincode lianxin, tx a{64}, block 42/);
  });

  it('verifies a golden v2 attestation, signed per batch, and fails one with a changed batch path', async () => {
    const v2 = join(TESTDATA, 'credit-record-attestation.v2.binpb');
    const bundleV2 = join(TESTDATA, 'trust-bundle.for-attestation-v2.json');
    const run = await lianxin(['verify', v2, '--bundle', bundleV2]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('position    leaf 2 of tree size 5');
    const tampered = Buffer.from(await readFile(v2));
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0x01; // in the batch path, the last field
    const file = join(dir, 'tampered-v2.binpb');
    await writeFile(file, tampered);
    const failed = await lianxin(['verify', file, '--bundle', bundleV2]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^lianxin verify: .*tampered-v2\.binpb: BAD_BATCH_PROOF: /);
    const steps = await lianxin(['verify', file, '--bundle', bundleV2, '--steps']);
    expect(steps.code).toBe(1);
    expect(
      steps.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.trim().split(/ +/).slice(0, 2).join(' '))
        .slice(0, 3),
    ).toEqual(['✔ format', '✘ batch-proof', '· node-signature']);
    expect(steps.stdout).toContain('BAD_BATCH_PROOF: attestation 1 of a batch of 3 is not proven under the batch root');
  });

  it('verifies the golden notarization receipt, as JSON, with --require-anchored', async () => {
    const run = await lianxin(['verify', RECEIPT, '--bundle', BUNDLE, '--require-anchored', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      verified: true,
      issuer: 'SuzhouPlatformMSP',
      origin: 'lianxin/SuzhouPlatformMSP/contracts',
      leaf: {
        type: 'contract',
        parties: ['91330100MA27XK5U3F', 'ShanghaiBankMSP'],
        labels: { contract_type: 'purchase' },
      },
      leafIndex: 2,
      treeSize: 3,
      state: 'ANCHORED',
      anchor: { channel: 'lianxin', blockNumber: 42 },
    });
  });

  it('fails a tampered copy with the verifier code and reason, exit 1', async () => {
    const bytes = await readFile(CREDIT);
    const tampered = Buffer.from(bytes);
    // The subject's check character inside the logged leaf: a different record, same length.
    tampered[bytes.indexOf('91330100MA27XK5U3F') + 17] = 'G'.charCodeAt(0);
    const file = join(dir, 'tampered.binpb');
    await writeFile(file, tampered);
    const run = await lianxin(['verify', file, '--bundle', BUNDLE]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^lianxin verify: .*tampered\.binpb: BAD_NODE_SIGNATURE: node signature does not verify/,
    );
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--steps prints each check: a tampered copy fails at the node signature, the later checks not reached', async () => {
    const bytes = await readFile(CREDIT);
    const tampered = Buffer.from(bytes);
    tampered[bytes.indexOf('91330100MA27XK5U3F') + 17] = 'G'.charCodeAt(0);
    const file = join(dir, 'tampered-steps.binpb');
    await writeFile(file, tampered);
    const run = await lianxin(['verify', file, '--bundle', BUNDLE, '--steps']);
    expect(run.code).toBe(1);
    expect(
      run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.trim().split(/ +/).slice(0, 2).join(' ')),
    ).toEqual([
      '✔ format',
      '✔ batch-proof',
      '✘ node-signature',
      '· leaf-hash',
      '· checkpoint-signature',
      '· inclusion-proof',
      '· anchor',
      '· artifact',
    ]);
    expect(run.stdout).toContain('BAD_NODE_SIGNATURE: node signature does not verify');
  });

  it('fails an attestation whose origin the bundle gives to another organisation', async () => {
    const json = JSON.parse(await readFile(BUNDLE, 'utf8')) as { origins: { origin: string; mspId: string }[] };
    const swapped = {
      ...json,
      origins: json.origins.map((o) => ({
        ...o,
        mspId: o.mspId === 'HangzhouAgencyMSP' ? 'SuzhouPlatformMSP' : 'HangzhouAgencyMSP',
      })),
    };
    const file = join(dir, 'swapped-bundle.json');
    await writeFile(file, JSON.stringify(swapped));
    const run = await lianxin(['verify', CREDIT, '--bundle', file]);
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining(': ORIGIN_NOT_OWNED: ') as string });
  });

  it('fails on an invalid trust bundle, naming the field', async () => {
    const file = join(dir, 'bad-bundle.json');
    await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(BUNDLE, 'utf8')) as object), channel: 7 }));
    const run = await lianxin(['verify', CREDIT, '--bundle', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not a valid trust bundle: .*\[field channel\]/);
  });

  it('refuses a trust bundle file over its byte cap before parsing it (review9)', async () => {
    const file = join(dir, 'huge-bundle.json');
    const bundle = await readFile(BUNDLE, 'utf8');
    await writeFile(file, bundle.padEnd(16 * 1024 * 1024 + 1, ' '));
    const run = await lianxin(['verify', CREDIT, '--bundle', file]);
    expect(run).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        `${file}: not a valid trust bundle: 16777217 bytes, more than 16777216`,
      ) as unknown,
    });
  });

  it('reads --at with an RFC 3339 offset as the instant it names (review9)', async () => {
    const at = (time: string) => lianxin(['verify', CREDIT, '--bundle', BUNDLE, '--at', time]);
    // One second before the golden keys' windows open (2026-01-01T00:00:00Z), written three ways.
    const before = await at('2025-12-31T23:59:59Z');
    expect(before.code).toBe(1);
    expect(await at('2026-01-01T07:59:59+08:00')).toEqual(before);
    expect(await at('2025-12-31T18:59:59.000-05:00')).toEqual(before);
    expect((await at('2026-01-01T08:00:00+08:00')).stderr).not.toBe(before.stderr);
    expect(await at('2026-01-01T08:00:00+24:00')).toMatchObject({ code: 2 });
  });

  it('fails on bytes that are not an attestation with BAD_FORMAT', async () => {
    const file = join(dir, 'garbage.binpb');
    await writeFile(file, Buffer.from('not a protobuf at all'));
    const run = await lianxin(['verify', file, '--bundle', BUNDLE]);
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining(': BAD_FORMAT: ') as string });
  });

  it('checks the attestation is about the artifact in hand (--artifact), exit 0, or names the mismatch, exit 1', async () => {
    // The golden attestation's record is the content `record 2`, the receipt's document `purchase contract 2`.
    const record = join(dir, 'record-2.json');
    await writeFile(record, 'record 2');
    const ok = await lianxin([
      'verify',
      CREDIT,
      '--bundle',
      BUNDLE,
      '--artifact',
      record,
      '--issuer',
      'HangzhouAgencyMSP',
    ]);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toContain(`  checked     record ${record} matches its digest; issuer is HangzhouAgencyMSP\n`);

    const other = join(dir, 'record-3.json');
    await writeFile(other, 'record 3');
    const wrong = await lianxin(['verify', CREDIT, '--bundle', BUNDLE, '--artifact', other, '--json']);
    expect(wrong).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        `lianxin verify: ${CREDIT}: MISMATCH: it is about the record ` +
        `sha256:55f3858e9bf30865a06984a61ea4e7c0f078549cd1106a11281ab39ff8cd7801, not ${other} ` +
        `(sha256:${createHash('sha256').update('record 3').digest('hex')})\n`,
    });
  });

  it('checks the digest (--digest sha256:HEX) and the issuer (--issuer) of a notarization receipt', async () => {
    const digest = createHash('sha256').update('purchase contract 2').digest('hex');
    const ok = await lianxin([
      'verify',
      RECEIPT,
      '--bundle',
      BUNDLE,
      '--digest',
      `sha256:${digest}`,
      '--issuer',
      'SuzhouPlatformMSP',
    ]);
    expect(ok.code).toBe(0);
    const otherDigest = createHash('sha256').update('purchase contract 3').digest('hex');
    const wrongDigest = await lianxin(['verify', RECEIPT, '--bundle', BUNDLE, '--digest', `sha256:${otherDigest}`]);
    expect(wrongDigest).toMatchObject({
      code: 1,
      stderr: `lianxin verify: ${RECEIPT}: MISMATCH: it is about the document sha256:${digest}, not --digest sha256:${otherDigest}\n`,
    });
    const wrongIssuer = await lianxin(['verify', RECEIPT, '--bundle', BUNDLE, '--issuer', 'HangzhouAgencyMSP']);
    expect(wrongIssuer).toMatchObject({
      code: 1,
      stderr: `lianxin verify: ${RECEIPT}: MISMATCH: issued by SuzhouPlatformMSP, not --issuer HangzhouAgencyMSP\n`,
    });
    const missing = await lianxin(['verify', RECEIPT, '--bundle', BUNDLE, '--artifact', join(dir, 'absent.pdf')]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/cannot read .*absent\.pdf: no such file/) as string,
    });
  });

  it('runs as a process through node/cli/main.ts with the same exit codes', async () => {
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'node/cli/main.ts', ...args],
          { cwd: ROOT },
          (err, stdout, stderr) => {
            resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
          },
        );
      });
    const [ok, usage] = await Promise.all([run('verify', CREDIT, '--bundle', BUNDLE), run('verify', CREDIT)]);
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringContaining('state       ANCHORED') as string });
    expect(usage).toMatchObject({
      code: 2,
      stderr: "lianxin verify: required option '--bundle <file>' not specified\n",
    });
  });
});
