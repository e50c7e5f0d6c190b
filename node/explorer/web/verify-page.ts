/**
 * The Verify page: an attestation, a notarization receipt or an access receipt (the bundle file of
 * `lianxin report request --out`, or the access proof of `lianxin receipt prove --out`), the trust bundle and
 * optionally the document an attestation is about, verified entirely in the browser by the verifier core on the
 * noble backend; each check is shown passed, failed (with the verifier's code and reason) or not reached. A dropped
 * file's kind is told by its content: protobuf bytes are an attestation or receipt, JSON with a request and a
 * receipt an access receipt, other JSON the trust bundle. Nothing is sent anywhere, except the optional fetch of
 * the node's own trust bundle — a verdict against that bundle trusts the node that served it (it serves the page and
 * the attestation too), so the page says so and shows the bundle's fingerprint (its content without the export's
 * time, trust-bundle.ts) to compare with the one `lianxin bundle export` prints on another node.
 */
import {
  ExchangeMessageError,
  explainAccessProof,
  explainAttestation,
  looksLikeAccessFile,
  parseAccessProofJson,
  parseTrustBundle,
  ReceiptsError,
  requireTrustBundleSize,
  toHex,
  type AccessProofFile,
  type TrustBundle,
  type VerificationStep,
} from '../../verifier/index.ts';
import { nobleCrypto } from '../../verifier/noble-crypto.ts';
import { trustBundleFingerprint } from '../../verifier/trust-bundle.ts';

/** What was dropped to verify: an attestation or notarization receipt (bytes), or an access receipt file. */
type Evidence =
  | { readonly kind: 'attestation'; readonly name: string; readonly bytes: Uint8Array }
  | { readonly kind: 'access-proof'; readonly name: string; readonly file: AccessProofFile };

interface Inputs {
  evidence?: Evidence;
  /** `fetchedFingerprint`: the bundle came from the node serving the page (its trustBundleFingerprint). */
  bundle?: { name: string; bundle: TrustBundle; fetchedFingerprint?: string };
  artifact?: { name: string; digest: Uint8Array };
}

const inputs: Inputs = {};
/**
 * What a bundle fetched from the node means: the node served the page and, likely, the attestation; a bundle it
 * signs nothing for is its word. Compared with a bundle obtained independently, the verdict stops depending on it.
 */
const FETCHED_BUNDLE_NOTE = (fingerprint: string) =>
  `this bundle came from the node serving this page, so the verdict trusts this node; its fingerprint is ${fingerprint}: ` +
  "compare it with the one your own node's `lianxin bundle export` prints before relying on it";
const STATUS_TEXT = {
  passed: '✔ passed',
  failed: '✘ failed',
  'not-reached': '— not reached',
  'not-requested': '— not requested',
} as const;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`verify.html has no #${id}`);
  return found;
}

async function bytesOf(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/**
 * Reads the trust bundle (`json`, when the drop has parsed it already), showing why it is refused (its size, or the
 * field to blame) instead of verifying.
 */
function readBundle(name: string, bytes: Uint8Array, json?: unknown, fetched = false): void {
  try {
    requireTrustBundleSize(bytes.length);
    const bundle = parseTrustBundle(json ?? new TextDecoder().decode(bytes), nobleCrypto);
    inputs.bundle = {
      name,
      bundle,
      ...(fetched && { fetchedFingerprint: trustBundleFingerprint(bundle.json, nobleCrypto) }),
    };
  } catch (err) {
    delete inputs.bundle;
    const why = err instanceof ReceiptsError ? `${err.code}: ${err.message}` : String(err);
    showVerdict('fail', `The trust bundle ${name} is not valid — ${why}`);
    return;
  }
  render();
}

/** JSON text's parsed value, when the bytes are a JSON object (an access receipt or a trust bundle). */
function jsonOf(bytes: Uint8Array): unknown {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first !== 0x7b) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads an access receipt file, showing why it is refused (the field to blame) instead of verifying. */
function readAccessFile(name: string, json: unknown): void {
  try {
    inputs.evidence = { kind: 'access-proof', name, file: parseAccessProofJson(json) };
  } catch (err) {
    delete inputs.evidence;
    const why = err instanceof ExchangeMessageError ? `${err.code}: ${err.message}` : String(err);
    showVerdict('fail', `${name} is not an access receipt file — ${why}`);
    element('steps').hidden = true;
    return;
  }
  render();
}

/** The evidence slot: JSON with a request and a receipt is an access receipt, anything else an attestation. */
function takeEvidence(name: string, bytes: Uint8Array): void {
  const json = jsonOf(bytes);
  if (json !== undefined && looksLikeAccessFile(json)) {
    readAccessFile(name, json);
    return;
  }
  inputs.evidence = { kind: 'attestation', name, bytes };
  render();
}

async function take(file: File, slot: 'evidence' | 'bundle' | 'artifact'): Promise<void> {
  const bytes = await bytesOf(file);
  if (slot === 'bundle') readBundle(file.name, bytes);
  else if (slot === 'evidence') takeEvidence(file.name, bytes);
  else {
    inputs.artifact = { name: file.name, digest: nobleCrypto.sha256(bytes) };
    render();
  }
}

/**
 * Each dropped file by its content: JSON is an access receipt (it has a request and a receipt) or the trust
 * bundle; other bytes are the attestation, or the document once an attestation is in.
 */
async function dropped(files: FileList): Promise<void> {
  for (const file of Array.from(files)) {
    const bytes = await bytesOf(file);
    const json = jsonOf(bytes);
    if (json !== undefined) {
      if (looksLikeAccessFile(json)) readAccessFile(file.name, json);
      else readBundle(file.name, bytes, json);
    } else if (inputs.evidence === undefined || file.name.endsWith('.binpb')) {
      inputs.evidence = { kind: 'attestation', name: file.name, bytes };
    } else inputs.artifact = { name: file.name, digest: nobleCrypto.sha256(bytes) };
  }
  render();
}

function showVerdict(kind: 'ok' | 'fail' | 'muted', text: string): void {
  const verdict = element('verdict');
  verdict.className = `verdict ${kind}`;
  verdict.textContent = text;
}

function describe(evidence: Evidence | undefined): string {
  if (evidence === undefined) return 'no attestation, receipt or access proof yet';
  if (evidence.kind === 'attestation') return `attestation: ${evidence.name} (${evidence.bytes.length} bytes)`;
  return evidence.file.accessAttestation === undefined
    ? `access receipt bundle: ${evidence.name} (request, receipt, acknowledgement; no access-leaf attestation)`
    : `access proof: ${evidence.name} (receipt bundle and the attestation of its access leaf)`;
}

/** The checks of the dropped evidence: an access receipt's, or an attestation's (with the document's). */
function explain(
  evidence: Evidence,
  bundle: TrustBundle,
  artifact: Inputs['artifact'],
): { ok: boolean; steps: readonly VerificationStep[] } {
  if (evidence.kind === 'access-proof') {
    return explainAccessProof(evidence.file.envelopes, evidence.file.accessAttestation, bundle);
  }
  return explainAttestation(evidence.bytes, bundle, artifact ? { artifactDigest: artifact.digest } : {});
}

function render(): void {
  const { evidence, bundle, artifact } = inputs;
  element('loaded').textContent = [
    describe(evidence),
    bundle
      ? `trust bundle: ${bundle.name} (channel ${bundle.bundle.json.channel}, exported ${bundle.bundle.json.exportedAt})`
      : 'no trust bundle yet',
    ...(bundle?.fetchedFingerprint === undefined ? [] : [FETCHED_BUNDLE_NOTE(bundle.fetchedFingerprint)]),
    // A document is checked against an attestation only: an access proof commits to no document in hand.
    ...(artifact && evidence?.kind !== 'access-proof'
      ? [`document: ${artifact.name} (sha256 ${toHex(artifact.digest)})`]
      : []),
  ].join(' · ');
  const table = element('steps') as HTMLTableElement;
  if (evidence === undefined || bundle === undefined) {
    table.hidden = true;
    showVerdict('muted', 'Waiting for an attestation, receipt or access proof, and a trust bundle.');
    return;
  }
  const result = explain(evidence, bundle.bundle, artifact);
  const failed = result.steps.find((s) => s.status === 'failed');
  document.body.dataset.kind = evidence.kind;
  const trusting =
    bundle.fetchedFingerprint === undefined ? '' : ' (against the trust bundle this node served: trusting this node)';
  showVerdict(
    result.ok ? 'ok' : 'fail',
    result.ok
      ? `✔ ${evidence.name} verifies: every check passed${trusting}.`
      : `✘ ${evidence.name} does not verify: ${failed?.code ?? ''} at “${failed?.id ?? ''}”${trusting}.`,
  );
  const body = table.tBodies[0];
  if (body === undefined) return;
  body.replaceChildren(
    ...result.steps.map((s) => {
      const row = document.createElement('tr');
      row.dataset.step = s.id;
      row.dataset.status = s.status;
      row.className = s.status;
      const cells = [
        s.title,
        STATUS_TEXT[s.status],
        s.code === undefined ? s.detail : `${s.code}: ${s.detail}${s.field === undefined ? '' : ` [field ${s.field}]`}`,
      ];
      cells.forEach((text, i) => {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (i === 1)
          cell.className = `status ${s.status === 'passed' ? 'ok' : s.status === 'failed' ? 'fail' : 'muted'}`;
        if (i === 2) cell.classList.add('mono');
        row.append(cell);
      });
      return row;
    }),
  );
  table.hidden = false;
}

function onFile(id: string, slot: 'evidence' | 'bundle' | 'artifact'): void {
  const input = element(id) as HTMLInputElement;
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file !== undefined) void take(file, slot);
  });
}

onFile('attestation-file', 'evidence');
onFile('bundle-file', 'bundle');
onFile('artifact-file', 'artifact');
element('fetch-bundle').addEventListener('click', () => {
  void fetch('api/trust-bundle')
    .then(async (response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      readBundle('trust-bundle.json (from this node)', new Uint8Array(await response.arrayBuffer()), undefined, true);
    })
    .catch((err: unknown) => {
      showVerdict('fail', `Could not fetch the trust bundle from this node: ${String(err)}`);
    });
});
const drop = element('drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => {
  drop.classList.remove('over');
});
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  if (event.dataTransfer !== null) void dropped(event.dataTransfer.files);
});
render();
