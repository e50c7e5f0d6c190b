/**
 * npm start's demo of the cross-city report exchange (DESIGN §7), run once the nodes are healthy, with the same
 * `lianxin` commands the summary prints (in-process, so no CLI start-up per step): the Hangzhou agency loads one
 * enterprise's loan record; the Shanghai bank records the enterprise's authorization on chain as a consent; once
 * the agency's anchor has reached the bank node's chain index, the bank's node obtains the report from the
 * agency's node over libp2p and verifies it. Its own enterprise and document, so that the printed steps (for the
 * first enterprise of the demo file) still work by hand; run again by a resumed `npm start`, the record and the
 * consent are already there and a new exchange is made.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { consentIdOf } from '../chaincode/src/protocol.ts';
import { runCli } from '../node/cli/index.ts';

export interface DemoExchangeOptions {
  /** Flags that reach the consortium's material (`--crypto-dir`, `--consortium`). */
  readonly connection: readonly string[];
  /** `--ledger <address>` when the ledger is not at its consortium address; else empty. */
  readonly ledger: readonly string[];
  readonly agency: { readonly mspId: string; readonly grpc: string };
  readonly bank: { readonly mspId: string; readonly grpc: string };
  readonly subject: string;
  readonly purpose: string;
  readonly dataDir: string;
  /** How long the agency's anchor may take to reach the bank's chain index (checkpoint interval + a block). */
  readonly indexTimeoutMs: number;
}

export interface DemoExchangeResult {
  readonly consentId: string;
  /** `lianxin report request`'s own line: provider, records, where the verified report and bundle are. */
  readonly reportLine: string;
  readonly elapsedMs: number;
}

/** A step of the demo failed: the command and what it printed. */
export class DemoExchangeError extends Error {
  override readonly name = 'DemoExchangeError';
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function lianxin(argv: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { isTTY: false, write: (data: string | Uint8Array) => (stdout += Buffer.from(data).toString('utf8')) },
    stderr: { isTTY: false, write: (text: string) => (stderr += text) },
    // The commands' settings are all in argv: no LIANXIN_* of npm start's environment.
    env: {},
  });
  return { code, stdout, stderr };
}

function failed(step: string, run: Run): DemoExchangeError {
  return new DemoExchangeError(`${step}: ${(run.stderr || run.stdout).trim().split('\n').at(-1) ?? ''}`);
}

export async function runDemoExchange(o: Readonly<DemoExchangeOptions>): Promise<DemoExchangeResult> {
  const startedAt = performance.now();
  const content = JSON.stringify({ enterprise: o.subject, outstandingLoans: 420, currency: 'CNY' });
  const recordFile = join(o.dataDir, 'demo-exchange-record.csv');
  await writeFile(
    recordFile,
    `subject,kind,version,content_type,content\n${o.subject},loan,1,application/json,"${content.replaceAll('"', '""')}"\n`,
  );
  const document = `Authorization: enterprise ${o.subject} authorizes ${o.bank.mspId} to obtain its loan records for loan approval.\n`;
  const documentFile = join(o.dataDir, 'demo-exchange-authorization.txt');
  await writeFile(documentFile, document);
  const consentId = consentIdOf(o.subject, o.bank.mspId, createHash('sha256').update(document).digest('hex'));

  // The record and the consent are independent: one goes to the agency's node, the other to the chain.
  const [ingested, granted] = await Promise.all([
    lianxin(['ingest', recordFile, ...o.connection, '--msp', o.agency.mspId, '--node', o.agency.grpc]),
    lianxin([
      'consent',
      'grant',
      o.subject,
      '--purpose',
      o.purpose,
      '--kinds',
      'loan',
      '--document',
      documentFile,
      ...o.connection,
      '--msp',
      o.bank.mspId,
      ...o.ledger,
    ]),
  ]);
  if (ingested.code !== 0) throw failed('lianxin ingest', ingested);
  // A resumed start finds the consent it granted before: the same document gives the same consent.
  if (granted.code !== 0 && !`${granted.stderr}${granted.stdout}`.includes('CONSENT_EXISTS')) {
    throw failed('lianxin consent grant', granted);
  }

  const report = [
    'report',
    'request',
    o.subject,
    '--kinds',
    'loan',
    '--purpose',
    o.purpose,
    '--consent',
    consentId,
    ...o.connection,
    '--msp',
    o.bank.mspId,
    '--node',
    o.bank.grpc,
    '--out',
    join(o.dataDir, 'demo-exchange-report.json'),
  ];
  // NOT_FOUND until the agency's checkpoint is anchored and the bank's node has followed it from the chain.
  const deadline = Date.now() + o.indexTimeoutMs;
  for (;;) {
    const obtained = await lianxin(report);
    if (obtained.code === 0) {
      return { consentId, reportLine: obtained.stdout.trim(), elapsedMs: performance.now() - startedAt };
    }
    if (!obtained.stderr.includes('NOT_FOUND') || Date.now() > deadline) {
      throw failed('lianxin report request', obtained);
    }
    await sleep(250);
  }
}
