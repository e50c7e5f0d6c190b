/** The Record page: where a subject and kind's evidence stands, and its attestation for download. */
import type { RecordView } from '../explorer-views.ts';
import { el, errorBox, getJson, renderNav, table } from './explorer-page-kit.ts';

const STAGES: Readonly<Record<string, string>> = {
  logged: "in this node's log, not yet covered by a signed checkpoint",
  checkpointed: 'covered by a signed checkpoint, anchoring pending',
  anchored: 'covered by a checkpoint anchored on the chain',
};

function render(view: RecordView): HTMLElement {
  const query = new URLSearchParams({ subject: view.subject, kind: view.kind }).toString();
  return el(
    'div',
    { id: 'evidence' },
    el('h2', {}, `${view.kind} record of `, el('code', {}, view.subject)),
    view.chain === null
      ? el('p', { class: 'muted', id: 'chain-status' }, 'Not anchored on the chain yet.')
      : el(
          'div',
          {},
          el(
            'p',
            { class: 'ok', id: 'chain-status' },
            `Anchored on the chain: version ${view.chain.version} in ${view.chain.origin}.`,
          ),
          table(
            ['Log origin', 'Leaf', 'Checkpoint size', 'Block', 'Transaction', 'Anchored at', 'Record digest'],
            [
              [
                el('code', {}, view.chain.origin),
                String(view.chain.leafIndex),
                String(view.chain.checkpointSize),
                view.chain.blockNumber,
                el('code', {}, view.chain.txId),
                view.chain.anchoredAt,
                el('code', {}, view.chain.recordDigest ?? '(members only)'),
              ],
            ],
          ),
        ),
    view.local === null
      ? el('p', { class: 'muted' }, "This node does not hold the record: its attestation comes from the holder's node.")
      : el(
          'p',
          { id: 'local-status' },
          `This node holds version ${view.local.version} (leaf ${view.local.leafIndex}): ${STAGES[view.local.stage] ?? view.local.stage}.`,
        ),
    view.attestable
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
