/** Headless Debian Chromium driven by playwright-core, with every request off the loopback blocked. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Chromium binary: `CHROMIUM_PATH`, else the Debian binary, else the Debian wrapper script. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH
  ?? (fs.existsSync('/usr/lib/chromium/chromium') ? '/usr/lib/chromium/chromium' : '/usr/bin/chromium');

/** A launched browser with its own throw-away profile. */
export interface Browser {
  readonly context: BrowserContext;
  /** URLs the route guard aborted. */
  readonly blocked: readonly string[];
  close(): Promise<void>;
}

/** Returns whether a URL stays on this machine (or needs no network at all). */
export function isLoopback(url: string): boolean {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname.endsWith('.localhost');
  } catch {
    return false;
  }
}

/** Launches Chromium with a fresh profile; `log` receives blocked requests. */
export async function launchBrowser(log: (message: string) => void): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium was not found at ${CHROMIUM_PATH}. Run scripts/install-code-server.sh `
      + '(it installs the Debian chromium package) or set CHROMIUM_PATH.');
  }
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'defuser-chromium-'));
  const launching = chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1400, height: 900 },
    timeout: 60_000,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--disable-dev-shm-usage',
      '--no-default-browser-check', '--disable-features=MediaRouter,OptimizationHints,Translate',
      // Name resolution fails for every host except the loopback, whatever a page requests.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  let context: BrowserContext;
  try {
    context = await launching;
  } catch (error) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    throw error;
  }
  const blocked: string[] = [];
  await context.route((url) => !isLoopback(url.toString()), async (route) => {
    blocked.push(route.request().url());
    log(`blocked a request off the loopback: ${route.request().url()}`);
    await route.abort('blockedbyclient');
  });
  return {
    context,
    blocked,
    async close() {
      try {
        await context.close();
      } finally {
        fs.rmSync(profileDir, { recursive: true, force: true });
      }
    },
  };
}
