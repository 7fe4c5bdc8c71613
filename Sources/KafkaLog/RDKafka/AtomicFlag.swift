import Synchronization

/// A Boolean shared between a client and the blocks it runs on its queues (an `Atomic` cannot be captured).
final class AtomicFlag: Sendable {
    private let value: Atomic<Bool>

    init(_ initial: Bool) { value = Atomic(initial) }

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set(_ newValue: Bool) { value.store(newValue, ordering: .releasing) }

    /// Sets the flag and returns its previous value.
    func exchange(_ newValue: Bool) -> Bool { value.exchange(newValue, ordering: .acquiringAndReleasing) }
}
