// Where the tests find the package and the shared reference assets: from this file's own location, so a test
// runs the same from any working directory.
import Foundation

/// The package root (the folder holding Package.swift).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
/// `../shared` beside the package: models, datasets and golden outputs of independent programs.
public let sharedDir = packageRoot + "/../shared"
public let goldenDir = sharedDir + "/golden"
public let datasetsDir = packageRoot + "/Datasets"
/// SmolLM2-135M-Instruct (GGUF Q4_1), fetched by `make model`.
public let smolPath = packageRoot + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf"
public let llama2TokenizerModel = sharedDir + "/models/llama2-tokenizer/tokenizer.model"
public let llama2TokenizerBin = sharedDir + "/models/llama2-tokenizer/tokenizer.bin"
public let carerTrain = sharedDir + "/datasets/emotion/train.txt"
public let carerVal = sharedDir + "/datasets/emotion/val.txt"
public let squadDev = sharedDir + "/datasets/squad/dev-v2.0.json"
