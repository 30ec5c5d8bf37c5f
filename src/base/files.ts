// Reading files whose absence is an answer, not an error.
import { readFile } from 'node:fs/promises';

/** The file's content, or undefined when there is no such file. */
export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
