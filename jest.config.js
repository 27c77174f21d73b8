// @ts-check
/**
 * Three tiers (see docs/testing.md):
 *   unit         *.spec.ts beside the code: pure logic, no I/O
 *   integration  *.int-spec.ts: real Redis and PostgreSQL, a fresh database and key prefix per test file
 *   e2e          test/e2e/*.e2e-spec.ts: apps booted, HTTP and socket.io over loopback
 *   browser      test/browser/*.browser-spec.ts: apps booted, driven by Debian's Chromium through playwright-core
 * and two tiers that need servers of their own, run by their scripts rather than `npm test`:
 *   cluster-e2e  test/cluster/*.cluster-spec.ts: apps as separate processes on a 6-node Redis Cluster (test:cluster)
 *   faults       test/faults/*.fault-spec.ts: servers stopped, restarted and failed over mid-campaign (test:faults)
 * TypeScript and the ESM-only packages (NestJS 12 and friends) are compiled to CommonJS by @swc/jest.
 */
const fs = require('node:fs');
const path = require('node:path');
const { swcOptions, tsPaths } = require('./tools/swc-options');

/** Packages in node_modules that ship ES modules only: Jest's CommonJS runtime needs them transformed. */
function esmPackages() {
  const nm = path.join(__dirname, 'node_modules');
  const names = [];
  for (const entry of fs.readdirSync(nm)) {
    const dirs = entry.startsWith('@') ? fs.readdirSync(path.join(nm, entry)).map((s) => `${entry}/${s}`) : [entry];
    for (const name of dirs) {
      try {
        if (JSON.parse(fs.readFileSync(path.join(nm, name, 'package.json'), 'utf8')).type === 'module') names.push(name);
      } catch {
        // not a package
      }
    }
  }
  return names;
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const moduleNameMapper = Object.fromEntries(
  Object.entries(tsPaths()).map(([alias, [target]]) => [
    `^${escapeRegExp(alias)}$`,
    path.join('<rootDir>', /** @type {string} */ (target)),
  ]),
);

const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { ...swcOptions({ sourceMaps: 'inline' }), swcrc: false }] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages().map(escapeRegExp).join('|')})/)`],
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  setupFiles: ['reflect-metadata'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools,scripts,test/unit}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,test/integration}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts.ts'],
    },
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts.ts'],
    },
    {
      ...common,
      displayName: 'cluster-e2e',
      testMatch: ['<rootDir>/test/cluster/**/*.cluster-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts.ts'],
    },
    {
      ...common,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts.ts'],
    },
  ],
};
