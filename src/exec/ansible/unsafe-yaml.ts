// Variables for Ansible as data, never as templates. Every string Ansible reads from a var is a Jinja template
// unless it is tagged `!unsafe`: Ansible's YAML loader (used for `-e @file` and for YAML inventories) then makes it
// an AnsibleUnsafeText, which is never templated, however deep it is used. This writes a value as YAML (flow style:
// JSON with tags) where every string, keys of nested mappings included, carries that tag: `{{ lookup('pipe', ...) }}`
// in a value is just text, by construction, whatever the value holds (docs/adr/0022-data-stays-data.md).
//
// Strings are written as YAML double-quoted scalars with everything outside printable ASCII escaped (\uXXXX,
// \UXXXXXXXX), so the file is plain ASCII whatever the value holds: no character the YAML reader refuses (C1
// controls, U+FEFF, U+2028 ...) and no line break reaches it raw. Numbers keep a form YAML 1.1 reads as a number.

/** A value that has no faithful YAML form (a lone UTF-16 surrogate, a non-finite number, a function ...). */
export class UnsafeYamlError extends Error {
  override name = 'UnsafeYamlError';
}

const HEX = (code: number, width: number): string => code.toString(16).toUpperCase().padStart(width, '0');

/** A YAML double-quoted scalar, ASCII only. */
export function quotedScalar(text: string, path = 'value'): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (code >= 0x20 && code < 0x7f) out += text[i];
    else if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (!(low >= 0xdc00 && low <= 0xdfff)) throw new UnsafeYamlError(`${path} is not valid Unicode (a lone surrogate)`);
      out += `\\U${HEX(((code - 0xd800) << 10) + (low - 0xdc00) + 0x10000, 8)}`;
      i += 1;
    } else if (code >= 0xdc00 && code <= 0xdfff) throw new UnsafeYamlError(`${path} is not valid Unicode (a lone surrogate)`);
    else out += `\\u${HEX(code, 4)}`;
  }
  return `${out}"`;
}

/** A string that is never templated. */
export function unsafeScalar(text: string, path = 'value'): string {
  return `!unsafe ${quotedScalar(text, path)}`;
}

function number(value: number, path: string): string {
  if (!Number.isFinite(value)) throw new UnsafeYamlError(`${path} is not a finite number`);
  const text = String(value);
  // YAML 1.1 (PyYAML) reads 1e+21 as a string: a float needs its dot.
  return /e/.test(text) && !text.includes('.') ? text.replace('e', '.0e') : text;
}

/** Any JSON-like value as flow YAML, every string (and every mapping key) tagged `!unsafe`. */
export function unsafeYaml(value: unknown, path = 'value'): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return unsafeScalar(value, path);
  if (typeof value === 'number') return number(value, path);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map((item, i) => unsafeYaml(item, `${path}[${i}]`)).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([key, item]) => `${unsafeScalar(key, `${path} key`)}: ${unsafeYaml(item, `${path}.${key}`)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  throw new UnsafeYamlError(`${path} is a ${typeof value}, not data`);
}

/**
 * Variables by name, one a line: names as they are (the caller checks them: plain identifiers), values tagged.
 * The YAML form of `-e @file` and of an inventory's host vars.
 */
export function unsafeVarsYaml(vars: Record<string, unknown>, indent = ''): string {
  const lines = Object.entries(vars).map(([name, value]) => `${indent}${name}: ${unsafeYaml(value, name)}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : `${indent}{}\n`;
}
