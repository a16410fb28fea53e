// The CLI tests run the built `irm` binary through TestSupport's runner (runIRM, startIRM, assertOneLineError),
// which refuses a binary older than the sources.
@_exported import TestSupport
