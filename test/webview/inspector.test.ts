// Browser tests of the safetensors inspector: the real bundle in headless Debian Chromium. The host side is
// a stand-in built from the same model and row functions as the extension's, because the extension's
// inspector session needs the `vscode` module; the harness explains it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, buildInspectorBundle, launchChromium, openInspectorPage, type ThemeName } from './harness';

const GOLDEN_FILE = '/work/shared/golden/qwen3_moe/input/model.safetensors';
const chromiumMissing = existsSync('/usr/bin/chromium') ? false : 'needs /usr/bin/chromium (apt-get install chromium)';

/** Types a search and waits until the tree lists only tensors whose names contain it. */
async function search(page: Page, query: string): Promise<void> {
  await page.locator('#search').fill(query);
  await page.waitForFunction((want) => {
    const rows = [...document.querySelectorAll('#tree tr[data-id]')];
    return rows.length > 0 && rows.every((row) => (row.textContent ?? '').includes(want));
  }, query);
}

/** Buttons of the tree whose right edge lies beyond the right edge of the view, by label and overshoot. */
function buttonsPastRightEdge(page: Page): Promise<string[]> {
  return page.$$eval('#tree button', (buttons) => {
    const width = document.documentElement.clientWidth;
    return buttons
      .map((button) => ({ label: button.textContent ?? '', right: button.getBoundingClientRect().right }))
      .filter((button) => button.right > width)
      .map((button) => `${button.label} ends at ${button.right}px of ${width}px`);
  });
}

void describe('inspector in Chromium', { skip: chromiumMissing }, () => {
  let browser: Browser;
  let bundle: string;

  before(async () => {
    browser = await launchChromium();
    bundle = await buildInspectorBundle();
  });

  after(async () => {
    await browser?.close();
    await rm(bundle, { recursive: true, force: true });
  });

  void it('keeps row actions inside a narrow view', async () => {
    for (const width of [520, 800, 1280]) {
      const inspector = await openInspectorPage(browser, bundle, GOLDEN_FILE, { width });
      const { page } = inspector;
      await search(page, 'experts.gate_up_proj');
      // One file: the file column would repeat its name on every row, so it is left out.
      const headers = await page.$$eval('#tree th', (cells) => cells.map((th) => th.textContent ?? ''));
      assert.deepEqual(headers, ['name', 'dtype', 'shape', 'parameters', 'bytes', 'offset', '']);
      const planButtons = page.locator('#tree button', { hasText: 'Defuse plan…' });
      assert.ok(await planButtons.count() > 0, 'no fused tensor row with a Defuse plan button');
      assert.deepEqual(await buttonsPastRightEdge(page), [], `at ${width}px`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, `the page scrolls sideways by ${overflow}px at ${width}px`);

      // The button still works where it now sits.
      await planButtons.first().click();
      for (let attempt = 0; attempt < 500 && inspector.planRequests.length === 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(inspector.planRequests, [1]);
      assert.deepEqual(inspector.pageErrors, []);
      await page.context().close();
    }
  });

  void it('shows focus and borders in high contrast', async () => {
    const inspector = await openInspectorPage(browser, bundle, GOLDEN_FILE, { theme: 'high-contrast' });
    const { page } = inspector;
    await search(page, 'experts.gate_up_proj');
    await page.locator('#search').focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement;
      const style = getComputedStyle(element);
      return { tag: element.tagName, text: element.textContent ?? '', outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}` };
    });
    assert.equal(focused.tag, 'BUTTON', JSON.stringify(focused));
    // The high-contrast focus colour (contrastActiveBorder), solid and at least 1px wide.
    assert.match(focused.outline, /^solid [1-9][\d.]*px rgb\(243, 133, 24\)$/, JSON.stringify(focused));

    const borders = await page.$$eval('#tree button', (buttons) => buttons.map((button) => getComputedStyle(button).borderTopColor));
    assert.ok(borders.length > 0);
    for (const border of borders) {
      assert.equal(border, 'rgb(111, 195, 223)', 'buttons without a fill need the contrast border');
    }
    await page.context().close();
  });

  void it('takes light, dark and high-contrast screenshots', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    for (const theme of ['light', 'dark', 'high-contrast'] as const satisfies readonly ThemeName[]) {
      const inspector = await openInspectorPage(browser, bundle, GOLDEN_FILE, { theme, width: 900 });
      const { page } = inspector;
      await search(page, 'layers.1.mlp');
      // A focused row action, so the screenshot shows the focus outline of the theme.
      await page.locator('#tree button').first().focus();
      const file = path.join(ARTIFACTS, `inspector-${theme}.png`);
      await page.screenshot({ path: file, fullPage: true });
      assert.ok((await stat(file)).size > 10_000);
      assert.deepEqual(inspector.pageErrors, []);
      await page.context().close();
    }
  });
});
