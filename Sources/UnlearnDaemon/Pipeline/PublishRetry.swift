/// What to do after publishing a dead letter or an alert failed. Pure: the loop does the sending and waiting.
///
/// A dead letter's offset always advances (docs/ARCHITECTURE.md, section 4.4): a letter the broker refuses for good
/// (too large, not authorised, no such topic) is sent again without its payload, and if that is refused too, or the
/// daemon is stopping while brokers stay unreachable, it goes to the local dead-letter file. An alert has no local
/// fallback: it is sent again at start while its model waits for a retrain (section 3.4).
enum PublishRetry {
    /// Why a send failed, as librdkafka classifies it.
    enum Failure: Sendable, Equatable {
        /// The broker will refuse this record whatever happens (`KafkaErrorCode.isPermanentForProduce`).
        case permanent(String)
        /// Brokers unreachable, timeouts, leader changes: a later send may succeed.
        case transient(String)
    }

    enum Step: Sendable, Equatable {
        /// Send the same record again after waiting.
        case retry(afterMilliseconds: Int)
        /// Send the dead letter again with headers only.
        case resendWithoutPayload
        /// Append the original dead letter to the local dead-letter file, with the error that stopped it.
        case recordLocally(error: String)
    }

    /// Transient failures while stopping, after which a dead letter goes to the file instead.
    static let deadLetterAttemptsWhileStopping = 3
    /// Transient failures while stopping, after which an alert is given up (it is sent again at the next start).
    static let alertAttemptsWhileStopping = 3

    /// The next step for a dead letter after `transientFailures` transient failures so far (this one included when
    /// it is transient); `sentWithoutPayload` says whether the refused record was already the headers-only form.
    static func deadLetter(after failure: Failure, transientFailures: Int, sentWithoutPayload: Bool, stopping: Bool) -> Step {
        switch failure {
        case .permanent(let error):
            return sentWithoutPayload ? .recordLocally(error: error) : .resendWithoutPayload
        case .transient(let error):
            if stopping && transientFailures >= deadLetterAttemptsWhileStopping { return .recordLocally(error: error) }
            return .retry(afterMilliseconds: backoffMilliseconds(transientFailures))
        }
    }

    /// How long to wait before sending an alert again after `failures` failures so far, or nil to give up.
    static func alert(failures: Int, stopping: Bool) -> Int? {
        if stopping && failures > alertAttemptsWhileStopping { return nil }
        return backoffMilliseconds(failures)
    }

    /// Linear backoff capped at 2 s: brokers that come back are used within 2 s, and a long outage costs a few
    /// sends per second.
    static func backoffMilliseconds(_ failures: Int) -> Int { min(2000, 100 * max(1, failures)) }

    /// Log the first failure and every tenth, so a long outage does not flood the journal.
    static func shouldLog(failures: Int) -> Bool { failures == 1 || failures % 10 == 0 }
}
