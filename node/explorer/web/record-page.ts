/** The Record page: where a subject and kind's evidence stands, and its attestation for download. */
import type { RecordDetailView, RecordView } from '../explorer-views.ts';
import { el, errorBox, getJson, renderNav, table } from './explorer-page-kit.ts';

const STAGES: Readonly<Record<string, string>> = {
  logged: "in this node's log, not yet covered by a signed checkpoint",
  checkpointed: 'covered by a signed checkpoint, anchoring pending',
  anchored: 'covered by a checkpoint anchored on the chain',
};

function render(view: RecordView): HTMLElement {
  return el(
    'div',
    { id: 'evidence' },
    el('h2', {}, `${view.kind} record of `, el('code', {}, view.subject)),
    view.detail === null ? publicStatus(view) : detail(view, view.detail),
  );
}

/** What the public sees: whether and on which day, not who holds the record. */
function publicStatus(view: RecordView): HTMLElement {
  return el(
    'div',
    {},
    el('p', { class: 'ok', id: 'chain-status' }, `Anchored on the chain on ${view.anchoredOn ?? '?'}.`),
    el(
      'p',
      { class: 'muted' },
      'Which institution holds it, its version and its attestation are shown to consortium members only.',
    ),
  );
}

function detail(view: RecordView, evidence: RecordDetailView): HTMLElement {
  const query = new URLSearchParams({ subject: view.subject, kind: view.kind }).toString();
  const { chain, local } = evidence;
  return el(
    'div',
    {},
    chain === null
      ? el('p', { class: 'muted', id: 'chain-status' }, 'Not anchored on the chain yet.')
      : el(
          'div',
          {},
          el(
            'p',
            { class: 'ok', id: 'chain-status' },
            `Anchored on the chain: version ${chain.version} in ${chain.origin}.`,
          ),
          table(
            ['Log origin', 'Leaf', 'Checkpoint size', 'Block', 'Transaction', 'Anchored at', 'Record digest'],
            [
              [
                el('code', {}, chain.origin),
                String(chain.leafIndex),
                String(chain.checkpointSize),
                chain.blockNumber,
                el('code', {}, chain.txId),
                chain.anchoredAt,
                el('code', {}, chain.recordDigest),
              ],
            ],
          ),
        ),
    local === null
      ? el('p', { class: 'muted' }, "This node does not hold the record: its attestation comes from the holder's node.")
      : el(
          'p',
          { id: 'local-status' },
          `This node holds version ${local.version} (leaf ${local.leafIndex}): ${STAGES[local.stage] ?? local.stage}.`,
        ),
    evidence.attestable
      ? el(
          'p',
          {},
          el(
            'a',
            {
              href: `api/attestation?${query}`,
              download: `${view.subject}-${view.kind}.attestation`,
              id: 'download',
              class: 'button',
            },
            'Download attestation',
          ),
          ' ',
          el('a', { href: 'verify.html' }, 'then check it offline on the Verify page'),
        )
      : null,
  );
}

async function lookup(subject: string, kind: string): Promise<void> {
  const result = document.getElementById('result');
  if (result === null) return;
  result.replaceChildren(el('p', { class: 'muted' }, 'Looking up…'));
  try {
    result.replaceChildren(render(await getJson<RecordView>('record', { subject, kind })));
  } catch (err) {
    result.replaceChildren(errorBox(err));
  }
  document.body.dataset.ready = 'true';
}

function main(): void {
  renderNav('record.html');
  const form = document.getElementById('lookup') as HTMLFormElement | null;
  const subject = document.getElementById('subject') as HTMLInputElement | null;
  const kind = document.getElementById('kind') as HTMLInputElement | null;
  if (form === null || subject === null || kind === null) return;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    history.replaceState(null, '', `?${new URLSearchParams({ subject: subject.value, kind: kind.value }).toString()}`);
    void lookup(subject.value.trim(), kind.value.trim());
  });
  // A link to record.html?subject=…&kind=… opens on its lookup.
  const params = new URLSearchParams(location.search);
  const given = params.get('subject');
  if (given !== null) {
    subject.value = given;
    kind.value = params.get('kind') ?? kind.value;
    void lookup(subject.value, kind.value);
  }
}

main();
