// Opens the built app (npm run preview) in headless Chromium, signs in, visits pages, takes
// screenshots and runs axe-core on each. Usage:
//   node scripts/check.mjs [--base URL] [--user EMAIL] [--pass PW] [--lang en|el] [--out DIR] [--no-axe] PATH...
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const flag = (name) => {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return false;
  args.splice(i, 1);
  return true;
};
const base = opt('base', 'http://127.0.0.1:4173');
const user = opt('user', 'kostas@insureops.example.com');
const pass = opt('pass', 'employee-demo-pass');
const lang = opt('lang', 'en');
const out = opt('out', '.screenshots');
const width = Number(opt('width', '1400'));
const noAxe = flag('no-axe');
const paths = args.length ? args : ['/'];
mkdirSync(out, { recursive: true });

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: false });
await context.addInitScript((l) => localStorage.setItem('insureops.lang', l), lang);
const page = await context.newPage();
const problems = [];
page.on('console', (m) => {
  if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

let failed = 0;
await page.goto(`${base}/login`);
await page.getByLabel(lang === 'el' ? 'Email' : 'Email').fill(user);
await page.locator('input[type=password]').fill(pass);
await page.locator('button[type=submit]').click();
await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 10000 });

for (const p of paths) {
  const t0 = Date.now();
  await page.goto(`${base}${p}`);
  // the board keeps a stream open, so the network is never idle: wait for the heading and a moment
  await page.locator('h1').first().waitFor({ timeout: 10000 }).catch(() => undefined);
  await page.waitForTimeout(1500);
  const name = p.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'dashboard';
  await page.screenshot({ path: `${out}/${name}-${lang}.png`, fullPage: true });
  let line = `${p} (${Date.now() - t0} ms)`;
  if (!noAxe) {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) }));
    });
    const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    failed += bad.length;
    line += ` axe: ${result.length} violation(s), ${bad.length} serious/critical`;
    for (const v of result) line += `\n   [${v.impact}] ${v.id}: ${v.help}\n      ${v.nodes.join('\n      ')}`;
  }
  const marks = await page.evaluate(() => performance.getEntriesByType('mark').map((m) => `${m.name}@${Math.round(m.startTime)}`));
  if (marks.length) line += `\n   marks: ${marks.join(', ')}`;
  console.log(line);
}
if (problems.length) console.log(problems.join('\n'));
await browser.close();
process.exit(failed ? 1 : 0);
