// Browser tests of the defuse panel: the real bundle in headless Debian Chromium, talking to the real host
// controller and the real core over recorded messages. The only stand-in is `acquireVsCodeApi`, because
// VS Code's webview host cannot run here; the harness explains the stub.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildCliCommand } from '../../extension/defusePanel/cliCommand';
import { checkRules, openCheckpoint, planDefusion } from '../../src/index';
import {
  ARTIFACTS, buildPanelBundle, HOSTILE_NAME, launchChromium, openPanelPage, writeLargeCheckpoint, type PanelPage, type ThemeName,
} from './harness';

const GOLDEN = '/work/shared/golden/qwen3_moe/input';
const chromiumMissing = existsSync('/usr/bin/chromium') ? false : 'needs /usr/bin/chromium (apt-get install chromium)';

/** Text of an element, or '' when it is missing. */
function text(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().innerText();
}

/** Waits until the element's text contains `expected`, and returns the text. */
async function waitForText(page: Page, selector: string, expected: string): Promise<string> {
  await page.waitForFunction(([sel, want]) => (document.querySelector(sel)?.textContent ?? '').includes(want), [selector, expected] as const);
  return text(page, selector);
}

/** Replaces the rules editor's text by typing, the way a user does. */
async function typeRules(page: Page, rules: string): Promise<void> {
  const editor = page.locator('#rules-text');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await editor.pressSequentially(rules);
}

/** Polls a condition on this side of the page bridge until it holds, for at most 10 seconds. */
async function eventually(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 500 && !condition(); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(condition(), 'condition still false after 10 seconds');
}

/** Rows of the diff grid that exist in the DOM. */
function renderedRows(page: Page): Promise<{ index: number; name: string }[]> {
  return page.$$eval('#diff-spacer [role=row]', (rows) => rows.map((row) => ({
    index: Number(row.getAttribute('aria-rowindex')) - 2,
    name: row.querySelector('.name')?.textContent ?? '',
  })));
}

void describe('defuse panel in Chromium', { skip: chromiumMissing }, () => {
  let browser: Browser;
  let bundle: string;
  const cleanup: string[] = [];

  before(async () => {
    browser = await launchChromium();
    bundle = await buildPanelBundle();
    cleanup.push(bundle);
  });

  after(async () => {
    await browser?.close();
    for (const folder of cleanup) {
      await rm(folder, { recursive: true, force: true });
    }
  });

  /** Opens the golden Qwen3-MoE checkpoint with no filter by default. */
  async function openGolden(rules: readonly string[] | null = null, theme: ThemeName = 'dark'): Promise<PanelPage> {
    const outParent = await mkdtemp(path.join(os.tmpdir(), 'defuser-panel-out-'));
    cleanup.push(outParent);
    const panel = await openPanelPage(browser, bundle, {
      checkpointPath: GOLDEN, theme, defaults: { rules, maxLayers: null, outDir: path.join(outParent, 'defused'), verify: true },
    });
    await waitForText(panel.page, '#candidate-count', 'candidates will be defused');
    return panel;
  }

  void it('shows the golden plan', async () => {
    const panel = await openGolden();
    const { page } = panel;
    const plan = await planDefusion(await openCheckpoint(GOLDEN), {});

    assert.equal(await text(page, '#checkpoint-path'), panel.checkpoint.root);
    const facts = await text(page, '#summary-facts');
    assert.match(facts, /model_type\s+qwen3_moe/);
    assert.match(facts, /Layout\s+stacked/);
    assert.match(facts, new RegExp(`Tensors\\s+${plan.totals.tensorsBefore} → ${plan.totals.tensorsAfter}`));
    assert.equal(await text(page, '#candidate-count'), `${plan.candidates.length} of ${plan.candidates.length} candidates will be defused.`);
    assert.match(await text(page, '#rules-status'), /No filter: every candidate is defused/);

    // Collapsed: each layer's gate, up and down runs become one row each, beside the removed fused tensors.
    const groups = new Set(plan.added.map((tensor) => tensor.name.replace(/\.experts\.\d+\./, '.experts.*.')));
    await waitForText(page, '#diff-count', `${plan.removed.length + groups.size} rows`);
    const names = (await renderedRows(page)).map((row) => row.name);
    assert.ok(names.some((name) => /experts\.0–3\.gate_proj\.weight ×4$/.test(name)), names.join('\n'));

    await page.locator('#diff-collapse').click();
    await waitForText(page, '#diff-count', `${plan.removed.length + plan.added.length} rows`);
    assert.deepEqual(await panel.cspViolations(), []);
    await panel.saveRecording('golden-initial');
    await page.context().close();
  });

  void it('updates the preview as rules are typed', async () => {
    const panel = await openGolden();
    const { page } = panel;

    await typeRules(page, '+:layers\\.2\\.');
    await waitForText(page, '#candidate-count', '1 of 2 candidates will be defused');
    const expected = await planDefusion(panel.checkpoint, { filter: ['+:layers\\.2\\.'] });
    const layer1 = expected.candidates.find((candidate) => candidate.layer === 1);
    assert.equal(layer1?.decision.kind, 'not-matched');
    const list = await text(page, '#candidate-list');
    assert.match(list, /model\.layers\.1\.mlp\.experts[\s\S]*not matched by any positive rule/);
    assert.match(list, /model\.layers\.2\.mlp\.experts[\s\S]*defuse \(rule 1\)/);
    assert.equal(await text(page, '#rule-notes'), '1 match');

    // A negative rule wins over the positive one.
    await page.keyboard.press('Enter');
    await page.locator('#rules-text').pressSequentially('-:layers\\.2\\.mlp');
    await waitForText(page, '#candidate-count', '0 of 2 candidates will be defused');
    assert.match(await text(page, '#candidate-list'), /excluded by rule 2/);

    // Max layers 2 keeps layer 1 only; with a plain rule matching both layers, layer 2 is beyond the limit.
    await typeRules(page, 'experts');
    await page.locator('#max-layers input').fill('2');
    await waitForText(page, '#candidate-list', 'beyond max layers (2)');
    assert.equal(await text(page, '#candidate-count'), '1 of 2 candidates will be defused.');
    await page.context().close();
  });

  void it('flags invalid rules and unmatched rules', async () => {
    const panel = await openGolden();
    const { page } = panel;

    await typeRules(page, '+:experts\n+:(abc');
    await waitForText(page, '#rule-problems', 'is invalid');
    const [, problem] = await checkRules(['+:experts', '+:(abc']);
    assert.ok(problem);
    const column = problem.position === null ? '' : `, column ${problem.position + 2 + 1}`;
    assert.equal(await text(page, '#rule-problems'), `Line 2${column}: +:(abc is invalid: ${problem.reason}`);
    assert.equal(await page.locator('#rules-text').getAttribute('aria-invalid'), 'true');
    assert.match(await text(page, '#plan-stale'), /last valid rules/);
    assert.equal(await page.locator('#defuse').getAttribute('disabled'), '');

    await typeRules(page, '+:experts\n+:nothing-here');
    await waitForText(page, '#rule-notes', 'matches nothing');
    assert.equal(await text(page, '#rule-problems'), '');
    assert.match(await text(page, '#rules-status'), /1 rule matches nothing/);
    assert.equal(await page.locator('#defuse').getAttribute('disabled'), null);

    // Filter mode with no rules is the empty list: nothing is selected, and the status line states it.
    await typeRules(page, 'x');
    await page.keyboard.press('Backspace');
    await waitForText(page, '#candidate-count', '0 of 2');
    assert.match(await text(page, '#rules-status'), /rule list is empty, so nothing is defused/);
    await page.locator('#copy-cli').click();
    await waitForText(page, '#panel-error', 'empty rule list defuses nothing');
    assert.deepEqual(panel.clipboard, []);
    await page.locator('#rules-clear').click();
    await waitForText(page, '#candidate-count', '2 of 2');
    assert.match(await text(page, '#rules-status'), /No filter/);
    await page.context().close();
  });

  void it('explains that exclude-only rules defuse nothing', async () => {
    const panel = await openGolden();
    const { page } = panel;
    await typeRules(page, '-:layers\\.1\\.');
    await waitForText(page, '#candidate-count', '0 of 2');
    assert.match(await text(page, '#rules-status'), /no positive rule, so nothing is defused: add a line \+:\.\* /);
    // With the suggested rule, every candidate the exclusion spares is defused, and the hint goes away.
    await page.locator('#rules-text').press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('+:.*');
    await waitForText(page, '#candidate-count', '1 of 2');
    assert.doesNotMatch(await text(page, '#rules-status'), /no positive rule/);
    // A line that only starts with spaces before -: is an include pattern for the engine, so no hint.
    await typeRules(page, ' -:layers');
    await waitForText(page, '#rule-notes', 'match');
    assert.doesNotMatch(await text(page, '#rules-status'), /no positive rule/);
    await page.context().close();
  });

  void it('never shows the free space as unknown while measuring it', async () => {
    const panel = await openGolden();
    const { page } = panel;
    // The plan arrives with init; the header's first render must not claim the free space is unknown.
    await page.waitForFunction(() => (document.querySelector('#fact-free')?.textContent ?? '') !== '');
    assert.match(await text(page, '#fact-free'), /^(measuring…|[\d.]+ (B|KiB|MiB|GiB|TiB))$/);
    await waitForText(page, '#fact-free', 'B');
    // A relative destination cannot be measured: the header says unknown, and the output names the problem.
    await page.locator('#out-dir input').fill('relative/out');
    await waitForText(page, '#fact-free', 'unknown');
    assert.match(await text(page, '#out-dir-error'), /not an absolute path/);
    await page.context().close();
  });

  void it('keeps the distinguishing end of long names visible', async () => {
    const panel = await openGolden();
    const { page } = panel;
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.locator('#diff-view').click();
    await page.locator('vscode-option[value=added]').click();
    await waitForText(page, '#diff-count', '6 rows');
    const cells = await page.$$eval('#diff-spacer .name', (names) => names.map((name) => {
      const tail = name.querySelector<HTMLElement>('.name-tail');
      return {
        text: name.textContent ?? '',
        tail: tail?.textContent ?? '',
        tailClipped: tail === null || tail.scrollWidth > tail.clientWidth,
      };
    }));
    assert.equal(cells.length, 6);
    for (const cell of cells) {
      // The golden names are model.layers.N.mlp.experts.0–3.<projection>.weight: the prefix is "model.".
      assert.match(cell.tail, /^layers\.\d\.mlp\.experts\.0–3\.(gate|up|down)_proj\.weight$/, cell.text);
      assert.equal(cell.tailClipped, false, `the end of ${cell.text} is cut off`);
    }
    await page.context().close();
  });

  void it('keeps state across a reload', async () => {
    const panel = await openGolden();
    const { page } = panel;
    await typeRules(page, '+:layers\\.1\\.');
    await waitForText(page, '#candidate-count', '1 of 2');
    // The state is saved 100 ms after the last change; the reload must come after that.
    await page.waitForFunction(() => (sessionStorage.getItem('defuser-state') ?? '').includes('layers'));

    await page.reload();
    await waitForText(page, '#candidate-count', '1 of 2');
    assert.equal(await page.locator('#rules-text').inputValue(), '+:layers\\.1\\.');
    await page.context().close();
  });

  void it('converts and copies the CLI command', async () => {
    const panel = await openGolden(['+:layers\\.1\\.']);
    const { page } = panel;
    const outDir = await page.locator('#out-dir input').inputValue();

    await page.locator('#copy-cli').click();
    await waitForText(page, '#cli-copied', 'Copied:');
    const expectedCommand = buildCliCommand(panel.checkpoint.root, { rules: ['+:layers\\.1\\.'], maxLayers: null, outDir, overwrite: false }, { verify: true });
    assert.match(expectedCommand, / --verify$/);
    assert.deepEqual(panel.clipboard, [expectedCommand]);
    assert.equal(await text(page, '#cli-copied'), `Copied: ${expectedCommand}`);
    // Defuse is the next action, so the copied command is no longer the news.

    await page.locator('#defuse').click();
    assert.equal(await text(page, '#cli-copied'), '');
    await waitForText(page, '#run-result', 'Wrote');
    const plan = await planDefusion(panel.checkpoint, { filter: ['+:layers\\.1\\.'] });
    assert.match(await text(page, '#run-result'), new RegExp(`Wrote ${plan.totals.tensorsAfter} tensors`));
    assert.match(await text(page, '#run-result'), /Output verified\./);
    assert.ok((await stat(path.join(outDir, 'model.safetensors'))).size > 0);
    assert.ok((await readdir(outDir)).includes('config.json'));
    assert.ok(panel.hostMessages.some((message) => message.type === 'run' && message.run.kind === 'done'));

    await page.locator('#run-result vscode-button', { hasText: 'Reveal' }).click();
    await page.locator('#run-result vscode-button', { hasText: 'Open folder' }).click();
    await eventually(() => panel.opened.length >= 2);
    assert.deepEqual(panel.opened, [`reveal ${outDir}`, `open ${outDir}`]);
    assert.deepEqual(panel.pageErrors, []);
    await panel.saveRecording('golden-convert');
    await page.context().close();
  });

  void it('cancels a running conversion', async () => {
    const outParent = await mkdtemp(path.join(os.tmpdir(), 'defuser-panel-out-'));
    cleanup.push(outParent);
    // A stand-in conversion: a real one of a tiny checkpoint finishes before the test could press Cancel.
    // It reports progress once, then waits for the abort signal the way the core's converter does.
    const panel = await openPanelPage(browser, bundle, {
      checkpointPath: GOLDEN,
      defaults: { rules: null, maxLayers: null, outDir: path.join(outParent, 'defused'), verify: false },
      runConversion: (job) => new Promise((_resolve, reject) => {
        job.onProgress({ bytesDone: 10, bytesTotal: 40, tensorsDone: 1, tensorsTotal: 4, currentTensor: HOSTILE_NAME });
        job.signal.addEventListener('abort', () => reject(new Error('Conversion cancelled.')));
      }),
    });
    const { page } = panel;
    await waitForText(page, '#candidate-count', '2 of 2');
    await page.locator('#defuse').click();
    await waitForText(page, '#progress-text', '25.0%');
    assert.match(await text(page, '#progress-text'), new RegExp(`tensor 1 of 4 \\(${HOSTILE_NAME.replace(/[()]/g, '\\$&')}\\)`));
    assert.equal(await page.locator('#defuse').getAttribute('disabled'), '');

    await page.locator('#cancel').click();
    await waitForText(page, '#run-result', 'Conversion cancelled');
    assert.equal(await page.locator('#run-progress').isVisible(), false);
    assert.ok(panel.logs.some((line) => line.includes('cancelled')), panel.logs.join('\n'));
    assert.equal(await page.locator('img').count(), 0);
    await page.context().close();
  });

  void it('scrolls 100,000 rows with a bounded DOM', async () => {
    const folder = await writeLargeCheckpoint(260, 128);
    cleanup.push(folder);
    const plan = await planDefusion(await openCheckpoint(folder), {});
    const total = plan.removed.length + plan.added.length;
    assert.ok(total >= 100_000, `fixture has ${total} rows`);

    const panel = await openPanelPage(browser, bundle, {
      checkpointPath: folder, defaults: { rules: null, maxLayers: null, outDir: `${folder}-defused`, verify: false },
    });
    const { page } = panel;
    await waitForText(page, '#candidate-count', '260 of 260');
    await page.locator('#diff-collapse').click();
    await waitForText(page, '#diff-count', `${total.toLocaleString('en-US')} rows`);
    assert.equal(await page.locator('#diff-grid').getAttribute('aria-rowcount'), String(total + 1));

    // In plan order the changes view lists removed tensors, then added ones.
    const expectedNames = [...plan.removed.map((tensor) => tensor.name), ...plan.added.map((tensor) => tensor.name)];
    for (const target of [0, 54_321, total - 1]) {
      await page.locator('#diff-viewport').evaluate((viewport, top) => {
        viewport.scrollTop = top;
      }, target * 22);
      await page.waitForFunction((index) => {
        const row = document.querySelector(`#diff-row-${index}`);
        return row !== null && !row.classList.contains('loading');
      }, target);
      const rows = await renderedRows(page);
      assert.ok(rows.length > 0, 'no rows in the DOM');
      assert.ok(rows.length <= 80, `${rows.length} rows in the DOM`);
      for (const row of rows.filter((item) => item.name !== '…' && item.name !== '')) {
        assert.equal(row.name, expectedNames[row.index], `row ${row.index}`);
      }
      assert.ok(rows.some((row) => row.index === target));
    }
    await page.context().close();
  });

  void it('renders a hostile tensor name as text', async () => {
    const folder = await writeLargeCheckpoint(2, 4);
    cleanup.push(folder);
    const panel = await openPanelPage(browser, bundle, {
      checkpointPath: folder, defaults: { rules: null, maxLayers: null, outDir: `${folder}-defused`, verify: false },
    });
    const { page } = panel;
    await waitForText(page, '#candidate-count', '2 of 2');
    await page.locator('#diff-view').click();
    await page.locator('vscode-option[value=all]').click();
    await page.locator('#diff-query input').fill('onerror');
    await waitForText(page, '#diff-count', '1 row');
    const rows = await renderedRows(page);
    assert.deepEqual(rows.map((row) => row.name), [HOSTILE_NAME]);
    assert.equal(await page.locator('img').count(), 0);

    // A hostile rule is text in the problem list too.
    await typeRules(page, `(${HOSTILE_NAME}`);
    await waitForText(page, '#rule-problems', 'is invalid');
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(panel.dialogs, []);
    assert.deepEqual(await panel.cspViolations(), []);
    await page.context().close();
  });

  void it('keyboard expands an expert run', async () => {
    const panel = await openGolden();
    const { page } = panel;
    await page.locator('#diff-view').click();
    await page.locator('vscode-option[value=added]').click();
    await waitForText(page, '#diff-count', '6 rows');
    await page.locator('#diff-grid').focus();
    await page.keyboard.press('ArrowRight');
    await waitForText(page, '#diff-count', '10 rows');
    assert.equal(await page.locator('#diff-row-0').getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    // The grid re-renders on the next animation frame.
    await page.waitForFunction(() => document.querySelector('#diff-grid')?.getAttribute('aria-activedescendant') === 'diff-row-2');
    assert.equal(await page.locator('#diff-row-2').getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator('#diff-row-0').getAttribute('aria-selected'), 'false');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowLeft');
    await waitForText(page, '#diff-count', '6 rows');
    await page.context().close();
  });

  void it('clears the copied command', async () => {
    const panel = await openGolden();
    const { page } = panel;
    await page.clock.install();
    await page.locator('#copy-cli').click();
    await waitForText(page, '#cli-copied', 'Copied:');
    // A rule change makes the copied command stale.
    await typeRules(page, '+:layers\\.1\\.');
    assert.equal(await text(page, '#cli-copied'), '');

    // Left alone, the status clears itself after five seconds of the page's (fake) clock.
    await page.locator('#copy-cli').click();
    await waitForText(page, '#cli-copied', 'Copied:');
    await page.clock.runFor(4_000);
    assert.match(await text(page, '#cli-copied'), /^Copied: /);
    await page.clock.runFor(1_500);
    assert.equal(await text(page, '#cli-copied'), '');
    assert.equal(panel.clipboard.length, 2);
    await page.context().close();
  });

  void it('fits placeholders in their fields', async () => {
    const panel = await openGolden();
    const { page } = panel;
    const fields = await page.$$eval('vscode-text-field[placeholder]', (elements) => elements.map((field) => {
      const input = field.shadowRoot?.querySelector('input');
      if (!input) {
        return { id: field.id, placeholder: '', needed: 0, available: 0 };
      }
      const style = getComputedStyle(input);
      const context = document.createElement('canvas').getContext('2d') as CanvasRenderingContext2D;
      context.font = style.font;
      return {
        id: field.id,
        placeholder: input.placeholder,
        needed: context.measureText(input.placeholder).width,
        available: input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      };
    }));
    assert.deepEqual(fields.map((field) => field.id).sort(), ['candidate-query', 'diff-query', 'max-layers']);
    for (const field of fields) {
      assert.ok(field.placeholder !== '', `${field.id} has no inner input with a placeholder`);
      assert.ok(field.needed <= field.available, `"${field.placeholder}" needs ${field.needed}px, ${field.id} has ${field.available}px`);
    }
    await page.context().close();
  });

  void it('aligns diff headers with their columns', async () => {
    const largeFolder = await writeLargeCheckpoint(40, 8);
    cleanup.push(largeFolder);
    const golden = await openGolden();
    const large = await openPanelPage(browser, bundle, {
      checkpointPath: largeFolder, defaults: { rules: null, maxLayers: null, outDir: `${largeFolder}-defused`, verify: false },
    });
    await waitForText(large.page, '#candidate-count', '40 of 40');
    // The golden diff fits without a vertical scrollbar; the large one has one.
    for (const { page } of [golden, large]) {
      await page.locator('#diff-collapse').click();
      await page.waitForFunction(() => document.querySelector('#diff-row-0 .name')?.textContent !== '');
      await page.waitForFunction(() => document.querySelector('#diff-row-0.loading') === null);
      const edges = await page.evaluate(() => {
        const viewport = document.querySelector('#diff-viewport') as HTMLElement;
        const heads = [...document.querySelectorAll<HTMLElement>('.grid-head [role=columnheader]')].filter((cell) => cell.offsetParent !== null);
        const cells = [...document.querySelectorAll<HTMLElement>('#diff-row-0 [role=gridcell]')].filter((cell) => cell.offsetParent !== null);
        return {
          scrollbar: viewport.offsetWidth - viewport.clientWidth,
          heads: heads.map((cell) => [cell.getBoundingClientRect().left, cell.getBoundingClientRect().right]),
          cells: cells.map((cell) => [cell.getBoundingClientRect().left, cell.getBoundingClientRect().right]),
        };
      });
      assert.equal(edges.heads.length, edges.cells.length);
      edges.heads.forEach(([left, right], index) => {
        const [cellLeft, cellRight] = edges.cells[index];
        assert.ok(Math.abs(left - cellLeft) < 1, `column ${index + 1} header starts at ${left}px, its cells at ${cellLeft}px (scrollbar ${edges.scrollbar}px)`);
        assert.ok(Math.abs(right - cellRight) < 1, `column ${index + 1} header ends at ${right}px, its cells at ${cellRight}px (scrollbar ${edges.scrollbar}px)`);
      });
    }
    await golden.page.context().close();
    await large.page.context().close();
  });

  void it('hides the shard column for one shard', async () => {
    const panel = await openGolden();
    const { page } = panel;
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.locator('#diff-view').click();
    await page.locator('vscode-option[value=removed]').click();
    await waitForText(page, '#diff-count', '4 rows');
    const visibleHeads = await page.$$eval('.grid-head [role=columnheader]', (cells) => cells
      .filter((cell) => (cell as HTMLElement).offsetParent !== null).map((cell) => cell.textContent ?? ''));
    assert.deepEqual(visibleHeads.map((label) => label.trim()), ['Change', 'Name', 'DType', 'Shape', 'Bytes', 'Source slice']);
    assert.equal(await page.locator('#diff-grid').getAttribute('aria-colcount'), '6');
    const clipped = await page.$$eval('#diff-spacer .name', (names) => names
      .filter((name) => name.scrollWidth > name.clientWidth).map((name) => name.textContent ?? ''));
    assert.deepEqual(clipped, []);
    await page.context().close();
  });

  void it('takes light, dark and high-contrast screenshots', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    for (const theme of ['light', 'dark', 'high-contrast'] as const) {
      const panel = await openGolden(['+:layers\\.1\\.', '-:nothing'], theme);
      await waitForText(panel.page, '#rule-notes', 'matches nothing');
      await waitForText(panel.page, '#fact-free', 'B');
      // The focused grid and its active row, so the screenshot shows the theme's focus outline.
      await panel.page.locator('#diff-grid').focus();
      if (theme === 'high-contrast') {
        // High contrast themes leave selection fills undefined, so focus and the active row need outlines.
        const outline = (selector: string): Promise<string> => panel.page.$eval(selector, (element) => {
          const style = getComputedStyle(element);
          return `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`;
        });
        assert.equal(await outline('#diff-grid'), 'solid 1px rgb(243, 133, 24)');
        await panel.page.waitForFunction(() => document.querySelector('#diff-grid')?.getAttribute('aria-activedescendant') === 'diff-row-0');
        assert.match(await outline('#diff-row-0'), /^(dotted|solid|dashed) 1px rgb\(243, 133, 24\)$/);
        // Tab moves from the grid to its first sort button.
        await panel.page.keyboard.press('Tab');
        assert.equal(await panel.page.evaluate(() => document.activeElement?.textContent), 'Change');
        assert.match(await outline(':focus'), /^solid [1-9][\d.]*px rgb\(243, 133, 24\)$/);
      }
      const file = path.join(ARTIFACTS, `panel-${theme}.png`);
      await panel.page.screenshot({ path: file, fullPage: true });
      assert.ok((await stat(file)).size > 10_000);
      await panel.page.context().close();
    }
  });
});
