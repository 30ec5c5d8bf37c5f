// The closing line of the test command: it agrees with the exit code, and a file that fails outside a test counts.
import { describe, expect, it } from 'vitest';
import { closingLine, summarize, type VitestReport } from '../harness/summary.js';

const passingFile = { name: '/repo/test/unit/a.test.ts', status: 'passed', assertionResults: [{ status: 'passed' }, { status: 'passed' }] };

describe('summarize', () => {
  it('counts passed and failed tests of a clean run and exits 0 only when nothing failed', () => {
    const report: VitestReport = { numPassedTests: 2, numFailedTests: 0, success: true, testResults: [passingFile] };
    const summary = summarize(report, 0);
    expect(closingLine(summary)).toBe('2 passed, 0 failed');
    expect(summary.exitCode).toBe(0);
    expect(summary.notes).toEqual([]);
  });

  it('counts a file that failed in its setup as a failure, with its reason', () => {
    const report: VitestReport = {
      numPassedTests: 403,
      numFailedTests: 0,
      numPendingTests: 13,
      success: false,
      testResults: [
        passingFile,
        {
          name: '/repo/test/integration/terraform-runner.test.ts',
          status: 'failed',
          message: '\ninstall.sh core failed (exit 1)\n    at runInstaller',
          assertionResults: [{ status: 'skipped' }, { status: 'skipped' }],
        },
        { name: 'test/integration/desktop.test.ts', status: 'failed', message: 'Error: boom', assertionResults: [] },
      ],
    };
    const summary = summarize(report, 1);
    expect(closingLine(summary)).toBe('403 passed, 2 failed');
    expect(summary.exitCode).toBe(1);
    expect(summary.notes).toContain('test/integration/desktop.test.ts failed outside a test: Error: boom');
    expect(summary.notes.some((n) => n.includes('terraform-runner.test.ts failed outside a test: install.sh core failed'))).toBe(true);
    expect(summary.notes).toContain('13 test(s) skipped or todo');
  });

  it('does not count a file twice when its failure is a failed test', () => {
    const report: VitestReport = {
      numPassedTests: 1,
      numFailedTests: 1,
      success: false,
      testResults: [{ name: 'x.test.ts', status: 'failed', assertionResults: [{ status: 'passed' }, { status: 'failed' }] }],
    };
    expect(closingLine(summarize(report, 1))).toBe('1 passed, 1 failed');
  });

  it('never says 0 failed when vitest failed the run (unhandled errors)', () => {
    const report: VitestReport = { numPassedTests: 5, numFailedTests: 0, success: false, testResults: [passingFile] };
    const summary = summarize(report, 1);
    expect(closingLine(summary)).toBe('5 passed, 1 failed');
    expect(summary.exitCode).toBe(1);
  });

  it('counts a run without a report (vitest crashed) as failed', () => {
    const summary = summarize(undefined, 134);
    expect(closingLine(summary)).toBe('0 passed, 1 failed');
    expect(summary.exitCode).toBe(1);
    expect(summary.notes[0]).toContain('exit code 134');
  });

  it('fails a run whose counts are clean but whose exit code is not', () => {
    const report: VitestReport = { numPassedTests: 3, numFailedTests: 0, success: true, testResults: [passingFile] };
    expect(summarize(report, 1).exitCode).toBe(1);
  });
});
