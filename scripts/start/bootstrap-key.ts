/**
 * The bootstrap API key of `npm start`: BOOTSTRAP_API_KEY when configured, else the one kept in
 * .data/bootstrap-api-key, else a new one saved there, so a restart keeps the key the user has copied.
 * The scheduler installs it as an `sre` key at boot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { apiKeyPrefix, generateApiKey } from '@tidegate/auth';
import { StartError, warn } from './common';

export interface BootstrapKey {
  key: string;
  /** Where it came from, for the summary. */
  source: string;
}

export function bootstrapKey(root: string): BootstrapKey {
  const configured = process.env.BOOTSTRAP_API_KEY;
  if (configured) {
    if (!apiKeyPrefix(configured)) {
      throw new StartError(
        'BOOTSTRAP_API_KEY must look like tg_<8 letters or digits>_<32 to 128 letters or digits>; unset it to get one made for you.',
      );
    }
    return { key: configured, source: 'BOOTSTRAP_API_KEY' };
  }
  const file = path.join(root, '.data', 'bootstrap-api-key');
  const relative = path.relative(root, file);
  if (fs.existsSync(file)) {
    const saved = fs.readFileSync(file, 'utf8').trim();
    if (apiKeyPrefix(saved)) return { key: saved, source: `saved in ${relative}` };
    warn(`${relative} does not hold a valid key: replacing it with a new one`);
  }
  const { key } = generateApiKey();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return { key, source: `new, saved in ${relative}` };
}
