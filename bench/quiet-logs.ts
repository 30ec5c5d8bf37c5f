// Imported first by benchmarks that run controllers in-process: Orion's logger (created when its module is first
// evaluated) then writes only warnings and errors, so that stdout carries the figures. ORION_LOG_LEVEL wins.
process.env.ORION_LOG_LEVEL ??= 'warn';
export {};
