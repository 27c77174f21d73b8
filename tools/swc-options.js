// @ts-check
/**
 * SWC options for the build (tools/build.js) and for Jest (@swc/jest), derived from tsconfig.base.json so the
 * `@tidegate/*` path aliases are declared once. `tsc --noEmit` type-checks; SWC only strips types (fast).
 * Output is CommonJS: NestJS 12 packages are ESM-only, and Node >= 20.19 loads them with require(esm).
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** @returns {Record<string, string[]>} */
function tsPaths() {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.base.json'), 'utf8'));
  return tsconfig.compilerOptions.paths;
}

/** @param {{ sourceMaps?: boolean | 'inline' }} [opts] */
function swcOptions(opts = {}) {
  return {
    sourceMaps: opts.sourceMaps ?? true,
    module: { type: 'commonjs', strictMode: true },
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
      baseUrl: root,
      paths: tsPaths(),
    },
  };
}

module.exports = { root, tsPaths, swcOptions };
