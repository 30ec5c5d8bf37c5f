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
