/**
 * Every variant of the generated Kamailio configuration passes `kamailio -c` (syntax and module
 * check); and a federated pool with Digest (plan --lab's pools, `peers`) authenticates its own
 * clients before relaying anything to a peer, trusting only the peer's own socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderKamailioConfig, type KamailioConfigInput } from '../../src/protocols/sip/lab-config.js';
import { createLabPki } from '../../src/lab/tls.js';
import { startKamailioLab } from '../../src/protocols/sip/lab.js';
import { freeUdpAndTcpPort } from '../../src/protocols/sip/lab.js';
import { digestCredentials, parseDigestChallenge, type DigestChallenge } from '../../src/protocols/sip/digest.js';
import { requireBinary } from '../helpers/require.js';

/** One peer pool holding users of residues 1 and 2 of 3. */
const PEERS = { modulus: 3, prefixLength: 1, others: [{ address: '10.9.0.2:5060', residues: [1, 2] }] };

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
      federated: { ...BASE, peers: PEERS },
      'federated-digest': { ...BASE, passwordEnv: 'IMLOAD_SIP_PASSWORD', peers: PEERS },
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
    // Federated: residues 1 and 2 of 3 go to the peer; only the peer's own socket skips Digest.
    const federated = renderKamailioConfig(variants['federated-digest']!);
    assert.match(federated, /\$var\(residue\) = \$var\(index\) mod 3;/);
    assert.match(federated, /if \(\$var\(residue\) == 1 \|\| \$var\(residue\) == 2\) \{ \$du = "sip:10\.9\.0\.2:5060"; route\(TO_PEER\); \}/);
    assert.match(federated, /if \(!\(\(\$si == "10\.9\.0\.2" && \$sp == 5060\)\)\) route\(AUTH\);\n\tif \(!is_method\("REGISTER\|PUBLISH"\)\) route\(PEER\);/);
    assert.doesNotMatch(renderKamailioConfig(BASE), /route\[PEER\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a federated pool with Digest challenges its own client before relaying to a peer, and relays the peer\'s requests unchallenged', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, 'kamailio', 'kamailio')) return;
  // Two pools on loopback: A holds residue 0 of 2 (u000001, u000003, …), B residue 1 (u000002, …).
  const portA = await freeUdpAndTcpPort('127.0.0.1');
  // Neither is bound yet: the second free port may be the first again.
  let portB = await freeUdpAndTcpPort('127.0.0.1');
  while (portB === portA) portB = await freeUdpAndTcpPort('127.0.0.1');
  const urlA = `sip://127.0.0.1:${portA}`;
  const urlB = `sip://127.0.0.1:${portB}`;
  const homes = [{ url: urlA, residues: [0] }, { url: urlB, residues: [1] }];
  const common = { users: 4, domain: 'lab.test', password: 'pw', host: '127.0.0.1' };
  const a = await startKamailioLab({ ...common, port: portA, deployment: { role: 'home', homes, modulus: 2, self: urlA } });
  t.after(() => a.stop());
  const b = await startKamailioLab({ ...common, port: portB, deployment: { role: 'home', homes, modulus: 2, self: urlB } });
  t.after(() => b.stop());
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const message = (to: string, branch: string, credentials?: string) =>
    [`MESSAGE sip:${to}@lab.test SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK${branch}`, 'Max-Forwards: 70', `From: <sip:u000001@lab.test>;tag=${branch}`, `To: <sip:${to}@lab.test>`, `Call-ID: ${branch}@test`, `CSeq: ${credentials ? 2 : 1} MESSAGE`, ...(credentials ? [`Proxy-Authorization: ${credentials}`] : []), 'Content-Type: text/plain', 'Content-Length: 2', '', 'hi'].join('\r\n');
  /** The final answer (provisional ones skipped) to a MESSAGE sent to `port`. */
  const answer = async (port: number, to: string, branch: string, credentials?: string): Promise<string> => {
    const deadline = setTimeout(() => socket.emit('error', new Error(`no final answer from port ${port}`)), 5000);
    socket.send(message(to, branch, credentials), port, '127.0.0.1');
    try {
      for (;;) {
        const [data] = (await once(socket, 'message')) as [Buffer];
        const text = data.toString('latin1');
        if (!/^SIP\/2\.0 1\d\d /.test(text)) return text;
      }
    } finally {
      clearTimeout(deadline);
    }
  };
  const status = (text: string) => text.split('\r\n')[0]!;
  // A client of A, without credentials, to a user B holds: A challenges it (nothing reaches B).
  const challenged = await answer(portA, 'u000002', 'fed1');
  assert.equal(status(challenged), 'SIP/2.0 407 Proxy Authentication Required');
  // A client on another port of the same host is not the peer either, even writing to B directly.
  assert.equal(status(await answer(portB, 'u000002', 'fed2')), 'SIP/2.0 407 Proxy Authentication Required');
  // Authenticated by A, the MESSAGE goes on to B, which takes its own peer's relay without a
  // challenge: B's answer is its own (u000002 is not registered: 404), not a 407.
  const header = /^Proxy-Authenticate: (.*)$/im.exec(challenged)![1]!;
  const challenge = parseDigestChallenge(header) as DigestChallenge;
  const credentials = digestCredentials(challenge, { username: 'u000001', password: 'pw', method: 'MESSAGE', uri: 'sip:u000002@lab.test', nc: 1, cnonce: 'c0ffee' });
  assert.equal(status(await answer(portA, 'u000002', 'fed1', credentials)), 'SIP/2.0 404 Not Found');
});
