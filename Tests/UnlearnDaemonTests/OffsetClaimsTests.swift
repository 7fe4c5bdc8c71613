import KafkaLog
import Testing

@testable import UnlearnDaemon

@Suite("Offset claims")
struct OffsetClaimsTests {
    @Test("without replaying models each partition starts at the largest recorded offset; unrecorded ones at the committed offset")
    func largest() {
        var claims = OffsetClaims()
        claims.add([0: 10, 1: 5], replaying: false)
        claims.add([0: 7, 2: 3], replaying: false)
        #expect(claims.start(0) == 10)
        #expect(claims.start(1) == 5)
        #expect(claims.start(2) == 3)
        #expect(claims.start(3) == nil)
    }

    @Test("a replaying model's own offsets win where they are smaller, and it reads partitions it has no offset for from the beginning")
    func replaying() {
        var claims = OffsetClaims()
        claims.add([0: 10, 1: 5], replaying: false)
        claims.add([0: 4], replaying: true)
        #expect(claims.start(0) == 4)
        #expect(claims.start(1) == KafkaOffset.beginning)
        #expect(claims.start(7) == KafkaOffset.beginning)
        var ahead = OffsetClaims()
        ahead.add([0: 10], replaying: false)
        ahead.add([0: 12], replaying: true)
        // The replaying model's own 12 was recorded when everything below it was done, for every model.
        #expect(ahead.start(0) == 12)
    }

    @Test("the recorded maximum never decreases")
    func monotone() {
        var claims = OffsetClaims()
        claims.add([0: 10], replaying: false)
        claims.add([0: 8], replaying: false)
        #expect(claims.start(0) == 10)
    }
}
