// `npm run build`: bundle the app (mqtt.js included) into dist/, which
// `pacer app` serves. Everything the app uses at run time is in dist/.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { iconPng } from './icons.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked', // third-party licences in app.js.LEGAL.txt
  outfile: join(dist, 'app.js'),
  logLevel: 'warning',
});

const staticDir = join(here, 'static');
for (const name of readdirSync(staticDir)) {
  if (name !== 'sw.js') cpSync(join(staticDir, name), join(dist, name));
}
writeFileSync(join(dist, 'icon-192.png'), iconPng(192));
writeFileSync(join(dist, 'icon-512.png'), iconPng(512));
writeFileSync(join(dist, 'icon-maskable-512.png'), iconPng(512, { maskable: true }));

// The service worker caches the shell; its name changes with the content, so
// a new build replaces the old cache.
const files = readdirSync(dist).sort();
const hash = createHash('sha256');
for (const f of files) hash.update(f).update(readFileSync(join(dist, f)));
const version = hash.digest('hex').slice(0, 12);
const shell = ['./', ...files.filter((f) => !f.endsWith('.txt'))];
const sw = readFileSync(join(staticDir, 'sw.js'), 'utf8')
  .replace('__VERSION__', version)
  .replace('__FILES__', JSON.stringify(shell));
writeFileSync(join(dist, 'sw.js'), sw);
writeFileSync(join(dist, 'BUILT'), `${version}\n`);
console.log(`pacer app built into ${dist} (${version})`);
