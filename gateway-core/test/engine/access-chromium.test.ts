/**
 * The attack of issue 12 (finding 1): a web page from another origin, open in
 * a browser on the machine that runs the engine and the hub, opens their
 * Kurento WebSockets (which the same-origin policy does not stop) and tries
 * to drive them. Both now refuse at the upgrade because the browser sends an
 * Origin header; the page never gets a socket, let alone a getUri answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, servePage, startStack, type Stack } from '@camgate/test-helpers';

const ATTACK_PAGE = `<!doctype html><meta charset="utf-8"><title>not camgate</title>
<script>
  // Opens a WebSocket and reports how it ended: 'open' (the attack works) or 'error'/'close CODE'.
  window.tryOpen = (url) => new Promise((resolve) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => resolve('timeout'), 10000);
    ws.onopen = () => {
      clearTimeout(timer);
      // What the attack would do first: ask the server for its pipelines.
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'describe', params: { object: 'manager_ServerManager' } }));
      resolve('open');
    };
    ws.onerror = () => { clearTimeout(timer); resolve('error'); };
    ws.onclose = (e) => { clearTimeout(timer); resolve('close ' + e.code); };
  });
</script>`;

describe('Kurento WebSockets from a cross-origin page in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: { url: string; close: () => Promise<void> };

  before(async () => {
    stack = await startStack();
    browser = await launchChromium();
    page = await servePage(ATTACK_PAGE);
  });
  after(async () => {
    await browser?.close();
    await page?.close();
    await stack?.close();
  });

  it('cannot open the engine (not even with its token) nor the hub Kurento endpoint; both log the refusal', async () => {
    // The gateway's own connection (camera profiles) may hold a session already: count from here.
    const sessionsBefore = stack.engine.stats().sessions;
    const tab = await browser.newPage();
    await tab.goto(page.url);
    // The engine URL with its token: the worst case, a page that somehow learned the token.
    const engine = await tab.evaluate(
      (u) => (window as unknown as { tryOpen(u: string): Promise<string> }).tryOpen(u),
      stack.engine.url,
    );
    const hub = await tab.evaluate(
      (u) => (window as unknown as { tryOpen(u: string): Promise<string> }).tryOpen(u),
      stack.kurentoUrl,
    );
    await tab.close();
    assert.notEqual(engine, 'open');
    assert.notEqual(hub, 'open');
    assert.notEqual(engine, 'timeout');
    assert.notEqual(hub, 'timeout');
    const pageOrigin = page.url.replace(/\/$/, '');
    const engineRefusal = stack.logs.find(
      (r) => r.msg === 'connection refused' && r.fields.reason === 'browser-origin',
    );
    assert.equal(engineRefusal?.fields.origin, pageOrigin);
    assert.equal(engineRefusal?.fields.status, 403);
    const hubRefusal = stack.logs.find((r) => r.msg === 'kurento connection refused: browser origin');
    assert.equal(hubRefusal?.fields.origin, pageOrigin);
    assert.equal(stack.engine.stats().sessions, sessionsBefore, 'the page reached no handler');
    assert.equal(stack.gateway.activeChannels, 0, 'no channel reached the gateway');
  });
});
