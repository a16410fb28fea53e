// irm tokenize [--model M] TEXT — the token ids of TEXT, space-separated on one line.
import Llama

struct TokenizeCommand: Command {
    static let name = "tokenize", summary = "print the token ids of a text"
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { ("TEXT", \.text) }

    var model = ModelOptions()
    var text = ""
    var chat = false, system: String?, noSpecial = false, pieces = false

    static var options: [Opt<Self>] {
        including(\.model, ModelOptions.files) + [
            .flag("chat", \.chat, "wrap the text in the model's chat template as a user turn"),
            .string("system", "TEXT", \.system, "system prompt for --chat"),
            .flag("no-special", \.noSpecial, "treat special-token text like <|im_start|> as plain text"),
            .flag("pieces", \.pieces, "print the vocabulary piece of each id as well")
        ]
    }

    func run() throws {
        let (tok, template) = try LoadedModel.loadTokenizerOnly(path: try model.path(), tokenizerPath: model.tokenizer)
        let ids =
            chat
            ? encodePrompt(text, tokenizer: tok, template: template, chat: true, system: system)
            : tok.encode(text, addSpecial: true, parseSpecial: !noSpecial)
        print(ids.map(String.init).joined(separator: " "))
        if pieces { print(ids.map { tok.tokenString($0) }.joined(separator: " ")) }
    }
}
