/**
 * A throw-away PKI for one lab run: a CA and a server certificate signed by it, made with the
 * `openssl` command line. Clients trust the CA file, so TLS is verified for real (name and
 * chain) instead of being switched off with `insecure`.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './types.js';

export interface LabPki {
  /** PEM of the CA certificate: what clients trust (AgentTarget.tls.ca). */
  readonly caFile: string;
  readonly certificateFile: string;
  readonly privateKeyFile: string;
}

export interface PkiRequest {
  /** Folder the files go to (the run dir). */
  readonly dir: string;
  /** Server certificate common name, also put in subjectAltName. */
  readonly commonName: string;
  /** IP addresses the certificate is valid for (default 127.0.0.1). */
  readonly ips?: readonly string[];
  readonly validDays?: number;
}

const OPENSSL_TIMEOUT_MS = 20_000;

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: OPENSSL_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error) {
        reject(new LabError(`openssl ${args[0]} failed: ${stderr.trim() || error.message}`, 'tls', "install the Debian package 'openssl'"));
      } else resolve();
    });
  });
}

/** P-256 keys: as good as RSA-2048 for a test and generated in milliseconds. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createLabPki(request: PkiRequest): Promise<LabPki> {
  const { dir, commonName } = request;
  const days = String(request.validDays ?? 2);
  const ips = request.ips ?? ['127.0.0.1'];
  const altNames = [`DNS:${commonName}`, 'DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',');
  const extFile = join(dir, 'server-ext.cnf');
  writeFileSync(
    extFile,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames}\n`,
  );
  await openssl(
    ['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', days, '-subj', '/CN=imload lab CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  await openssl(['req', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${commonName}`], dir);
  await openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem',
      '-days', days, '-extfile', extFile],
    dir,
  );
  return { caFile: join(dir, 'ca.pem'), certificateFile: join(dir, 'server.pem'), privateKeyFile: join(dir, 'server.key') };
}
