/** The Consortium page: institutions by city and role, their nodes and keys, anchoring and its chart. */
import type { ConsortiumView, InstitutionView } from '../explorer-views.ts';
import { anchorChart } from './anchor-chart.ts';
import { age, el, errorBox, getJson, renderNav, table } from './explorer-page-kit.ts';

const window_ = (from: string, until: string | null) => `${from} → ${until ?? 'open-ended'}`;

function institution(view: InstitutionView, now: string): HTMLElement {
  return el(
    'article',
    { class: 'institution', 'data-msp': view.mspId },
    el(
      'h3',
      {},
      `${view.name} `,
      el('span', { class: 'muted' }, `${view.mspId} · ${view.role}`),
      view.status === 'active' ? null : el('span', { class: 'fail' }, ` (${view.status})`),
    ),
    view.nodes.length === 0
      ? el('p', { class: 'muted' }, 'No node registered.')
      : table(
          ['Node', 'Log origin', 'Endpoint', 'Latest anchored checkpoint', 'Age'],
          view.nodes.map((n) => [
            n.nodeId,
            el('code', {}, n.origin),
            el('code', {}, n.endpoint),
            n.checkpoint === null
              ? el('span', { class: 'muted' }, 'none yet')
              : `size ${n.checkpoint.size.toLocaleString()} at ${n.checkpoint.anchoredAt}`,
            n.checkpoint === null ? '' : el('span', { class: 'age' }, age(n.checkpoint.anchoredAt, now)),
          ]),
        ),
    view.keys.length === 0
      ? null
      : table(
          ['Key', 'Role', 'Status', 'Valid'],
          view.keys.map((k) => [
            el('code', {}, k.kid),
            k.role,
            el('span', { class: k.status === 'active' ? 'ok' : 'muted' }, k.status),
            window_(k.validFrom, k.validUntil),
          ]),
        ),
  );
}

async function main(): Promise<void> {
  renderNav('consortium.html');
  const summary = document.getElementById('summary');
  const cities = document.getElementById('cities');
  const chart = document.getElementById('chart');
  if (summary === null || cities === null || chart === null) return;
  let view: ConsortiumView;
  try {
    view = await getJson<ConsortiumView>('consortium');
  } catch (err) {
    summary.replaceWith(errorBox(err));
    return;
  }
  const byCity = new Map<string, InstitutionView[]>();
  for (const org of view.institutions) byCity.set(org.city, [...(byCity.get(org.city) ?? []), org]);
  summary.textContent =
    `${view.institutions.length} institutions in ${byCity.size} cities, from the chain's registry as ` +
    `${view.servedBy}'s node reads it at ${view.generatedAt}.`;
  chart.replaceChildren(anchorChart(view.anchoring));
  cities.replaceChildren(
    ...[...byCity.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([city, orgs]) =>
        el(
          'section',
          { class: 'city', 'data-city': city },
          el('h2', {}, city),
          ...orgs
            .sort((a, b) => a.role.localeCompare(b.role) || a.mspId.localeCompare(b.mspId))
            .map((o) => institution(o, view.generatedAt)),
        ),
      ),
  );
  document.body.dataset.ready = 'true';
}

void main();
