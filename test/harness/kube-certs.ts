// The PKI of a test API server, made with the openssl CLI (argument arrays, no shell): a CA, a serving
// certificate for 127.0.0.1/localhost, a client certificate for an admin in group system:masters, and the
// service-account key pair that signs and verifies tokens. EC P-256 keys: fast to generate, accepted everywhere.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface KubeCerts {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const DAYS = '30';

async function openssl(args: string[]): Promise<void> {
  await execa('openssl', args, { stdin: 'ignore' });
}

async function newKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** An openssl config with only the extensions we name (the system default would add CA:true to every x509). */
function extensionConfig(extensions: Record<string, string>): string {
  const lines = Object.entries(extensions).map(([key, value]) => `${key} = ${value}`);
  return ['[req]', 'distinguished_name = dn', 'x509_extensions = ext', '[dn]', '[ext]', ...lines, ''].join('\n');
}

interface LeafRequest {
  name: string;
  subject: string;
  extensions: Record<string, string>;
}

async function signLeaf(certs: KubeCerts, leaf: LeafRequest): Promise<{ cert: string; key: string }> {
  const key = join(certs.dir, `${leaf.name}.key`);
  const cert = join(certs.dir, `${leaf.name}.crt`);
  const config = join(certs.dir, `${leaf.name}.cnf`);
  await newKey(key);
  await writeFile(config, extensionConfig(leaf.extensions));
  await openssl([
    'req', '-x509', '-new', '-config', config, '-key', key, '-subj', leaf.subject, '-days', DAYS,
    '-CA', certs.caCert, '-CAkey', certs.caKey, '-out', cert,
  ]);
  return { cert, key };
}

/** Writes a fresh PKI into `dir` (which must exist and be private). */
export async function generateKubeCerts(dir: string): Promise<KubeCerts> {
  const certs: KubeCerts = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: '',
    servingKey: '',
    adminCert: '',
    adminKey: '',
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
  const caConfig = join(dir, 'ca.cnf');
  await newKey(certs.caKey);
  await writeFile(caConfig, extensionConfig({
    basicConstraints: 'critical,CA:TRUE',
    keyUsage: 'critical,keyCertSign,cRLSign,digitalSignature',
    subjectKeyIdentifier: 'hash',
  }));
  await openssl(['req', '-x509', '-new', '-config', caConfig, '-key', certs.caKey, '-subj', '/CN=orion-test-ca', '-days', DAYS, '-out', certs.caCert]);

  const leafExtensions = { basicConstraints: 'critical,CA:FALSE', keyUsage: 'critical,digitalSignature,keyEncipherment', authorityKeyIdentifier: 'keyid' };
  const serving = await signLeaf(certs, {
    name: 'apiserver',
    subject: '/CN=kube-apiserver',
    extensions: {
      ...leafExtensions,
      extendedKeyUsage: 'serverAuth',
      subjectAltName: 'IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1',
    },
  });
  const admin = await signLeaf(certs, {
    name: 'admin',
    subject: '/O=system:masters/CN=orion-test-admin',
    extensions: { ...leafExtensions, extendedKeyUsage: 'clientAuth' },
  });
  Object.assign(certs, { servingCert: serving.cert, servingKey: serving.key, adminCert: admin.cert, adminKey: admin.key });

  await newKey(certs.serviceAccountKey);
  await openssl(['pkey', '-in', certs.serviceAccountKey, '-pubout', '-out', certs.serviceAccountPub]);
  return certs;
}
