// The closing line of the test command, "N passed, N failed", and the exit code that goes with it.
//
// Vitest's JSON report counts tests only: a test file that fails outside a test (an import, a beforeAll, the
// collection) adds nothing to numFailedTests, and unhandled errors fail the run without failing a test. Each of
// those counts here as one failure, so the line can never say "0 failed" while the run fails, and the exit code
// is derived from the line: 0 exactly when it says 0 failed.
//
//   tsx test/harness/summary.ts REPORT.json VITEST_EXIT_CODE   prints the details and the line; exits 0 or 1
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface AssertionResult {
  status: string;
  fullName?: string;
}

interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults?: AssertionResult[];
}

export interface VitestReport {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  success?: boolean;
  testResults?: FileResult[];
}

export interface Summary {
  passed: number;
  failed: number;
  /** Why each failure that is not a failed test counts: files that failed outside a test, a crashed run. */
  notes: string[];
  exitCode: 0 | 1;
}

/** Counts a run from vitest's JSON report (undefined when none was written) and vitest's own exit code. */
export function summarize(report: VitestReport | undefined, vitestExitCode: number): Summary {
  if (!report) {
    return { passed: 0, failed: 1, notes: [`vitest wrote no report (exit code ${vitestExitCode})`], exitCode: 1 };
  }
  const outside = filesFailedOutsideTests(report.testResults ?? []);
  const notes = outside.map((file) => `${displayName(file.name)} failed outside a test: ${firstLine(file.message) || 'no message'}`);
  let failed = (report.numFailedTests ?? 0) + outside.length;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (skipped > 0) notes.push(`${skipped} test(s) skipped or todo`);
  if (failed === 0 && (vitestExitCode !== 0 || report.success === false)) {
    failed = 1;
    notes.push(`vitest failed the run (exit code ${vitestExitCode}) without a failed test: unhandled errors or a crash`);
  }
  return { passed: report.numPassedTests ?? 0, failed, notes, exitCode: failed > 0 ? 1 : 0 };
}

/** Files that failed with no failed test in them: their import, a hook or the collection failed. */
function filesFailedOutsideTests(files: FileResult[]): FileResult[] {
  return files.filter((file) => file.status === 'failed' && !(file.assertionResults ?? []).some((a) => a.status === 'failed'));
}

export function closingLine(summary: Summary): string {
  return `${summary.passed} passed, ${summary.failed} failed`;
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n').find((line) => line.trim() !== '')?.trim().slice(0, 300) ?? '';
}

function displayName(path: string): string {
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

function readReport(path: string): VitestReport | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as VitestReport;
  } catch {
    return undefined;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [reportPath = '', exitCode = '1'] = process.argv.slice(2);
  const summary = summarize(readReport(reportPath), Number(exitCode));
  for (const note of summary.notes) console.log(`note: ${note}`);
  console.log(closingLine(summary));
  process.exit(summary.exitCode);
}
