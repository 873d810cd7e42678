/** The filter rules editor: one rule per line, per-line problems and match counts, max layers, Clear and Restore. */
import type { PlanSummary, RuleProblem } from '../protocol/messages';
import { byId, el, replaceChildren } from './dom';
import { parseMaxLayers, rulesOf, type ViewState } from './state';

/** Callbacks from the editor to the panel. */
export interface RulesEditorEvents {
  /** The rules, the mode or max layers changed. */
  onChange(): void;
  /** The user asked for the rules and max layers of the settings. */
  onRestoreDefaults(): void;
}

/** Element with a string `value`, as the toolkit's text field and radio group are. */
interface ValueElement extends HTMLElement {
  value: string;
}

/** Builds the markup of the rules section. */
export function rulesSection(): HTMLElement {
  return el('section', { class: 'rules', 'aria-labelledby': 'rules-title' },
    el('h2', { id: 'rules-title' }, 'Filter rules'),
    el('vscode-radio-group', { id: 'rules-mode', orientation: 'vertical', 'aria-label': 'Which candidates to defuse' },
      el('vscode-radio', { value: 'all' }, 'Defuse every candidate (no filter)'),
      el('vscode-radio', { value: 'rules' }, 'Use filter rules: +:regex includes, -:regex excludes, a bare regex includes'),
    ),
    el('div', { class: 'rules-editor' },
      el('textarea', {
        id: 'rules-text', 'aria-label': 'Filter rules, one per line', 'aria-describedby': 'rules-status rule-problems',
        spellcheck: 'false', wrap: 'off', autocomplete: 'off', rows: 6,
      }),
      el('div', { id: 'rule-notes', class: 'rule-notes', 'aria-hidden': 'true' }),
    ),
    el('p', { id: 'rules-status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    el('ul', { id: 'rule-problems', class: 'problems', 'aria-live': 'assertive' }),
    el('div', { class: 'row' },
      el('vscode-text-field', { id: 'max-layers', placeholder: 'all layers', size: 10, 'aria-describedby': 'max-layers-error' }, 'Max layers'),
      el('vscode-button', { id: 'rules-clear', appearance: 'secondary', title: 'Remove every rule: no filter, every candidate is defused' }, 'Clear'),
      el('vscode-button', { id: 'rules-restore', appearance: 'secondary', title: 'Use the rules and max layers of the settings' }, 'Restore defaults'),
    ),
    el('p', { id: 'max-layers-error', class: 'error', role: 'alert' }),
  );
}

/** Wires the rules section to the view state and renders its feedback. */
export class RulesEditor {
  private readonly mode = byId<ValueElement>('rules-mode');
  private readonly text = byId<HTMLTextAreaElement>('rules-text');
  private readonly notes = byId('rule-notes');
  private readonly status = byId('rules-status');
  private readonly problemList = byId('rule-problems');
  private readonly maxLayers = byId<ValueElement>('max-layers');
  private readonly maxLayersError = byId('max-layers-error');
  private problems: readonly RuleProblem[] = [];
  private summary: PlanSummary | null = null;

  constructor(private readonly state: ViewState, private readonly events: RulesEditorEvents) {
    this.mode.addEventListener('change', () => {
      const enabled = this.mode.value === 'rules';
      if (enabled !== this.state.rulesEnabled) {
        this.state.rulesEnabled = enabled;
        this.changed();
      }
    });
    this.text.addEventListener('input', () => {
      this.state.rulesText = this.text.value;
      // Typing a rule means the user wants a filter, so leave the "no filter" mode.
      if (!this.state.rulesEnabled && this.text.value.trim() !== '') {
        this.state.rulesEnabled = true;
        this.mode.value = 'rules';
      }
      this.changed();
    });
    this.text.addEventListener('scroll', () => {
      this.notes.scrollTop = this.text.scrollTop;
    });
    this.maxLayers.addEventListener('input', () => {
      this.state.maxLayersText = this.maxLayers.value;
      this.changed();
    });
    byId('rules-clear').addEventListener('click', () => {
      this.state.rulesText = '';
      this.state.rulesEnabled = false;
      this.load();
      this.changed();
    });
    byId('rules-restore').addEventListener('click', () => this.events.onRestoreDefaults());
    this.load();
  }

  /** Copies the view state into the controls, after a restore or a reset. */
  load(): void {
    this.mode.value = this.state.rulesEnabled ? 'rules' : 'all';
    this.text.value = this.state.rulesText;
    this.maxLayers.value = this.state.maxLayersText;
    this.problems = [];
    this.render();
  }

  /** Shows the problems of the last plan request; an empty list clears them. */
  setProblems(problems: readonly RuleProblem[]): void {
    this.problems = problems;
    this.render();
  }

  /** Shows match counts from a plan. */
  setSummary(summary: PlanSummary | null): void {
    this.summary = summary;
    this.render();
  }

  private changed(): void {
    this.render();
    this.events.onChange();
  }

  private render(): void {
    const rules = rulesOf(this.state.rulesText);
    const enabled = this.state.rulesEnabled;
    this.text.classList.toggle('disabled', !enabled);
    this.text.setAttribute('aria-invalid', String(enabled && this.problems.length > 0));

    const maxLayers = parseMaxLayers(this.state.maxLayersText);
    this.maxLayersError.textContent = maxLayers.ok ? '' : maxLayers.message;

    // Counts belong to the rules of the plan; after an edit they are shown only for rules that did not change.
    const stats = this.summary?.ruleStats ?? [];
    const lineCount = this.state.rulesText.split('\n').length;
    const noteLines: HTMLElement[] = [];
    for (let line = 0; line < lineCount; line += 1) {
      noteLines.push(el('div', { class: 'note' }, '\u00a0'));
    }
    const problemItems: HTMLElement[] = [];
    let unmatched = 0;
    rules.forEach((rule, index) => {
      const note = noteLines[rule.line];
      if (!note || !enabled) {
        return;
      }
      const problem = this.problems.find((item) => item.index === index);
      if (problem) {
        const column = problem.position === null ? '' : `, column ${problem.position + 1}`;
        note.textContent = `✗ invalid${column}`;
        note.className = 'note invalid';
        problemItems.push(el('li', { class: 'error' },
          `Line ${rule.line + 1}${column}: `, el('code', {}, rule.text), ` is invalid: ${problem.message}`));
        return;
      }
      const stat = stats[index];
      if (stat && stat.rule === rule.text) {
        note.textContent = stat.matches === 0 ? '⚠ matches nothing' : `${stat.matches} ${stat.matches === 1 ? 'match' : 'matches'}`;
        note.className = stat.matches === 0 ? 'note unmatched' : 'note';
        unmatched += stat.matches === 0 ? 1 : 0;
      }
    });
    replaceChildren(this.notes, ...noteLines);
    this.notes.scrollTop = this.text.scrollTop;
    replaceChildren(this.problemList, ...problemItems);

    // As in the engine, only the exact prefix `-:` excludes; a line with leading spaces is an include pattern.
    const excludesOnly = rules.length > 0 && rules.every((rule) => rule.text.startsWith('-:'));
    this.status.textContent = statusText(enabled, rules.length, unmatched, excludesOnly);
  }
}

function statusText(enabled: boolean, ruleCount: number, unmatched: number, excludesOnly: boolean): string {
  if (!enabled) {
    return 'No filter: every candidate is defused. Type a rule to filter.';
  }
  if (ruleCount === 0) {
    return 'The rule list is empty, so nothing is defused. Choose "Defuse every candidate" to defuse everything.';
  }
  let rules = `${ruleCount} ${ruleCount === 1 ? 'rule' : 'rules'}. A candidate is defused when a positive rule matches and no -: rule does.`;
  if (excludesOnly) {
    // Users coming from "exclude these" filters expect the rest to be defused; the engine needs a positive rule for that.
    rules += ' There is no positive rule, so nothing is defused: add a line +:.* to defuse every candidate the -: rules do not exclude.';
  }
  return unmatched === 0 ? rules : `${rules} ${unmatched} ${unmatched === 1 ? 'rule matches' : 'rules match'} nothing.`;
}
