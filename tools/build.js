// @ts-check
/**
 * Compiles apps/, libs/, scripts/ and bench/ TypeScript (not tests) into dist/ (same layout), copying Lua and other
 * assets, and removes what no longer has a source. Also test/fakes/ (the providers' fakes, no tests in it): the
 * benchmarks run from dist/ and load the fake FCM server from there.
 * Usage: node tools/build.js
 */
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');
const { root, swcOptions } = require('./swc-options');

const SOURCE_DIRS = ['apps', 'libs', 'scripts', 'bench', 'test/fakes'];
const ASSET_EXTENSIONS = new Set(['.lua', '.html', '.css', '.svg', '.ico', '.json']);
const outDir = path.join(root, 'dist');

/** @param {string} dir @returns {string[]} */
function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : walk(full);
    return [full];
  });
}

async function main() {
  const files = SOURCE_DIRS.flatMap((d) => walk(path.join(root, d)));
  /** Every file this build writes; anything else under dist/ is stale and removed at the end. */
  const written = new Set();
  let compiled = 0;
  await Promise.all(
    files.map(async (file) => {
      const rel = path.relative(root, file);
      const ext = path.extname(file);
      if (ext === '.ts' && !file.endsWith('.d.ts') && !/[.-]spec\.ts$/.test(file)) {
        const out = path.join(outDir, rel.replace(/\.ts$/, '.js'));
        const result = await swc.transformFile(file, { ...swcOptions(), filename: file, outputPath: out, swcrc: false });
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, result.code + `\n//# sourceMappingURL=${path.basename(out)}.map\n`);
        written.add(out);
        if (result.map) {
          fs.writeFileSync(out + '.map', result.map);
          written.add(out + '.map');
        }
        compiled++;
      } else if (ASSET_EXTENSIONS.has(ext)) {
        const out = path.join(outDir, rel);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.copyFileSync(file, out);
        written.add(out);
      }
    }),
  );
  // Files are overwritten in place (a running `npm start` keeps working); only stale ones are deleted.
  for (const file of walk(outDir)) if (!written.has(file)) fs.rmSync(file);
  process.stdout.write(`built ${compiled} files into dist/\n`);
}

main().catch((err) => {
  process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
