// Drives the board in headless Chromium against the running platform (npm run preview first):
// a keyboard move, a live update from someone else, a pointer drag back with its reason dialog, a
// refused drop. Creates one demo deal through the API. Usage: node scripts/board-flow.mjs [--base URL]
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function axe(page, what) {
  await page.evaluate(axeSource);
  const bad = await page.evaluate(async () =>
    (await axe.run(document, { resultTypes: ['violations'] })).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => `${n.target.join(' ')} ${n.html.slice(0, 120)} ${n.failureSummary}`).slice(0, 3).join(' | ')}`),
  );
  console.log(`axe (${what}): ${bad.length ? bad.join('\n  ') : 'no serious/critical violation'}`);
}

const base = process.argv.includes('--base') ? process.argv[process.argv.indexOf('--base') + 1] : 'http://127.0.0.1:4173';
const gateway = process.env.INSUREOPS_GATEWAY ?? 'http://127.0.0.1:8000';
const user = 'kostas@insureops.example.com';
const pass = 'employee-demo-pass';
mkdirSync('.screenshots', { recursive: true });

async function token() {
  const r = await fetch(`${gateway}/api/v1/auth/token`, { method: 'POST', body: new URLSearchParams({ username: user, password: pass }) });
  return (await r.json()).access_token;
}
const tk = await token();
const call = async (method, path, body) => {
  const r = await fetch(`${gateway}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tk}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
};
const clients = await call('GET', '/api/v1/clients?q=Karamanli&limit=1');
const lines = await call('GET', '/api/v1/lines');
const auto = lines.find((l) => l.name === 'Auto');
const open = (title) =>
  call('POST', '/api/v1/opportunities', { client_id: clients.items[0].id, line_id: auto.id, title: `${title} ${new Date().toISOString().slice(11, 19)}`, expected_premium: '800.00', currency: 'EUR' });
const stageKeys = (await call('GET', '/api/v1/stages')).sort((a, b) => a.position - b.position).map((x) => x.key);
async function toDecision(d) {
  for (const key of stageKeys.slice(0, stageKeys.indexOf('client_decision'))) await call('POST', `/api/v1/opportunities/${d.id}/advance`, { from_stage: key });
  return d;
}
const deal = await open('Console check');
const toAccept = await toDecision(await open('Console accept'));
const toDecline = await toDecision(await open('Console decline'));
console.log('deal', deal.id, deal.stage.key);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await (await browser.newContext({ viewport: { width: 1500, height: 900 } })).newPage();
page.on('pageerror', (e) => console.log('pageerror', e.message));
await page.goto(`${base}/board?line=${auto.id}`);
await page.getByLabel('Email').fill(user);
await page.locator('input[type=password]').fill(pass);
await page.locator('button[type=submit]').click();
await page.waitForURL(/\/board/);
const card = page.getByTestId(`card-${deal.id}`);
await card.waitFor();
const inColumn = (key) => page.getByTestId(`column-${key}`).getByTestId(`card-${deal.id}`);
const handle = () => page.getByTestId(`card-${deal.id}`).getByRole('button').first();
await page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
console.log('live');

// 1. keyboard: Space, ArrowRight, Space
await handle().focus();
await page.keyboard.press('Space');
await page.waitForTimeout(150);
await page.keyboard.press('ArrowRight');
await page.waitForTimeout(150);
console.log('announcer during drag:', await page.locator('#DndLiveRegion-0, [id^=DndLiveRegion]').first().textContent());
await page.keyboard.press('Space');
await inColumn('needs_analysis').waitFor({ timeout: 5000 });
await page.waitForFunction(() => performance.getEntriesByName('board:move').length > 0);
const measure = await page.evaluate(() => performance.getEntriesByName('board:move').map((m) => Math.round(m.duration)));
console.log('keyboard move confirmed, board:move ms =', measure);
console.log('focus after drop on:', await page.evaluate(() => document.activeElement?.closest('[data-testid^=card-]')?.getAttribute('data-testid')));
await page.screenshot({ path: '.screenshots/flow-1-keyboard.png' });

// 2. live: someone else advances it
const t0 = Date.now();
await call('POST', `/api/v1/opportunities/${deal.id}/advance`, { from_stage: 'needs_analysis' });
await inColumn('material_gathering').waitFor({ timeout: 5000 });
console.log('live update shown after', Date.now() - t0, 'ms');

// 3. pointer drag back → reason dialog
const from = await handle().boundingBox();
const target = await page.getByTestId('column-needs_analysis').boundingBox();
await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
await page.mouse.down();
await page.mouse.move(from.x + from.width / 2 - 20, from.y + from.height / 2, { steps: 4 });
await page.mouse.move(target.x + target.width / 2, target.y + 200, { steps: 12 });
await page.mouse.up();
const dialog = page.getByRole('dialog');
await dialog.waitFor();
await page.screenshot({ path: '.screenshots/flow-2-moveback-dialog.png' });
await dialog.getByRole('button', { name: 'Move back' }).click();
console.log('empty reason error:', await dialog.getByText('Say why the deal goes back.').isVisible());
await dialog.getByLabel('Reason').fill('Documents were incomplete');
await dialog.getByRole('button', { name: 'Move back' }).click();
await inColumn('needs_analysis').waitFor({ timeout: 5000 });
console.log('moved back by pointer');

// 4. a refused drop (two stages ahead, by keyboard)
const region = page.locator('[id^=DndLiveRegion]').first();
await handle().focus();
for (const key of ['Space', 'ArrowRight', 'ArrowRight', 'Space']) {
  await page.keyboard.press(key);
  await page.waitForTimeout(120);
  console.log(`  ${key}: ${await region.textContent()}`);
}
await page.getByText('A deal moves one stage at a time').first().waitFor();
console.log('refused drop told, still in needs_analysis:', await inColumn('needs_analysis').count());
await page.screenshot({ path: '.screenshots/flow-3-refused.png' });

// 5. Client Decision → Policy Issuance by keyboard: the Accept dialog
const acceptHandle = page.getByTestId(`card-${toAccept.id}`).locator('[aria-roledescription]');
await acceptHandle.focus();
for (const key of ['Space', 'ArrowRight', 'Space']) {
  await page.keyboard.press(key);
  await page.waitForTimeout(120);
}
const acceptDialog = page.getByRole('dialog');
await acceptDialog.waitFor();
await axe(page, 'accept dialog');
await page.screenshot({ path: '.screenshots/flow-4-accept-dialog.png' });
await acceptDialog.getByRole('button', { name: 'Accept', exact: true }).click();
console.log('insurer required shown:', await acceptDialog.getByText('Enter the insurer.').isVisible());
await acceptDialog.getByLabel('Insurer').fill('Ethniki Asfalistiki');
await acceptDialog.getByRole('button', { name: 'Accept', exact: true }).click();
await page.getByTestId('column-policy_issuance').getByTestId(`card-${toAccept.id}`).waitFor({ timeout: 8000 });
const contracts = await call('GET', `/api/v1/contracts?opportunity_id=${toAccept.id}`);
console.log('accepted: card in Policy Issuance, contracts created:', contracts.total ?? contracts.items?.length);

// 6. Decline from the card's button
await page.getByTestId(`card-${toDecline.id}`).getByRole('button', { name: /^Decline/ }).click();
const declineDialog = page.getByRole('dialog');
await declineDialog.waitFor();
await axe(page, 'decline dialog');
await declineDialog.getByLabel('Reason').fill('Chose another broker');
await declineDialog.getByRole('button', { name: 'Decline', exact: true }).click();
await page.getByTestId(`card-${toDecline.id}`).waitFor({ state: 'detached', timeout: 8000 });
console.log('declined: card left the board;', (await call('GET', `/api/v1/opportunities/${toDecline.id}`)).status);
await axe(page, 'board after the moves');

// 7. Enter opens the deal
await handle().focus();
await page.keyboard.press('Enter');
await page.waitForURL(new RegExp(`/opportunities/${deal.id}`));
console.log('Enter opened', new URL(page.url()).pathname);
await browser.close();
