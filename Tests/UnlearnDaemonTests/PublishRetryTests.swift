import Testing

@testable import UnlearnDaemon

@Suite("Publish retry")
struct PublishRetryTests {
    @Test("a dead letter refused for good goes again without payload, then to the local file")
    func permanent() {
        let refused = PublishRetry.Failure.permanent("TOPIC_AUTHORIZATION_FAILED")
        #expect(PublishRetry.deadLetter(after: refused, transientFailures: 0, sentWithoutPayload: false, stopping: false) == .resendWithoutPayload)
        #expect(
            PublishRetry.deadLetter(after: refused, transientFailures: 0, sentWithoutPayload: true, stopping: false)
                == .recordLocally(error: "TOPIC_AUTHORIZATION_FAILED")
        )
    }

    @Test("transient failures are retried with a capped backoff; while stopping, the third goes to the local file")
    func transient() {
        func step(_ failures: Int, stopping: Bool) -> PublishRetry.Step {
            PublishRetry.deadLetter(after: .transient("unreachable"), transientFailures: failures, sentWithoutPayload: false, stopping: stopping)
        }
        #expect(step(1, stopping: false) == .retry(afterMilliseconds: 100))
        #expect(step(50, stopping: false) == .retry(afterMilliseconds: 2000))
        #expect(step(2, stopping: true) == .retry(afterMilliseconds: 200))
        #expect(step(3, stopping: true) == .recordLocally(error: "unreachable"))
    }

    @Test("an alert is retried until the daemon stops, then given up after its fourth failure")
    func alert() {
        #expect(PublishRetry.alert(failures: 100, stopping: false) == 2000)
        #expect(PublishRetry.alert(failures: 3, stopping: true) == 300)
        #expect(PublishRetry.alert(failures: 4, stopping: true) == nil)
    }

    @Test("the first failure and every tenth are logged")
    func logging() {
        #expect((1...30).filter { PublishRetry.shouldLog(failures: $0) } == [1, 10, 20, 30])
    }
}
