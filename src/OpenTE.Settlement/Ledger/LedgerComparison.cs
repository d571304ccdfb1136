namespace OpenTE.Settlement.Ledger;

/// <summary>The first difference between two ledgers: what kind, where (account and commodity, or posting key) and the two values.</summary>
public sealed record LedgerDifference(string Kind, string Message, string? Account = null, Commodity? Commodity = null, long? A = null, long? B = null, string? Key = null);

/// <summary>The outcome of <see cref="LedgerComparison.Compare"/>.</summary>
public sealed record LedgerCompareResult(
    bool Equal, VerifyResult A, VerifyResult B, int Accounts, long Postings, bool SameOrder, LedgerDifference? First);

/// <summary>
/// Compares two ledgers of the same trades, e.g. the embedded engine's and the one rebuilt from a contract's events.
/// <b>Equal</b> means: (1) both hash chains verify; (2) every (account, commodity) has the same balance (an account
/// missing from one side counts as 0); (3) the postings are the same multiset, a posting's content being its key,
/// kind and lines (account, commodity, amount, in order). Not compared: entry numbers, times and hashes (a chain's
/// postings carry block times, the engine's its clock, and the hash covers the time) and the order of postings
/// (reported as <see cref="LedgerCompareResult.SameOrder"/>). The checks run in that order; the first failing one is
/// reported with its account and amounts or its posting key.
/// </summary>
public static class LedgerComparison
{
    public static LedgerCompareResult Compare(string a, string b)
    {
        var va = SqliteLedger.Verify(a);
        var vb = SqliteLedger.Verify(b);
        if (!va.Ok || !vb.Ok)
        {
            var (name, v) = !va.Ok ? ("A", va) : ("B", vb);
            return new(false, va, vb, 0, 0, false, new("chain", $"ledger {name} fails verification at entry {v.FirstBadIndex}: {v.Reason}"));
        }
        var pa = SqliteLedger.Read(a).ToList();
        var pb = SqliteLedger.Read(b).ToList();
        var ba = Sum(pa);
        var bb = Sum(pb);
        var accounts = ba.Keys.Union(bb.Keys).Order().ToList();
        LedgerDifference? first = null;
        foreach (var k in accounts)
        {
            long x = ba.GetValueOrDefault(k), y = bb.GetValueOrDefault(k);
            if (x == y) continue;
            first = new("balance", $"{k.Account} ({Unit(k.Commodity)}): {x} in A, {y} in B", k.Account, k.Commodity, x, y);
            break;
        }
        first ??= FirstPostingDifference(pa, pb);
        bool sameOrder = pa.Count == pb.Count && pa.Zip(pb).All(z => Content(z.First) == Content(z.Second));
        return new(first is null, va, vb, accounts.Count, Math.Max(pa.Count, pb.Count), sameOrder, first);
    }

    private static SortedDictionary<(string Account, Commodity Commodity), long> Sum(IEnumerable<Posting> ps)
    {
        var d = new SortedDictionary<(string, Commodity), long>();
        foreach (var p in ps)
            foreach (var l in p.Lines)
                d[(l.Account, l.Commodity)] = checked(d.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount);
        return d;
    }

    /// <summary>A posting's compared content: key, kind and lines in order (no time, no entry number).</summary>
    public static string Content(Posting p) =>
        p.Key + "|" + p.Kind + "|" + string.Join(";", p.Lines.Select(l => $"{l.Account},{(byte)l.Commodity},{l.Amount}"));

    private static LedgerDifference? FirstPostingDifference(List<Posting> pa, List<Posting> pb)
    {
        var left = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in pb) left[Content(p)] = left.GetValueOrDefault(Content(p)) + 1;
        var byKeyB = pb.GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var p in pa)
        {
            var c = Content(p);
            if (left.GetValueOrDefault(c) > 0) { left[c]--; continue; }
            if (!byKeyB.TryGetValue(p.Key, out var q)) return new("posting", $"posting {p.Key} ({p.Kind}) is in A only", Key: p.Key);
            return LineDifference(p, q);
        }
        var byKeyA = pa.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var p in pb)
        {
            var c = Content(p);
            if (left.GetValueOrDefault(c) == 0) continue;
            return byKeyA.Contains(p.Key)
                ? new("posting", $"posting {p.Key} ({p.Kind}) is in B more often than in A", Key: p.Key)
                : new("posting", $"posting {p.Key} ({p.Kind}) is in B only", Key: p.Key);
        }
        return null;
    }

    private static LedgerDifference LineDifference(Posting p, Posting q)
    {
        if (p.Kind != q.Kind) return new("posting", $"posting {p.Key}: kind {p.Kind} in A, {q.Kind} in B", Key: p.Key);
        for (int i = 0; i < Math.Max(p.Lines.Count, q.Lines.Count); i++)
        {
            Line? x = i < p.Lines.Count ? p.Lines[i] : null, y = i < q.Lines.Count ? q.Lines[i] : null;
            if (x == y) continue;
            var l = x ?? y!.Value;
            return new("posting", $"posting {p.Key}, line {i + 1}: {Describe(x)} in A, {Describe(y)} in B", l.Account, l.Commodity, x?.Amount, y?.Amount, p.Key);
        }
        return new("posting", $"posting {p.Key} differs", Key: p.Key);
    }

    private static string Describe(Line? l) => l is { } x ? $"{x.Account} {x.Amount} {Unit(x.Commodity)}" : "no line";

    public static string Unit(Commodity c) => c switch { Commodity.Money => "money", Commodity.EnergyWh => "Wh", _ => "gCO2" };
}
