/// The arithmetic mean (0 for no values): the tests' own reference for the update report's mean losses.
func mean(_ values: [Double]) -> Double {
    values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
}
