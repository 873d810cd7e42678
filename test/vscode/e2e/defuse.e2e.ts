/**
 * UI test in code-server: right-click the sample checkpoint folder in the Explorer, choose
 * "Defuse Checkpoint…", press Defuse in the panel, and see the output folder on disk and in the Explorer.
 * Then open the shard in the inspector, and edit the filter rules setting as a list in the Settings editor.
 * Screenshots go to test-artifacts/.
 *
 * usage: node --import tsx test/vscode/e2e/defuse.e2e.ts [--keep]
 * Prints "N passed, N failed" (one per step) and exits non-zero when a step fails.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { readHeader } from '../../../src/index';
import { REPO_ROOT, SAMPLE_FOLDER, openSession, stampedLogger, type Session } from '../harness/workbench';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const MENU_ENTRY = 'Defuse Checkpoint…';

interface StepResult {
  readonly name: string;
  readonly ok: boolean;
}

function explorerRow(page: Page, label: string): Locator {
  // An anchored pattern, so `qwen3_5_moe-tiny` does not also match `qwen3_5_moe-tiny-defused`.
  const exact = new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  return page.locator('.explorer-folders-view .monaco-list-row', { hasText: exact }).first();
}

/** Returns the content frame of the webview whose tab is active; webviews are two nested iframes. */
function activeWebview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready:visible').frameLocator('#active-frame');
}

async function openContextMenuEntry(page: Page, row: Locator, entry: string, log: (m: string) => void): Promise<void> {
  const item = page.locator('.context-view .monaco-menu .action-item', { hasText: entry }).first();
  // The entry appears only after the extension has set its context key. The Explorer may also re-render
  // and swallow an early right-click, so the right-click is retried a few times.
  for (let attempt = 1; ; attempt++) {
    await row.click({ button: 'right' });
    try {
      await item.waitFor({ state: 'visible', timeout: 3000 });
      break;
    } catch (error) {
      await page.keyboard.press('Escape');
      if (attempt >= 6) throw error;
      log(`context menu without "${entry}" (attempt ${attempt}); retrying`);
    }
  }
  // A click within about 200 ms of the menu opening is ignored by the workbench: hover, settle, click,
  // and fall back to Enter on the highlighted entry if the menu stays open.
  const menu = page.locator('.context-view .monaco-menu').first();
  await item.hover();
  await page.waitForTimeout(300);
  await item.click();
  try {
    await menu.waitFor({ state: 'hidden', timeout: 2000 });
  } catch {
    log('the menu click was swallowed; pressing Enter on the highlighted entry');
    await item.hover();
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden', timeout: 5000 });
  }
}

async function run(session: Session, log: (m: string) => void, step: (name: string, body: () => Promise<void>) => Promise<void>): Promise<void> {
  const { page, server } = session;
  const checkpoint = path.join(session.workspace, SAMPLE_FOLDER);
  const outDir = `${checkpoint}-defused`;
  const url = session.workbenchUrl([
    ['extensionDevelopmentPath', server.remoteUri(REPO_ROOT)],
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ]);

  await step('workbench loads', async () => {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  });

  const row = explorerRow(page, SAMPLE_FOLDER);
  await step('explorer shows the checkpoint folder', async () => {
    await row.waitFor({ state: 'visible', timeout: 60_000 });
    // Menus opened before the extension manifests are processed lack contributed entries.
    await page.waitForFunction(() => performance.getEntriesByName('code/didHandleExtensionPoints').length > 0,
      null, { timeout: 60_000, polling: 100 });
  });

  await step(`context menu runs "${MENU_ENTRY}"`, async () => {
    await openContextMenuEntry(page, row, MENU_ENTRY, log);
  });

  const webview = activeWebview(page);
  await step('defuse panel shows the plan', async () => {
    await page.locator('.tab', { hasText: `Defuse ${SAMPLE_FOLDER}` }).first().waitFor({ timeout: 30_000 });
    await webview.locator('#panel-title').waitFor({ timeout: 30_000 });
    const title = await webview.locator('#panel-title').innerText();
    log(`panel title: ${title}`);
    // The free space is measured on the host after the panel opens; the screenshot should show it.
    await webview.locator('#fact-free', { hasText: /\d B|iB/ }).waitFor({ timeout: 10_000 });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-panel.png') });
  });

  await step('Defuse writes the output folder', async () => {
    const defuse = webview.locator('#defuse');
    await defuse.waitFor({ state: 'visible', timeout: 30_000 });
    // The button is enabled once the first plan arrives.
    await page.waitForTimeout(200);
    await webview.locator('#defuse:not([disabled])').waitFor({ timeout: 30_000 });
    await defuse.click();
    const shard = path.join(outDir, 'model.safetensors');
    for (let i = 0; i < 300 && !fs.existsSync(shard); i++) await page.waitForTimeout(100);
    assert.ok(fs.existsSync(shard), `${shard} was not written`);
    const header = await readHeader(shard);
    assert.ok(header.byName.has('model.language_model.layers.0.mlp.experts.0.gate_proj.weight'), 'no per-expert tensor in the output');
    assert.ok(!header.byName.has('model.language_model.layers.0.mlp.experts.gate_up_proj'), 'the fused tensor is still in the output');
  });

  await step('explorer lists the output folder', async () => {
    await explorerRow(page, `${SAMPLE_FOLDER}-defused`).waitFor({ state: 'visible', timeout: 20_000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-defused.png') });
  });

  await step('the panel reveals the output folder', async () => {
    // The desktop-only revealFileInOS command does not exist in code-server; the panel must still work there.
    await webview.locator('#run-result vscode-button', { hasText: 'Reveal in Explorer' }).click();
    await page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: `${SAMPLE_FOLDER}-defused` })
      .first().waitFor({ timeout: 10_000 });
    assert.equal(await webview.locator('#panel-error').innerText(), '');
  });

  await step('inspector opens the shard', async () => {
    await page.keyboard.press('Escape');
    await row.click();
    const shardRow = explorerRow(page, 'model.safetensors');
    await shardRow.waitFor({ state: 'visible', timeout: 10_000 });
    await shardRow.dblclick();
    await page.locator('.tab', { hasText: 'model.safetensors' }).first().waitFor({ timeout: 30_000 });
    const inspector = activeWebview(page);
    await inspector.locator('#tree tr').nth(1).waitFor({ timeout: 30_000 });
    const totals = await inspector.locator('#totals').innerText();
    assert.match(totals, /F32/);
    await inspector.locator('#search').fill('layers.0.mlp.experts.gate_up');
    await inspector.locator('#tree tr', { hasText: 'gate_up_proj' }).first().waitFor({ timeout: 10_000 });
    await inspector.locator('#tree tr', { hasText: 'gate_up_proj' }).first().locator('button', { hasText: 'Statistics' }).click();
    await inspector.locator('#stats-table').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-inspector.png') });
  });

  await step('settings editor edits filter rules as a list', async () => {
    const settingsFile = path.join(session.workDir, 'user-data', 'User', 'settings.json');
    const savedRules = (): unknown => (JSON.parse(fs.readFileSync(settingsFile, 'utf8')) as Record<string, unknown>)['defuser.defaultFilterRules'];
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const quickInput = page.locator('.quick-input-widget input').first();
    await quickInput.waitFor({ timeout: 10_000 });
    await quickInput.fill('>Preferences: Open User Settings');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: /^Preferences: Open User Settings$/ }).first().click();
    const search = page.locator('.settings-editor .suggest-input-container').first();
    await search.waitFor({ timeout: 30_000 });
    await search.click();
    await page.keyboard.type('defuser.defaultFilterRules');

    // A list editor with "Add Item", not the "Edit in settings.json" link of complex settings.
    const item = page.locator('.settings-editor .setting-item-list', { hasText: 'Default Filter Rules' }).first();
    await item.waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('.settings-editor .setting-item-complex', { hasText: 'Default Filter Rules' }).count(), 0);

    await item.locator('.monaco-button', { hasText: 'Add Item' }).click();
    await item.locator('.setting-list-edit-row input').first().fill('+:layers\\.0\\.');
    await page.keyboard.press('Enter');
    await waitForSaved(savedRules, ['+:layers\\.0\\.']);

    // Removing the last item saves the empty list, a filter that selects nothing, not "unset".
    const listRow = item.locator('.setting-list-row', { hasText: '+:layers' }).first();
    await listRow.hover();
    // The row's actions are Edit Item, then Remove Item.
    await listRow.locator('.monaco-action-bar .action-label').last().click();
    await waitForSaved(savedRules, []);
    await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-settings-filter-rules.png') });
  });
}

/** Polls the saved value until it equals `expected`, for at most 10 seconds. */
async function waitForSaved(read: () => unknown, expected: unknown): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    last = read();
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual(last, expected, 'settings.json after editing in the Settings editor');
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const log = stampedLogger('e2e');
  const results: StepResult[] = [];
  let session: Session | undefined;
  const step = async (name: string, body: () => Promise<void>): Promise<void> => {
    const started = Date.now();
    try {
      await body();
      results.push({ name, ok: true });
      log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      results.push({ name, ok: false });
      log(`FAIL ${name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      throw error;
    }
  };
  process.once('SIGINT', () => { void session?.close().then(() => process.exit(1)); });
  try {
    session = await openSession({ log, keep });
    await run(session, log, step);
  } catch (error) {
    if (results.every((result) => result.ok)) results.push({ name: 'setup', ok: false });
    console.error(error instanceof Error ? error.stack ?? error.message : String(error));
    if (session) {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await session.page.screenshot({ path: path.join(ARTIFACTS, 'e2e-failure.png') }).catch(() => undefined);
    }
  } finally {
    await session?.close();
  }
  const failed = results.filter((result) => !result.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
