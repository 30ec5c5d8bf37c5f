// ANSI colours of Ansible's and Terraform's logs as styled pieces of text: SGR codes (ESC [ … m) set bold and the
// 16 colours (plus 256-colour foregrounds); every other escape sequence is dropped.
export interface Piece {
  text: string;
  className?: string;
}

// Escape sequences are what this module reads: control characters in these patterns are on purpose.
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[([0-9;]*)m/g;
// eslint-disable-next-line no-control-regex
const OTHER_ESCAPES = /\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\r/g;

interface Style {
  fg: number | undefined;
  bold: boolean;
}

/** Applies one SGR sequence's codes to the style. */
function applyCodes(style: Style, codes: number[]): void {
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] as number;
    if (code === 0) [style.fg, style.bold] = [undefined, false];
    else if (code === 1) style.bold = true;
    else if (code === 22) style.bold = false;
    else if (code >= 30 && code <= 37) style.fg = code - 30;
    else if (code >= 90 && code <= 97) style.fg = code - 90 + 8;
    else if (code === 39) style.fg = undefined;
    else if (code === 38 && codes[i + 1] === 5) {
      const n = codes[i + 2] ?? 7;
      style.fg = n < 16 ? n : 7;
      i += 2;
    }
  }
}

export function ansiPieces(line: string): Piece[] {
  const clean = line.replace(OTHER_ESCAPES, '');
  const pieces: Piece[] = [];
  const style: Style = { fg: undefined, bold: false };
  let last = 0;
  const push = (text: string): void => {
    if (!text) return;
    const classes = [style.fg !== undefined ? `fg${style.fg}` : '', style.bold ? 'bold' : ''].filter(Boolean).join(' ');
    pieces.push(classes ? { text, className: classes } : { text });
  };
  for (const m of clean.matchAll(SGR)) {
    push(clean.slice(last, m.index));
    last = (m.index ?? 0) + m[0].length;
    applyCodes(style, (m[1] || '0').split(';').map(Number));
  }
  push(clean.slice(last));
  return pieces;
}
