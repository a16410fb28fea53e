// libFuzzer entry point: llama2.c tokenizer.bin (scripts/fuzz.sh builds and runs it).
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(.tokenizerBin, data, size) }
