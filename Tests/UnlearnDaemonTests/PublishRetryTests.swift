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
        let down = PublishRetry.Failure.transient("unreachable")
        #expect(PublishRetry.deadLetter(after: down, transientFailures: 1, sentWithoutPayload: false, stopping: false) == .retry(afterMilliseconds: 100))
        #expect(PublishRetry.deadLetter(after: down, transientFailures: 50, sentWithoutPayload: false, stopping: false) == .retry(afterMilliseconds: 2000))
        #expect(PublishRetry.deadLetter(after: down, transientFailures: 2, sentWithoutPayload: false, stopping: true) == .retry(afterMilliseconds: 200))
        #expect(PublishRetry.deadLetter(after: down, transientFailures: 3, sentWithoutPayload: false, stopping: true) == .recordLocally(error: "unreachable"))
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
