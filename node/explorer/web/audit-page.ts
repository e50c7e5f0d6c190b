/** The Audit page (the regulator's): accesses by subject, institution and time, with each receipt's verdict. */
import type { AuditView } from '../explorer-views.ts';
import { el, errorBox, getJson, renderNav, table } from './explorer-page-kit.ts';

const FIELDS = ['subject', 'institution', 'from', 'to'] as const;
const DAY_MS = 86_400_000;

function render(view: AuditView): HTMLElement {
  if (view.accesses.length === 0)
    return el('p', { class: 'muted', id: 'accesses' }, 'No access recorded for this query.');
  const unheard = view.accesses.filter((a) => a.verdict === 'NOT_HEARD').length;
  const failed = view.accesses.filter((a) => a.verdict !== 'OK').length - unheard;
  // Not heard is neither passed nor failed: an institution's nodes did not answer for the access.
  const status = (verdict: string) => (verdict === 'OK' ? 'ok' : verdict === 'NOT_HEARD' ? 'muted' : 'fail');
  const summary =
    `${view.accesses.length} accesses, ${failed} failed the audit` +
    (unheard === 0 ? '.' : `, ${unheard} not heard (an institution's nodes did not answer: audit again later).`);
  return el(
    'div',
    { id: 'accesses' },
    el('p', { class: failed > 0 ? 'fail' : unheard > 0 ? 'muted' : 'ok' }, summary),
    table(
      ['Accessed at', 'Requester', 'Provider', 'Subject', 'Purpose', 'Receipt', 'Verdict', 'Why'],
      view.accesses.map((a) => [
        a.accessedAt,
        a.requester,
        a.provider,
        el('code', {}, a.subject),
        a.purpose,
        el('code', { title: a.receiptDigest }, a.receiptDigest.slice(0, 12)),
        el('span', { class: `verdict ${status(a.verdict)}` }, a.verdict),
        a.findings[0] === undefined
          ? ''
          : `${a.findings[0].reason}${a.findings[0].field === undefined ? '' : ` [${a.findings[0].field}]`}`,
      ]),
    ),
  );
}

async function audit(params: Record<string, string>): Promise<void> {
  const result = document.getElementById('result');
  if (result === null) return;
  result.replaceChildren(el('p', { class: 'muted' }, 'Fetching and verifying receipt bundles…'));
  try {
    result.replaceChildren(render(await getJson<AuditView>('audit', params)));
  } catch (err) {
    result.replaceChildren(errorBox(err));
  }
  document.body.dataset.ready = 'true';
}

function main(): void {
  renderNav('audit.html');
  const form = document.getElementById('query') as HTMLFormElement | null;
  if (form === null) return;
  const input = (name: string) => document.getElementById(name) as HTMLInputElement;
  const values = () => Object.fromEntries(FIELDS.map((name) => [name, input(name).value.trim()]));
  const given = new URLSearchParams(location.search);
  for (const name of FIELDS) input(name).value = given.get(name) ?? '';
  // Without a query: the last 30 days.
  if (FIELDS.every((name) => input(name).value === ''))
    input('from').value = new Date(Date.now() - 30 * DAY_MS).toISOString();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    history.replaceState(null, '', `?${new URLSearchParams(values()).toString()}`);
    void audit(values());
  });
  void audit(values());
}

main();
