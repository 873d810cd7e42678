/** The candidates list: every fused module with its decision, grouped by layer, filterable. */
import type { Candidate, Decision } from '../../src/plan/types';
import type { PlanSummary } from '../protocol/messages';
import { byId, el, replaceChildren } from './dom';
import type { ViewState } from './state';

/** Element with a string `value`, as the toolkit's text field is. */
interface ValueElement extends HTMLElement {
  value: string;
}

/** Builds the markup of the candidates section. */
export function candidatesSection(): HTMLElement {
  return el('section', { class: 'candidates', 'aria-labelledby': 'candidates-title' },
    el('h2', { id: 'candidates-title' }, 'Candidates'),
    el('vscode-text-field', { id: 'candidate-query', placeholder: 'Filter by module or decision', size: 40, 'aria-label': 'Filter candidates' }),
    el('p', { id: 'candidate-count', class: 'status', role: 'status' }),
    el('div', { id: 'candidate-list', class: 'candidate-list' }),
  );
}

/** Describes a decision in words; rule numbers are 1-based as in the editor's status. */
export function decisionText(decision: Decision): string {
  switch (decision.kind) {
    case 'defuse':
      return decision.rule === null ? 'defuse' : `defuse (rule ${decision.rule + 1})`;
    case 'excluded':
      return `excluded by rule ${decision.rule + 1}`;
    case 'not-matched':
      return 'not matched by any positive rule';
    case 'empty-filter':
      return 'not selected: the rule list is empty';
    case 'beyond-max-layers':
      return `beyond max layers (${decision.maxLayers})`;
  }
}

/** Renders the candidates of a plan, filtered by the query of the view state. */
export class CandidatesView {
  private readonly query = byId<ValueElement>('candidate-query');
  private readonly count = byId('candidate-count');
  private readonly list = byId('candidate-list');
  private candidates: readonly Candidate[] = [];

  constructor(private readonly state: ViewState, private readonly onStateChange: () => void) {
    this.query.value = state.candidateQuery;
    this.query.addEventListener('input', () => {
      this.state.candidateQuery = this.query.value;
      this.onStateChange();
      this.render();
    });
  }

  /** Shows the candidates of a new plan. */
  setSummary(summary: PlanSummary): void {
    this.candidates = summary.candidates;
    this.render();
  }

  private render(): void {
    const needle = this.state.candidateQuery.trim().toLowerCase();
    const visible = this.candidates.filter((candidate) => needle === ''
      || candidate.modulePath.toLowerCase().includes(needle)
      || decisionText(candidate.decision).toLowerCase().includes(needle));
    const defused = this.candidates.filter((candidate) => candidate.decision.kind === 'defuse').length;
    this.count.textContent = `${defused} of ${this.candidates.length} candidates will be defused`
      + (visible.length === this.candidates.length ? '.' : `; ${visible.length} shown.`);

    // Group by layer, keeping plan order inside a layer; modules without a layer index come last.
    const layers = new Map<number | null, Candidate[]>();
    for (const candidate of visible) {
      const members = layers.get(candidate.layer);
      if (members) {
        members.push(candidate);
      } else {
        layers.set(candidate.layer, [candidate]);
      }
    }
    const keys = [...layers.keys()].sort((a, b) => (a ?? Number.MAX_SAFE_INTEGER) - (b ?? Number.MAX_SAFE_INTEGER));
    const groups = keys.map((layer) => {
      const members = layers.get(layer) ?? [];
      const defusedHere = members.filter((candidate) => candidate.decision.kind === 'defuse').length;
      return el('details', { class: 'layer', open: members.length <= 8 },
        el('summary', {}, layer === null ? 'Outside numbered layers' : `Layer ${layer}`, ` — ${defusedHere}/${members.length} defused`),
        el('ul', {}, ...members.map((candidate) => candidateItem(candidate))),
      );
    });
    replaceChildren(this.list, ...groups);
  }
}

function candidateItem(candidate: Candidate): HTMLElement {
  const decision = candidate.decision;
  const experts = candidate.experts === null ? 'dense' : `${candidate.experts} experts`;
  return el('li', { class: `candidate ${decision.kind}` },
    el('code', { class: 'module' }, candidate.modulePath),
    el('span', { class: 'family' }, `${candidate.family}, ${experts}`),
    el('span', { class: 'decision' }, decisionText(decision)),
  );
}
