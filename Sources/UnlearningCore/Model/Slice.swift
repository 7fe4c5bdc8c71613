/// One output unit of a dense layer or one filter of a conv layer (`layer` numbers the parametric layers): its
/// weights plus its bias, one contiguous range of the parameter vector. The unit of L-FOCI selection.
public struct Slice: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    public var layer: Int
    public var unit: Int

    public init(layer: Int, unit: Int) {
        self.layer = layer
        self.unit = unit
    }

    public static func < (a: Slice, b: Slice) -> Bool { (a.layer, a.unit) < (b.layer, b.unit) }
    public var description: String { "L\(layer).u\(unit)" }
}
