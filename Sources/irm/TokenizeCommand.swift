// irm tokenize [--model M] TEXT — the token ids of TEXT, space-separated on one line.
import Llama

enum TokenizeCommand {
    static let spec = CommandSpec(
        name: "tokenize", summary: "print the token ids of a text",
        usage: "[--model M] [--chat] TEXT",
        options: modelOptions.filter { $0.name == "model" || $0.name == "tokenizer" } + [
            Option(name: "chat", value: nil, help: "wrap the text in the model's chat template as a user turn"),
            Option(name: "system", value: "TEXT", help: "system prompt for --chat"),
            Option(name: "no-special", value: nil, help: "treat special-token text like <|im_start|> as plain text"),
            Option(name: "pieces", value: nil, help: "print the vocabulary piece of each id as well"),
        ],
        positional: "TEXT")

    static func run(_ args: Arguments) throws {
        guard args.positionals.count == 1 else { throw CLIError("irm tokenize: give exactly one TEXT argument (quote it)") }
        let text = args.positionals[0]
        let path = args.string("model") ?? defaultModelPath
        let (tok, template) = try LoadedModel.loadTokenizerOnly(path: path, tokenizerPath: args.string("tokenizer"))
        let ids: [Int32]
        if args.flag("chat") {
            ids = encodePrompt(text, tokenizer: tok, template: template, chat: true, system: args.string("system"))
        } else {
            ids = tok.encode(text, addSpecial: true, parseSpecial: !args.flag("no-special"))
        }
        print(ids.map(String.init).joined(separator: " "))
        if args.flag("pieces") { print(ids.map { tok.tokenString($0) }.joined(separator: " ")) }
    }
}
