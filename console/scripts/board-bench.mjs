// Board performance in headless Chromium with a synthetic board of N open deals (default 1000),
// served by intercepting GET /api/v1/pipeline/board (the platform is used for login and stages only):
// time to `board:interactive`, and keyboard drags to `board:move-confirmed` with the advance answered
// at once (the console's own overhead; the server's time comes on top). With `npm run preview` running.
// Usage: node scripts/board-bench.mjs [--deals 1000] [--moves 5] [--base URL]
import { chromium } from 'playwright-core';

const arg = (n, d) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
const base = arg('base', 'http://127.0.0.1:4173');
const N = Number(arg('deals', '1000'));
const MOVES = Number(arg('moves', '5'));
const gateway = process.env.INSUREOPS_GATEWAY ?? 'http://127.0.0.1:8000';
const user = 'kostas@insureops.example.com';
const pass = 'employee-demo-pass';

const tk = (await (await fetch(`${gateway}/api/v1/auth/token`, { method: 'POST', body: new URLSearchParams({ username: user, password: pass }) })).json()).access_token;
const stages = await (await fetch(`${gateway}/api/v1/stages`, { headers: { Authorization: `Bearer ${tk}` } })).json();
stages.sort((a, b) => a.position - b.position);

const perStage = Math.ceil(N / stages.length);
const uuid = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const t0 = Date.now();
const deals = new Map();
const columns = stages.map((stage, s) => {
  const count = Math.min(perStage, N - s * perStage);
  const list = [];
  for (let i = 0; i < Math.max(0, count); i++) {
    const n = s * perStage + i;
    const d = {
      id: uuid(n), client_id: uuid(900000 + (n % 300)), client_name: `Client ${n % 300} S.A.`, line_id: uuid(800000 + (n % 7)),
      line_name: ['Auto', 'Property', 'Health', 'Life', 'Marine', 'Liability', 'Business'][n % 7], title: `Synthetic deal ${n}`,
      expected_premium: `${1000 + (n % 50) * 37}.50`, currency: n % 10 === 0 ? 'USD' : 'EUR', notes: null, owner_id: uuid(700000 + (n % 12)),
      owner_name: `Owner ${n % 12}`, department_id: stage.department_id, stage, stage_entered_at: new Date(t0 - (n % 200) * 3600_000).toISOString(),
      status: 'open', archived: false, sla_state: ['green', 'yellow', 'red'][n % 3], terms: null, decline_reason: null, contract_id: null,
      version: 1, created_at: new Date(t0 - 86400_000 * 3).toISOString(), updated_at: new Date(t0).toISOString(), closed_at: null,
    };
    deals.set(d.id, d);
    list.push(d);
  }
  return { stage, count: Math.max(0, count), deals: list.slice(0, 100), premium_totals: [{ currency: 'EUR', amount: '123456.00' }] };
});
const board = JSON.stringify({ columns, total: N });
console.log(`synthetic board: ${N} deals, ${columns.reduce((a, c) => a + c.deals.length, 0)} listed, ${(board.length / 1024).toFixed(0)} KiB`);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1500, height: 900 } });
await context.route('**/api/v1/pipeline/board?*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: board }));
await context.route('**/api/v1/opportunities/*/advance', async (route) => {
  const id = route.request().url().split('/').slice(-2)[0];
  const d = deals.get(id);
  const next = stages[stages.findIndex((s) => s.key === d.stage.key) + 1];
  const moved = { ...d, stage: next, stage_entered_at: new Date().toISOString(), version: d.version + 1 };
  deals.set(id, moved);
  await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(moved) });
});
const page = await context.newPage();
await page.goto(`${base}/login`);
await page.getByLabel('Email').fill(user);
await page.locator('input[type=password]').fill(pass);
await page.locator('button[type=submit]').click();
await page.waitForURL((u) => !u.pathname.startsWith('/login'));

const runs = [];
for (let r = 0; r < 3; r++) {
  await page.goto(`${base}/board`); // a full load: session restore, code, stages, board
  await page.waitForFunction(() => performance.getEntriesByName('board:interactive').length > 0, null, { timeout: 20000 });
  runs.push(await page.evaluate(() => Math.round(performance.getEntriesByName('board:interactive')[0].startTime)));
}
const timings = await page.evaluate(() =>
  performance
    .getEntriesByType('resource')
    .map((e) => `${e.name.replace(location.origin, '').slice(0, 48)} ${Math.round(e.startTime)}→${Math.round(e.responseEnd)}`)
    .join('\n  '),
);
const nav = await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0]; return `domContentLoaded ${Math.round(n.domContentLoadedEventEnd)} load ${Math.round(n.loadEventEnd)}`; });
console.log(`last load: ${nav}\n  ${timings}`);
const cards = await page.locator('[data-testid^=card-]').count();
console.log(`board:interactive after navigation start (3 loads): ${runs.join(', ')} ms; ${cards} cards rendered`);

// --profile: where the main thread's time goes (build with --minify false for readable names)
const profiling = process.argv.includes('--profile');
let cdp;
async function startProfile() {
  if (!profiling) return;
  cdp ??= await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
}
async function stopProfile(what) {
  if (!profiling) return;
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const k = `${f.functionName || '(anon)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  console.log(`profile of ${what} (self ms):`);
  [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25).forEach(([k, v]) => console.log(`  ${(v / 1000).toFixed(1)} ${k}`));
}

// in-app navigation (code and session already there)
await page.getByRole('link', { name: 'Opportunities' }).click();
await page.locator('h1', { hasText: 'Opportunities' }).waitFor();
await startProfile();
const before = await page.evaluate(() => performance.now());
await page.getByRole('link', { name: 'Pipeline' }).click();
await page.waitForFunction(() => performance.getEntriesByName('board:interactive').length > 1, null, { timeout: 20000 });
const inApp = await page.evaluate((b) => Math.round(performance.getEntriesByName('board:interactive').at(-1).startTime - b), before);
await stopProfile('the in-app navigation');
console.log(`board:interactive after an in-app click: ${inApp} ms (data cached)`);
await page.waitForTimeout(500);
await startProfile();

const moves = [];
for (let i = 0; i < MOVES; i++) {
  const id = columns[i % 6].deals[Math.floor(i / 6)].id; // stages before Client Decision: a plain advance
  const handle = page.getByTestId(`card-${id}`).locator('[aria-roledescription]');
  await handle.focus();
  await page.keyboard.press('Space');
  await page.waitForTimeout(100);
  await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(100);
  const n = await page.evaluate(() => performance.getEntriesByName('board:move').length);
  const pressed = await page.evaluate(() => performance.now());
  await page.keyboard.press('Space');
  await page.waitForFunction((k) => performance.getEntriesByName('board:move').length > k, n);
  const m = await page.evaluate(() => performance.getEntriesByName('board:move').at(-1));
  const rendered = await page.evaluate((p) => performance.getEntriesByName('board:move-confirmed').at(-1).startTime - p, pressed);
  const req = await page.evaluate(() => { const e = performance.getEntriesByType('resource').filter((x) => x.name.includes('/advance')).at(-1); return e ? Math.round(e.duration) : -1; });
  moves.push(`${Math.round(m.duration)} (drop→confirmed ${Math.round(rendered)}, request ${req})`);
}
await stopProfile('the moves');
console.log(`keyboard moves, board:move ms: ${moves.join(', ')}`);
await browser.close();
