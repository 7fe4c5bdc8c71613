import Foundation
import Testing

@testable import UnlearnDaemon

@Suite("Configuration secrets")
struct ConfigurationSecretsTests {
    static let password = "hunter2-s3cr3t-PASSWORD"
    static let username = "svc-unlearnd-user"

    /// A credentials directory as systemd's LoadCredential= leaves it: one file per credential.
    func credentials(_ scratch: ScratchDirectory) throws -> String {
        try scratch.write("credentials/kafka.sasl.password", Self.password + "\n")
        try scratch.write("credentials/kafka.sasl.username", Self.username)
        try scratch.write("credentials/tls-unrelated.pem", "not ours")
        return scratch.url.appendingPathComponent("credentials").path
    }

    @Test("$CREDENTIALS_DIRECTORY/kafka.<property> supplies librdkafka properties; values stay out of the summary")
    func credentialFiles() throws {
        let scratch = try ScratchDirectory()
        let directory = try credentials(scratch)
        let file = try scratch.config(#"{"models": ["a=/a"], "kafka": {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}}"#)
        let configuration = try ConfigTest.load(["--config", file], environment: ["CREDENTIALS_DIRECTORY": directory])

        #expect(configuration.kafka["sasl.password"] == Self.password)  // trailing newline removed
        #expect(configuration.kafka["sasl.username"] == Self.username)
        #expect(configuration.kafka["security.protocol"] == "SASL_SSL")
        #expect(configuration.kafka["tls-unrelated.pem"] == nil)

        let summary = configuration.redactedSummary()
        #expect(summary["kafka.sasl.password"] == "<redacted>")
        #expect(summary["kafka.sasl.username"] == "<redacted>")  // from a credential file, so treated as secret
        #expect(summary["kafka.security.protocol"] == "SASL_SSL")
        let rendered = summary.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        #expect(!rendered.contains(Self.password) && !rendered.contains(Self.username))
    }

    @Test("credentials rank below the environment and --set and above the file")
    func credentialPrecedence() throws {
        let scratch = try ScratchDirectory()
        let directory = try credentials(scratch)
        let file = try scratch.config(#"{"models": ["a=/a"], "kafka": {"sasl.password": "from-file", "sasl.username": "from-file"}}"#)
        var environment = ["CREDENTIALS_DIRECTORY": directory]
        let fromCredentials = try ConfigTest.load(["--config", file], environment: environment)
        #expect(fromCredentials.kafka["sasl.password"] == Self.password)

        environment["UNLEARND_KAFKA_SASL_PASSWORD"] = "from-env"
        let fromEnvironment = try ConfigTest.load(["--config", file], environment: environment)
        #expect(fromEnvironment.kafka["sasl.password"] == "from-env")
        #expect(fromEnvironment.redactedSummary()["kafka.sasl.password"] == "<redacted>")

        let fromArguments = try ConfigTest.load(["--config", file, "--set", "kafka.sasl.password=from-set"], environment: environment)
        #expect(fromArguments.kafka["sasl.password"] == "from-set")
    }

    @Test("secret values never appear in error messages")
    func secretsNotInErrors() throws {
        let scratch = try ScratchDirectory()
        let directory = try credentials(scratch)
        let secret = Self.password
        var messages: [String] = []

        // An unrelated invalid value while secrets are loaded from every source.
        let file = try scratch.config("{\"models\": [\"a=/a\"], \"kafka\": {\"ssl.key.password\": \"\(secret)\"}, \"batch\": {\"max_rows\": 0}}")
        messages.append(
            ConfigTest.error(
                ["--config", file, "--set", "kafka.sasl.oauthbearer.client.secret=\(secret)"],
                environment: ["CREDENTIALS_DIRECTORY": directory, "UNLEARND_KAFKA_SSL_KEYSTORE_PASSWORD": secret]
            )?.description ?? "")

        // A syntax error right after a secret in the file.
        let broken = try scratch.config("{\"kafka\": {\"sasl.password\": \"\(secret)\"}, \"batch\": {\"max_rows\": \(secret)}}", name: "broken.json")
        messages.append(ConfigTest.error(["--config", broken])?.description ?? "")

        // A secret typed as a separate argument after --set KEY.
        messages.append(ConfigTest.error(["--set", "kafka.sasl.password", secret], environment: ConfigTest.modelEnvironment)?.description ?? "")
        messages.append(
            ConfigTest.error(["--set", "kafka.sasl.password=\(secret)", secret], environment: ConfigTest.modelEnvironment)?.description ?? "")

        // A secret given where a list of strings is expected.
        let list = try scratch.config("{\"models\": [\"a=/a\"], \"kafka\": {\"sasl.password\": [\"\(secret)\"]}}", name: "list.json")
        messages.append(ConfigTest.error(["--config", list])?.description ?? "")

        for message in messages {
            #expect(!message.isEmpty)
            #expect(!message.contains(secret), "\(message)")
            #expect(!message.contains("hunter2"), "\(message)")
        }
    }

    @Test("a CREDENTIALS_DIRECTORY that cannot be listed is an error naming it")
    func missingCredentialsDirectory() throws {
        let error = try #require(
            ConfigTest.error(
                environment: ConfigTest.modelEnvironment.merging(["CREDENTIALS_DIRECTORY": "/nonexistent/creds"]) { a, _ in a }
            ))
        #expect(error.code == .unreadableFile && error.description.contains("/nonexistent/creds"))
    }
}
