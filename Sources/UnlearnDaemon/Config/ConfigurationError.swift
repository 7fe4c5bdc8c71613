/// A configuration `unlearnd` cannot start with: what was wrong, which key, file, variable or argument, and what to
/// do about it, in one line. Secret values never appear in it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is; extensible, compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A command-line argument the daemon does not understand, or `--set` without `KEY=VALUE`.
        public static let invalidArgument = Code("invalid_argument")
        /// The configuration file named by `--config` or `UNLEARND_CONFIG` does not exist.
        public static let fileNotFound = Code("file_not_found")
        /// The configuration file or a credential file exists but cannot be read.
        public static let unreadableFile = Code("unreadable_file")
        /// The configuration file is not a JSON object.
        public static let malformedFile = Code("malformed_file")
        /// A key in the file or in `--set` that the daemon does not know.
        public static let unknownKey = Code("unknown_key")
        /// An `UNLEARND_*` environment variable the daemon does not know.
        public static let unknownEnvironmentVariable = Code("unknown_environment_variable")
        /// The same key given twice in one source.
        public static let duplicateKey = Code("duplicate_key")
        /// A value of the wrong type or outside its allowed range or set.
        public static let invalidValue = Code("invalid_value")
        /// Two values that are valid alone but not together.
        public static let conflictingValues = Code("conflicting_values")

        public var description: String { name }
    }

    /// What kind of problem it is.
    public let code: Code
    /// The key, environment variable, argument or file the problem is about.
    public let subject: String
    /// One line: what was wrong and what to do about it.
    public let reason: String
    /// Where the error was raised, for bug reports.
    public let fileID: String
    public let line: UInt

    init(_ code: Code, subject: String, _ reason: String, fileID: String = #fileID, line: UInt = #line) {
        self.code = code
        self.subject = subject
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    public var description: String { reason }
}
