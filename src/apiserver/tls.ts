// The apiserver's serving certificate: a private CA and a server certificate for the listen hosts, made with the openssl CLI.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCertificate {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate. */
  cert: string;
  /** PEM certificate of the CA that signed it: what a kubeconfig's certificate-authority-data carries. */
  caCert: string;
}

export const DEFAULT_SERVING_HOSTS = ['127.0.0.1', 'localhost', '::1'];

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error(
        'the openssl command is needed to make the apiserver certificate (Debian: apt-get install openssl)',
        { cause: e },
      );
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.trim() ?? err.message}`, {
      cause: e,
    });
  }
}

const exists = async (path: string): Promise<boolean> =>
  readFile(path).then(
    () => true,
    () => false,
  );

/** Whether the certificate names every host (SAN) and is valid for at least another day. */
function covers(certPem: string, hosts: string[]): boolean {
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validTo).getTime() < Date.now() + 86_400_000) return false;
  return hosts.every((h) =>
    isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined,
  );
}

/**
 * Makes (once) `<dir>/ca.crt`+`ca.key` and `<dir>/server.crt`+`server.key` for `hosts`, keys mode 0600; reuses them while
 * they still cover the hosts. kubectl sends a bearer token only over TLS, so even a loopback server needs one.
 */
export async function ensureServingCertificate(
  dir: string,
  hosts: string[] = DEFAULT_SERVING_HOSTS,
): Promise<ServingCertificate> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (f: string): string => join(dir, f);
  if (!(await exists(path('ca.crt'))) || !(await exists(path('ca.key')))) {
    await openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '3650',
        '-subj',
        '/CN=harrow-ca',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    await chmod(path('ca.key'), 0o600);
  }
  const current =
    (await exists(path('server.crt'))) && (await exists(path('server.key')))
      ? await readFile(path('server.crt'), 'utf8')
      : undefined;
  if (current === undefined || !covers(current, hosts)) {
    const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    await writeFile(
      path('server.ext'),
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    try {
      await openssl(
        [
          'req',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          'server.key',
          '-out',
          'server.csr',
          '-subj',
          '/CN=harrow-apiserver',
        ],
        dir,
      );
      await chmod(path('server.key'), 0o600);
      await openssl(
        [
          'x509',
          '-req',
          '-in',
          'server.csr',
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          'server.crt',
          '-days',
          '825',
          '-extfile',
          'server.ext',
        ],
        dir,
      );
    } finally {
      await rm(path('server.ext'), { force: true });
      await rm(path('server.csr'), { force: true });
    }
  }
  return {
    key: await readFile(path('server.key'), 'utf8'),
    cert: await readFile(path('server.crt'), 'utf8'),
    caCert: await readFile(path('ca.crt'), 'utf8'),
  };
}
