// The initial JavaScript of the built app (what index.html loads or preloads), gzipped.
// Usage after `npm run build`: node scripts/bundle-size.mjs [--max-kb 250]
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url);
const html = readFileSync(new URL('index.html', dist), 'utf8');
const files = [...new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]))];
let total = 0;
for (const f of files) total += gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length;
const kb = total / 1000;
const max = process.argv.includes('--max-kb') ? Number(process.argv[process.argv.indexOf('--max-kb') + 1]) : null;
console.log(`initial JS: ${files.length} files, ${kb.toFixed(1)} kB gzipped${max ? ` (budget ${max} kB)` : ''}`);
if (max && kb > max) process.exit(1);
