/// Loss-based membership inference, the audit of forgetting: an attacker who sees a row's loss under the released
/// model guesses "member" when the loss is low (Yeom et al., "Privacy Risk in Machine Learning: Analyzing the
/// Connection to Overfitting", CSF 2018). Its AUC over forgotten rows against rows the model never trained on
/// (the validation rows) is 0.5 when the two are indistinguishable by loss; a model that still remembers the
/// forgotten rows scores above 0.5. Unlearning is judged against the AUC a model retrained without the rows gets.
public enum MembershipInference {
    /// P(loss of a random member < loss of a random non-member) + P(equal) / 2: the Mann-Whitney U statistic
    /// divided by |members| |nonMembers|, from one sort of the pooled losses with mid-ranks for ties.
    /// nil when either side is empty.
    public static func lossAUC(members: [Double], nonMembers: [Double]) -> Double? {
        guard !members.isEmpty, !nonMembers.isEmpty else { return nil }
        // Pooled (loss, isMember), sorted by loss; ranks 1...N with ties given the mean of their ranks.
        let pooled = (members.map { ($0, true) } + nonMembers.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var rankSumOfNonMembers = 0.0
        var i = 0
        while i < pooled.count {
            var j = i
            while j + 1 < pooled.count, pooled[j + 1].0 == pooled[i].0 { j += 1 }
            let midRank = Double(i + j + 2) / 2
            for k in i...j where !pooled[k].1 { rankSumOfNonMembers += midRank }
            i = j + 1
        }
        // U counts pairs where the non-member's loss is higher, i.e. the attack ranks the member first.
        let n = Double(nonMembers.count)
        let m = Double(members.count)
        let u = rankSumOfNonMembers - n * (n + 1) / 2
        return u / (m * n)
    }
}
