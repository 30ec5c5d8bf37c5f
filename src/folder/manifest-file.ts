// Reads one YAML file of manifests (multi-document) into validated objects and Secrets, or into
// errors that name the file, the line, the field and the reason.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { LineCounter, isNode, parseAllDocuments, type Document } from 'yaml';
import { validateManifest, validateSecret, type FieldError, type Manifest, type SecretManifest } from '../api/validate.js';

export interface ManifestError {
  file: string;
  /** 0 when the error is not about a line (the file cannot be read). */
  line: number;
  field: string;
  message: string;
}

export interface ParsedFile {
  objects: Manifest[];
  secrets: SecretManifest[];
  errors: ManifestError[];
}

/** What reading a manifest file found: its text, that it is gone, or why it cannot be read (damage, never a deletion). */
export type ManifestRead = { text: string } | { gone: true } | { unreadable: string };

/**
 * Reads a manifest file. Only ENOENT means gone. The file is opened without blocking and checked on the open handle,
 * so a FIFO (which would block a plain read) or a file swapped for one after a stat is refused, not waited on.
 */
export async function readManifestFile(path: string): Promise<ManifestRead> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return readFailure(err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { unreadable: `not a regular file (${fileType(info)})` };
    return { text: await handle.readFile('utf8') };
  } catch (err) {
    return readFailure(err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function readFailure(err: unknown): ManifestRead {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return { gone: true };
  return { unreadable: `cannot read: ${e.code ?? 'error'}: ${describeErrno(e)}` };
}

/** The system's words for the error without the path Node appends (the file is named by the report already). */
function describeErrno(err: NodeJS.ErrnoException): string {
  const text = err.message.replace(/^[A-Z0-9_]+: /, '');
  return text.replace(/, (open|read|fstat|close)( '.*')?$/, '');
}

function fileType(info: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isDirectory()) return 'a directory';
  return 'not a file';
}

export function parseManifestText(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const result: ParsedFile = { objects: [], secrets: [], errors: [] };
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    parseDocument(file, doc as Document, lineCounter, result);
  }
  return result;
}

function parseDocument(file: string, doc: Document, lines: LineCounter, out: ParsedFile): boolean {
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const line = err.linePos?.[0]?.line ?? lines.linePos(err.pos[0]).line;
      out.errors.push({ file, line, field: '', message: `invalid YAML: ${firstLine(err.message)}` });
    }
    return false;
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return false; // an empty document between `---`
  const startLine = doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : 1;
  const locate = (error: FieldError): ManifestError => ({
    file,
    line: lineOf(doc, error.path, lines) ?? startLine,
    field: error.field,
    message: error.message,
  });
  if (isSecret(value)) {
    const secret = validateSecret(value);
    if (secret.ok) out.secrets.push(secret.value);
    else out.errors.push(...secret.errors.map(locate));
    return secret.ok;
  }
  const manifest = validateManifest(value);
  if (manifest.ok) out.objects.push(manifest.value);
  else out.errors.push(...manifest.errors.map(locate));
  return manifest.ok;
}

function isSecret(value: unknown): boolean {
  const v = value as { apiVersion?: unknown; kind?: unknown } | null;
  return typeof v === 'object' && v !== null && v.apiVersion === 'v1' && v.kind === 'Secret';
}

/** The line of the deepest node on the path that exists in the document. */
function lineOf(doc: Document, path: (string | number)[], lines: LineCounter): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

export function formatManifestError(err: ManifestError): string {
  const where = err.field ? ` ${err.field}:` : '';
  const line = err.line > 0 ? `:${err.line}` : '';
  return `${err.file}${line}:${where} ${err.message}`;
}

