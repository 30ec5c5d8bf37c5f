// Terraform's own error message out of a run's output. Diagnostics are printed in boxes, even with -no-color:
//   ╷
//   │ Error: Unsupported argument
//   │   on main.tf.json line 5 ...
//   │ An argument named "x" is not expected here.
//   ╵
// The `Error: ...` boxes are kept (trimmed, box drawing removed); warnings are dropped.

const MAX_ERROR_CHARS = 4000;

function boxes(text: string): string[][] {
  const found: string[][] = [];
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('╷')) current = [];
    else if (line.startsWith('╵')) {
      if (current) found.push(current);
      current = undefined;
    } else if (current) current.push(line.replace(/^│ ?/, ''));
  }
  return found;
}

function tidy(lines: string[]): string {
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

/** The `Error: ...` blocks of Terraform output, joined; undefined when there is none. */
export function extractTerraformError(...outputs: string[]): string | undefined {
  const text = outputs.filter(Boolean).join('\n');
  const errors = boxes(text)
    .map(tidy)
    .filter((block) => block.startsWith('Error:'));
  let message = errors.join('\n\n');
  if (!message) {
    // Older or unboxed output: everything from the first "Error:" line.
    const at = text.search(/^Error: /m);
    if (at >= 0) message = text.slice(at).trim();
  }
  if (!message) return undefined;
  return message.length > MAX_ERROR_CHARS ? message.slice(0, MAX_ERROR_CHARS) + ' …' : message;
}

/** A short last resort when Terraform printed no `Error:` block: the last non-empty lines of its output. */
export function tailOf(text: string, lines = 10): string {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .slice(-lines)
    .join('\n')
    .trim();
}
