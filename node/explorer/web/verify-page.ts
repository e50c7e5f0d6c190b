/**
 * The Verify page: an attestation or notarization receipt, the trust bundle and optionally the document it is
 * about, verified entirely in the browser by the verifier core on the noble backend; each check is shown passed,
 * failed (with the verifier's code and reason) or not reached. Nothing is sent anywhere, except the optional
 * fetch of the node's own trust bundle.
 */
import { explainAttestation, parseTrustBundle, ReceiptsError, toHex, type TrustBundle } from '../../verifier/index.ts';
import { nobleCrypto } from '../../verifier/noble-crypto.ts';

interface Inputs {
  attestation?: { name: string; bytes: Uint8Array };
  bundle?: { name: string; bundle: TrustBundle };
  artifact?: { name: string; digest: Uint8Array };
}

const inputs: Inputs = {};
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

/** Reads the trust bundle, showing why it is refused (the field to blame) instead of verifying. */
function readBundle(name: string, text: string): void {
  try {
    inputs.bundle = { name, bundle: parseTrustBundle(text, nobleCrypto) };
  } catch (err) {
    delete inputs.bundle;
    const why = err instanceof ReceiptsError ? `${err.code}: ${err.message}` : String(err);
    showVerdict('fail', `The trust bundle ${name} is not valid — ${why}`);
    return;
  }
  render();
}

async function take(file: File, slot: 'attestation' | 'bundle' | 'artifact'): Promise<void> {
  const bytes = await bytesOf(file);
  if (slot === 'bundle') {
    readBundle(file.name, new TextDecoder().decode(bytes));
    return;
  }
  if (slot === 'artifact') inputs.artifact = { name: file.name, digest: nobleCrypto.sha256(bytes) };
  else inputs.attestation = { name: file.name, bytes };
  render();
}

/** A dropped file is a trust bundle when it is JSON, otherwise the attestation, or the document once both are in. */
async function dropped(files: FileList): Promise<void> {
  for (const file of Array.from(files)) {
    const bytes = await bytesOf(file);
    const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
    if (first === 0x7b) readBundle(file.name, new TextDecoder().decode(bytes));
    else if (inputs.attestation === undefined || file.name.endsWith('.binpb'))
      inputs.attestation = { name: file.name, bytes };
    else inputs.artifact = { name: file.name, digest: nobleCrypto.sha256(bytes) };
  }
  render();
}

function showVerdict(kind: 'ok' | 'fail' | 'muted', text: string): void {
  const verdict = element('verdict');
  verdict.className = `verdict ${kind}`;
  verdict.textContent = text;
}

function render(): void {
  const { attestation, bundle, artifact } = inputs;
  element('loaded').textContent = [
    attestation ? `attestation: ${attestation.name} (${attestation.bytes.length} bytes)` : 'no attestation yet',
    bundle
      ? `trust bundle: ${bundle.name} (channel ${bundle.bundle.json.channel}, exported ${bundle.bundle.json.exportedAt})`
      : 'no trust bundle yet',
    ...(artifact ? [`document: ${artifact.name} (sha256 ${toHex(artifact.digest)})`] : []),
  ].join(' · ');
  const table = element('steps') as HTMLTableElement;
  if (attestation === undefined || bundle === undefined) {
    table.hidden = true;
    showVerdict('muted', 'Waiting for an attestation and a trust bundle.');
    return;
  }
  const result = explainAttestation(
    attestation.bytes,
    bundle.bundle,
    artifact ? { artifactDigest: artifact.digest } : {},
  );
  const failed = result.steps.find((s) => s.status === 'failed');
  showVerdict(
    result.ok ? 'ok' : 'fail',
    result.ok
      ? `✔ ${attestation.name} verifies: every check passed.`
      : `✘ ${attestation.name} does not verify: ${failed?.code ?? ''} at “${failed?.id ?? ''}”.`,
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

function onFile(id: string, slot: 'attestation' | 'bundle' | 'artifact'): void {
  const input = element(id) as HTMLInputElement;
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file !== undefined) void take(file, slot);
  });
}

onFile('attestation-file', 'attestation');
onFile('bundle-file', 'bundle');
onFile('artifact-file', 'artifact');
element('fetch-bundle').addEventListener('click', () => {
  void fetch('api/trust-bundle')
    .then(async (response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      readBundle('trust-bundle.json (from this node)', await response.text());
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
