// libFuzzer entry point: IRM weight files (irm_config, basic_forward.* tensors) (scripts/fuzz.sh builds and runs it).
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(.irm, data, size) }
