// Rewrites the seed corpus Fuzz/corpus/<target>/ (scripts/fuzz.sh --seeds).
import FuzzTargets

@main struct WriteSeeds {
    static func main() throws { try writeFuzzSeeds(to: "Fuzz/corpus") }
}
