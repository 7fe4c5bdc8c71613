import KafkaLog
import Testing

@Suite("Configuration, errors and version")
struct ConfigurationTests {
    @Test func unknownPropertyErrorNamesTheKey() throws {
        let error = try #require(throws: KafkaError.self) {
            try KafkaProducer(configuration: KafkaConfiguration(["no.such.property": "1"]), logger: testLogger())
        }
        #expect(error.code == .configuration)
        #expect(error.reason.contains("\"no.such.property\""))
        #expect(error.reason.contains("unknown property"))
    }

    @Test func invalidValueErrorNamesTheKeyAndLibrdkafkasReason() throws {
        let error = try #require(throws: KafkaError.self) {
            try KafkaProducer(configuration: KafkaConfiguration(["acks": "banana"]), logger: testLogger())
        }
        #expect(error.code == .configuration)
        #expect(error.reason.contains("invalid value for property \"acks\""))
        #expect(error.reason.contains("Invalid value for configuration property"))  // librdkafka's own words
    }

    @Test func secretValueNeverAppearsInAnErrorOrLog() throws {
        let capture = LogCapture()
        // The consumer logs its configuration when created: secrets must not be in that line.
        let configuration = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:1",
            [
                "security.protocol": "sasl_plaintext",
                "sasl.mechanisms": "PLAIN",
                "sasl.username": "svc-unlearn",
                "sasl.password": "hunter2-secret-value",
                "ssl.key.password": "another-secret-value",
            ]
        )
        #expect(!configuration.description.contains("hunter2-secret-value"))
        #expect(!configuration.description.contains("another-secret-value"))
        #expect(configuration.description.contains("sasl.username=svc-unlearn"))
        #expect(KafkaConfiguration.isSecret("sasl.password"))
        #expect(KafkaConfiguration.isSecret("ssl.keystore.password"))
        #expect(KafkaConfiguration.isSecret("sasl.oauthbearer.client.secret"))
        #expect(KafkaConfiguration.isSecret("ssl.key.pem"))
        #expect(!KafkaConfiguration.isSecret("ssl.certificate.location"))

        let consumer = try KafkaConsumer(configuration: configuration, groupID: "g", logger: capture.logger())
        _ = consumer
        let logged = capture.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(logged.contains("Kafka consumer created"))
        #expect(!logged.contains("hunter2-secret-value"))
        #expect(!logged.contains("another-secret-value"))
    }

    @Test func prefixedKeysPassThroughWithoutThePrefix() {
        let configuration = KafkaConfiguration(
            keysPrefixed: "kafka.",
            in: ["kafka.security.protocol": "ssl", "kafka.sasl.username": "u", "state_dir": "/x", "kafka.": "y"]
        )
        #expect(configuration.properties == ["security.protocol": "ssl", "sasl.username": "u"])
    }

    @Test func consumerRefusesAutomaticOffsetHandling() throws {
        for key in ["enable.auto.commit", "enable.auto.offset.store"] {
            let error = try #require(throws: KafkaError.self) {
                try KafkaConsumer(
                    configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1", [key: "true"]),
                    groupID: "g",
                    logger: testLogger()
                )
            }
            #expect(error.code == .configuration)
            #expect(error.reason.contains(key))
        }
    }

    @Test func librdkafkaVersionIsReported() {
        let version = LibRdKafka.version
        let parts = version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count >= 3, "version \(version)")
        let number = LibRdKafka.versionNumber
        #expect(Int(number >> 24) == parts[0] && Int((number >> 16) & 0xff) == parts[1])
        #expect(LibRdKafka.meetsProductionMinimum == ((parts[0], parts[1]) >= (2, 2)))
    }

    @Test func errorCodesAndAPIKeysResolveByName() {
        #expect(KafkaErrorCode(name: "REQUEST_TIMED_OUT")?.rawValue == 7)
        #expect(KafkaErrorCode(name: "request_timed_out") == .requestTimedOut)
        #expect(KafkaErrorCode(name: "_ALL_BROKERS_DOWN") == .allBrokersDown)
        #expect(KafkaErrorCode(name: "6")?.name == "NOT_LEADER_FOR_PARTITION")
        #expect(KafkaErrorCode(name: "NO_SUCH_ERROR") == nil)
        #expect(KafkaAPIKey(name: "Produce") == .produce)
        #expect(KafkaAPIKey(name: "offsetcommit") == .offsetCommit)
        #expect(KafkaAPIKey(name: "11")?.name == "JoinGroup")
        #expect(KafkaAPIKey(name: "Nope") == nil)
    }

    @Test func errorDescriptionSaysWhatAndWhere() {
        let error = KafkaError(.commit, reason: "committing failed", librdkafkaError: .requestTimedOut)
        #expect(error.description.contains("commit"))
        #expect(error.description.contains("REQUEST_TIMED_OUT"))
        #expect(error.description.contains("ConfigurationTests.swift"))
    }
}
