/** Every variant of the generated Kamailio configuration passes `kamailio -c` (syntax and module check). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderKamailioConfig, type KamailioConfigInput } from '../../src/protocols/sip/lab-config.js';
import { createLabPki } from '../../src/lab/tls.js';
import { requireBinary } from '../helpers/require.js';

const BASE: KamailioConfigInput = {
  host: '127.0.0.1',
  udpPort: 5999,
  tcpPort: 5999,
  domain: 'lab.test',
  ctl: 'unixs:/tmp/imload-config-check-ctl',
  authSecret: 'secret',
  children: 1,
  tcpChildren: 1,
  tcpMaxConnections: 64,
  minExpires: 10,
  maxExpires: 3600,
  tablePower: 12,
  subscriptionTablePower: 12,
};

test('generated Kamailio configurations pass kamailio -c (plain, Digest, TLS)', async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  const dir = mkdtempSync(join(tmpdir(), 'imload-kamcfg-'));
  try {
    const pki = await createLabPki({ dir, commonName: 'lab.test' });
    const variants: Record<string, KamailioConfigInput> = {
      plain: BASE,
      digest: { ...BASE, passwordEnv: 'IMLOAD_SIP_PASSWORD' },
      pool: { ...BASE, tablePower: 15, subscriptionTablePower: 16 },
      tls: { ...BASE, passwordEnv: 'IMLOAD_SIP_PASSWORD', tls: { port: 5998, certificateFile: pki.certificateFile, privateKeyFile: pki.privateKeyFile } },
    };
    for (const [name, input] of Object.entries(variants)) {
      const file = join(dir, `${name}.cfg`);
      writeFileSync(file, renderKamailioConfig(input));
      // -c only parses and loads modules; it binds nothing.
      assert.doesNotThrow(
        () => execFileSync('kamailio', ['-c', '-f', file], { stdio: 'pipe', timeout: 20_000 }),
        `kamailio -c rejected the ${name} configuration`,
      );
    }
    assert.doesNotMatch(renderKamailioConfig(variants.digest!), /winfo", 0/);
    assert.match(renderKamailioConfig(variants.digest!), /\$env\(IMLOAD_SIP_PASSWORD\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
