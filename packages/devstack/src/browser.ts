import { chromium, type Browser } from 'playwright-core';

export type { Browser };

/**
 * Debian's headless Chromium (`CHROMIUM_PATH` elsewhere), for the browser checks. Its sandbox
 * cannot run as root (CI), and the pages are Mela's own. It fetches nothing of its own accord:
 * no background networking, component updates or first-run calls, so the only traffic is the
 * test's, to this machine.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    chromiumSandbox: false,
    args: ['--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
