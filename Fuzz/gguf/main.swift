// libFuzzer entry point: GGUF files (header, metadata, tensor infos, the model and tokenizer built from them) (scripts/fuzz.sh builds and runs it).
import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { fuzzEntry(.gguf, data, size) }
