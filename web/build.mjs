// Bundles the console: node build.mjs OUT_DIR
// OUT_DIR/index.html (from index.html, with the hashed bundle names filled in) and
// OUT_DIR/assets/* (main-<hash>.js, main-<hash>.css, Leaflet's images). Nothing is fetched at
// run time: Leaflet's CSS and marker images are bundled from node_modules.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '..', 'build', 'web'));
const assets = join(out, 'assets');
rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: 'linked',
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.png': 'file', '.svg': 'file' },
  metafile: true,
  logLevel: 'warning',
});

let js = null;
let css = null;
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (info.entryPoint && file.endsWith('.js')) js = basename(file);
  if (file.endsWith('.css')) css = basename(file);
}
if (!js || !css) throw new Error('esbuild produced no js or css bundle');
const html = readFileSync(join(here, 'index.html'), 'utf8')
  .replace('__MAIN_JS__', `/assets/${js}`)
  .replace('__MAIN_CSS__', `/assets/${css}`);
writeFileSync(join(out, 'index.html'), html);
console.log(`console: ${out}/index.html, assets/${js}, assets/${css}`);
