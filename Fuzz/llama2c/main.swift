// libFuzzer entry point: llama2.c checkpoints (.bin) (scripts/fuzz.sh builds and runs it).
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(.llama2c, data, size) }
