// Which binary runs Terraform operations: the configured one, else `tofu` on PATH, else `terraform` on PATH.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export class TerraformBinaryNotFound extends Error {
  override name = 'TerraformBinaryNotFound';
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The first executable named `name` in the directories of `pathEnv`. */
export async function findOnPath(name: string, pathEnv = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Resolves the binary. `configured` may be a path (absolute or relative to the working directory) or a bare
 * name looked up on PATH; when given, it must exist: there is no silent fallback from a configured binary.
 */
export async function findTerraformBinary(configured?: string, pathEnv = process.env.PATH ?? ''): Promise<string> {
  if (configured) {
    const path = configured.includes('/') ? (isAbsolute(configured) ? configured : resolve(configured)) : await findOnPath(configured, pathEnv);
    if (path && (await isExecutableFile(path))) return path;
    throw new TerraformBinaryNotFound(`the configured Terraform binary ${JSON.stringify(configured)} is not an executable file`);
  }
  for (const name of ['tofu', 'terraform']) {
    const path = await findOnPath(name, pathEnv);
    if (path) return path;
  }
  throw new TerraformBinaryNotFound(
    'neither tofu nor terraform was found on PATH: install OpenTofu (or Terraform) or set the binary in the configuration',
  );
}

export interface TerraformFlavor {
  /** `OpenTofu`, `Terraform`, or `unknown` when `version` said something else. */
  name: 'OpenTofu' | 'Terraform' | 'unknown';
  /** major, minor, patch; undefined when the output named none. */
  version?: [number, number, number];
}

/** The first line of `<binary> version`: "OpenTofu v1.12.6", "Terraform v1.11.4". */
export function parseVersionOutput(text: string): TerraformFlavor {
  const match = /^(OpenTofu|Terraform) v(\d+)\.(\d+)\.(\d+)/m.exec(text);
  if (!match) return { name: 'unknown' };
  return { name: match[1] as 'OpenTofu' | 'Terraform', version: [Number(match[2]), Number(match[3]), Number(match[4])] };
}

/**
 * Whether inits running at once may share one provider plugin cache. OpenTofu locks the cache's entries from 1.10
 * (1.10.5 fixed spurious lock contention errors); Terraform documents its cache as not concurrency safe, and so
 * does anything we cannot identify: their inits are run one at a time.
 */
export function pluginCacheIsConcurrencySafe(flavor: TerraformFlavor): boolean {
  if (flavor.name !== 'OpenTofu' || !flavor.version) return false;
  const [major, minor, patch] = flavor.version;
  return major > 1 || (major === 1 && (minor > 10 || (minor === 10 && patch >= 5)));
}
