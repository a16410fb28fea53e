// libFuzzer entry point: text;label datasets (scripts/fuzz.sh builds and runs it).
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(.labelled, data, size) }
