// libFuzzer entry point: safetensors files (header, __metadata__, tensors, a Hugging Face model built from them) (scripts/fuzz.sh builds and runs it).
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(.safetensors, data, size) }
