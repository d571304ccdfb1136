using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement;

/// <summary>
/// A trade's carbon adjustment written with its settlement (docs/carbon.md, "One journal entry per trade"): when a trade's
/// carbon:ID posting and its settle:ID posting are written in the same run, the carbon lines are appended to the settle
/// posting — one journal entry (settle:ID, kind settle) instead of two. The accounting does not change: the same lines on the
/// same accounts and commodities (so the same balances), the settle part and the carbon part each balance by themselves, and
/// the entry is hashed and verified like any other. The backends are unchanged (the engine's <see cref="EscrowEngine.PostCarbon"/>
/// and the contract's postCarbon still make carbon:ID); folding is how the run writes them to the journal.
/// <para>The carbon part of a settle posting is its tail from the first CO₂ line (a settlement's own lines are money and Wh
/// only). A carbon posting whose first line is not CO₂ (an adjustment with money but no grams) is not folded.</para>
/// </summary>
public static class CarbonFold
{
    private const int Prefix = 7; // "settle:" and "carbon:"

    /// <summary>
    /// A carbon:ID posting that can be folded: its first line is CO₂ (so its lines are recognisable inside a settlement), or it
    /// has no lines (an adjustment that rounds to 0 g: folding it writes nothing).
    /// </summary>
    public static bool Foldable(Posting carbon) =>
        carbon.Kind == "carbon" && carbon.Key.StartsWith("carbon:", StringComparison.Ordinal) && (carbon.Lines.Count == 0 || carbon.Lines[0].Commodity == Commodity.Co2Grams);

    /// <summary>settle:ID with the lines of carbon:ID appended (same key, kind and time as the settlement).</summary>
    public static Posting Fold(Posting settle, Posting carbon)
    {
        if (settle.Kind != "settle" || !settle.Key.StartsWith("settle:", StringComparison.Ordinal) || !Foldable(carbon)
            || !settle.Key.AsSpan(Prefix).SequenceEqual(carbon.Key.AsSpan(Prefix)))
            throw new ArgumentException($"cannot fold '{carbon.Key}' into '{settle.Key}' (a settle:ID and a carbon:ID of the same trade, the carbon lines starting with CO₂)");
        if (CarbonStart(settle) < settle.Lines.Count) throw new ArgumentException($"'{settle.Key}' already holds carbon lines");
        return carbon.Lines.Count == 0 ? settle : new Posting(settle.Key, settle.Kind, settle.Time, new Joined(settle.Lines, carbon.Lines));
    }

    /// <summary>The settlement's lines followed by the carbon lines, without copying either (both are immutable lists).</summary>
    internal sealed class Joined(IReadOnlyList<Line> a, IReadOnlyList<Line> b) : IReadOnlyList<Line>
    {
        /// <summary>The settlement's lines.</summary>
        public IReadOnlyList<Line> A => a;
        /// <summary>The carbon lines.</summary>
        public IReadOnlyList<Line> B => b;
        public int Count => a.Count + b.Count;
        public Line this[int i] => i < a.Count ? a[i] : b[i - a.Count];

        public IEnumerator<Line> GetEnumerator()
        {
            foreach (var l in a) yield return l;
            foreach (var l in b) yield return l;
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Where a posting's carbon lines start: 0 for carbon:ID, the first CO₂ line of a settlement, else the line count (none).</summary>
    public static int CarbonStart(Posting p)
    {
        if (p.Kind == "carbon") return 0;
        if (p.Kind != "settle") return p.Lines.Count;
        return FirstCo2(p.Lines);
    }

    /// <summary>The index of the first CO₂ line, else the line count (read through the array of the usual list types, not line by line through the interface).</summary>
    private static int FirstCo2(IReadOnlyList<Line> lines)
    {
        ReadOnlySpan<Line> span = lines switch
        {
            Line[] a => a,
            List<Line> l => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(l),
            _ => default,
        };
        if (span.IsEmpty && lines.Count > 0)
        {
            for (int i = 0; i < lines.Count; i++)
                if (lines[i].Commodity == Commodity.Co2Grams) return i;
            return lines.Count;
        }
        for (int i = 0; i < span.Length; i++)
            if (span[i].Commodity == Commodity.Co2Grams) return i;
        return span.Length;
    }

    /// <summary>The carbon lines of a posting (all of carbon:ID, the folded tail of settle:ID, none of the others).</summary>
    public static IEnumerable<Line> CarbonLines(Posting p)
    {
        for (int i = CarbonStart(p); i < p.Lines.Count; i++) yield return p.Lines[i];
    }

    /// <summary>The posting without its carbon lines (a folded settlement as it was before folding; a carbon posting keeps its lines).</summary>
    public static Posting WithoutCarbon(Posting p)
    {
        if (p.Kind != "settle") return p;
        int k = CarbonStart(p);
        return k == p.Lines.Count ? p : new Posting(p.Key, p.Kind, p.Time, [.. p.Lines.Take(k)]);
    }

    /// <summary>
    /// Folds every foldable carbon:ID of <paramref name="postings"/> into the settle:ID of the same list (where
    /// <paramref name="intoSettle"/>, given the trade id, allows it; e.g. not when the journal already holds the trade's final
    /// state). The order is kept; folded carbon postings disappear, the others stay where they were. Linear in the postings.
    /// </summary>
    public static List<Posting> FoldAll(IReadOnlyList<Posting> postings, Func<string, bool>? intoSettle = null)
    {
        // carbon postings by their own key; a settlement looks up "carbon:" + its id in a stack buffer (no strings made)
        int carbons = 0;
        for (int i = 0; i < postings.Count; i++)
            if (Foldable(postings[i])) carbons++;
        var result = new List<Posting>(postings.Count - carbons);
        if (carbons == 0)
        {
            for (int i = 0; i < postings.Count; i++) result.Add(postings[i]);
            return result;
        }
        // the carbon posting's index and lines in the map itself: the lookups come in the settlements' order, not the carbon
        // postings' (a permutation), so each posting touched is a cache miss on 100 000s of them
        var carbonOf = new Dictionary<string, (int Index, IReadOnlyList<Line> Lines)>(carbons, StringComparer.Ordinal);
        var byKey = carbonOf.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int i = 0; i < postings.Count; i++)
            if (Foldable(postings[i])) carbonOf[postings[i].Key] = (i, postings[i].Lines);
        Span<char> buf = stackalloc char[128];
        var folded = new ulong[(postings.Count + 63) / 64]; // a bit per posting (for 100 000s of them not on the large object heap)
        for (int i = 0; i < postings.Count; i++)
        {
            if ((folded[i >> 6] & (1UL << i)) != 0) continue;
            var p = postings[i];
            if (p.Kind == "settle" && p.Key.StartsWith("settle:", StringComparison.Ordinal) && p.Key.Length <= buf.Length
                && byKey.TryGetValue(CarbonKey(p.Key, buf), out var c) && c.Index > i && (intoSettle is null || intoSettle(p.Key[Prefix..])))
            {
                // what Fold checks, but for what the lookup already holds: p is settle:ID, postings[c] the foldable carbon:ID of
                // the same id (its key equals "carbon:" + ID)
                if (FirstCo2(p.Lines) < p.Lines.Count) throw new ArgumentException($"'{p.Key}' already holds carbon lines");
                result.Add(c.Lines.Count == 0 ? p : new Posting(p.Key, p.Kind, p.Time, new Joined(p.Lines, c.Lines)));
                folded[c.Index >> 6] |= 1UL << c.Index;
            }
            else result.Add(p);
        }
        return result;
    }

    private static ReadOnlySpan<char> CarbonKey(string settleKey, Span<char> buf)
    {
        "carbon:".CopyTo(buf);
        settleKey.AsSpan(Prefix).CopyTo(buf[Prefix..]);
        return buf[..settleKey.Length];
    }
}
