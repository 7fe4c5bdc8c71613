import Configuration

/// A range of real numbers with open or closed ends, stated as "> 0 and <= 0.01".
struct NumberInterval {
    var lower: Double
    var lowerOpen: Bool
    var upper: Double
    var upperOpen: Bool
    /// Overrides the upper bound's text when it is another key (`budget.epsilon`).
    var upperText: String? = nil

    static func open(_ lower: Double, closed upper: Double) -> Self {
        Self(lower: lower, lowerOpen: true, upper: upper, upperOpen: false)
    }

    static func closed(_ lower: Double, _ upper: Double) -> Self {
        Self(lower: lower, lowerOpen: false, upper: upper, upperOpen: false)
    }

    func contains(_ value: Double) -> Bool {
        // Written so that NaN is outside every interval.
        (lowerOpen ? value > lower : value >= lower) && (upperOpen ? value < upper : value <= upper)
    }

    var description: String {
        let upper = upperText ?? ConfigurationFormat.number(upper)
        let lower = ConfigurationFormat.number(lower)
        if !lowerOpen && !upperOpen && upperText == nil { return "\(lower) to \(upper)" }
        return "\(lowerOpen ? ">" : ">=") \(lower) and \(upperOpen ? "<" : "<=") \(upper)"
    }
}
