using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OpenTE.Market.Bids;

namespace OpenTE.Market.Auction;

/// <summary>
/// Copper-plate double auction (no network, bus numbers are ignored).
/// <para>
/// <b>Merit order.</b> Sells are sorted by rising price, buys by falling price; blocks of equal price on one
/// side form a <i>level</i>. Levels are matched while the buy price is at least the sell price, which gives the
/// welfare-maximising volume (where the supply and demand step curves cross), with a partial block at the
/// margin. Blocks of 0 MW take no part.
/// </para>
/// <para>
/// <b>Ties.</b> A level that is only partly needed is rationed <b>pro rata</b> to the quantities of its blocks:
/// each block of the marginal level gets the same fraction of its quantity, whatever the input order.
/// </para>
/// <para>
/// <b>Uniform price.</b> Let b_acc be the lowest accepted buy price and s_acc the highest accepted sell price,
/// b_out the highest buy price not fully accepted (−∞ if none) and s_out the lowest sell price not fully
/// accepted (+∞ if none). Every price in [L, U] with L = max(s_acc, b_out) and U = min(b_acc, s_out) clears the
/// market: at it every accepted buyer bid at least the price, every accepted seller offered at most the price
/// (individual rationality), no block left (partly) out would trade at it, and demand meets supply. The price
/// is the midpoint (L + U)/2. Consequences:
/// <list type="bullet">
/// <item>both marginal blocks fully accepted and the next blocks out of the money: the midpoint of the marginal
/// pair, (b_acc + s_acc)/2;</item>
/// <item>the curves cross inside a block (partly accepted): that block's price, since its owner must be
/// indifferent (L = U);</item>
/// <item>a rejected block whose price lies between the marginal pair narrows the interval, so that it
/// would not want to trade at the price.</item>
/// </list>
/// </para>
/// <para>
/// <b>Pay-as-bid.</b> The same accepted quantities; every buyer pays its bid and every seller receives its
/// offer, so the budget surplus (payments − revenues) is ≥ 0.
/// </para>
/// <para>
/// Cost: one sort per side into merit order (a radix sort of the prices' bit patterns, O(n), see
/// <see cref="MeritOrder"/>), then linear passes over arrays; no look-ups per bid, no LINQ.
/// </para>
/// </summary>
public static class DoubleAuction
{
    /// <summary>
    /// Clears <paramref name="bids"/>. Throws <see cref="ArgumentException"/> for a price that is not finite or a
    /// quantity that is negative or not finite.
    /// </summary>
    public static AuctionResult Clear(IReadOnlyList<Bid> bids, PricingRule rule = PricingRule.UniformMidpoint)
    {
        ArgumentNullException.ThrowIfNull(bids);
        ReadOnlySpan<Bid> all = bids switch
        {
            Bid[] array => array,
            List<Bid> list => CollectionsMarshal.AsSpan(list),
            BidBook book => book.AsSpan(),
            _ => bids.ToArray(),
        };
        return Clear(all, rule);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static AuctionResult Clear(ReadOnlySpan<Bid> all, PricingRule rule)
    {
        int n = all.Length;

        // ---- one pass: check, split by side (blocks of 0 MW stay out), merit-order keys.
        // Buys fill keys[0..nb) with the complement of the price key (ascending = falling price),
        // sells fill keys[n−ns..n) from the back.
        var quantity = GC.AllocateUninitializedArray<double>(n);
        var keys = GC.AllocateUninitializedArray<ulong>(n);
        var idx = GC.AllocateUninitializedArray<int>(n);
        int nb = 0, ns = 0;
        for (int k = 0; k < n; k++)
        {
            var b = all[k] ?? throw new ArgumentException($"bid {k + 1} is null", "bids");
            double q = b.Quantity, p = b.Price;
            if (Bid.Check(p, q) is { } why)
                throw new ArgumentException($"bid {k + 1} of {b.Participant}: {why}", "bids");
            quantity[k] = q;
            if (q == 0) continue;
            if (b.Side == Side.Buy) { keys[nb] = ~MeritOrder.Key(p); idx[nb++] = k; }
            else { int at = n - 1 - ns++; keys[at] = MeritOrder.Key(p); idx[at] = k; }
        }
        int scratch = Math.Max(nb, ns);
        var scratchKeys = GC.AllocateUninitializedArray<ulong>(scratch);
        var scratchIdx = GC.AllocateUninitializedArray<int>(scratch);
        MeritOrder.Sort(keys.AsSpan(0, nb), idx.AsSpan(0, nb), scratchKeys, scratchIdx);
        MeritOrder.Sort(keys.AsSpan(n - ns, ns), idx.AsSpan(n - ns, ns), scratchKeys, scratchIdx);

        // ---- match level against level while the buy price covers the sell price
        var buys = new Curve(keys.AsSpan(0, nb), idx.AsSpan(0, nb), quantity, descending: true);
        var sells = new Curve(keys.AsSpan(n - ns, ns), idx.AsSpan(n - ns, ns), quantity, descending: false);
        double volume = 0, lastBuyPrice = double.NaN, lastSellPrice = double.NaN;
        while (!buys.Done && !sells.Done && buys.Price >= sells.Price)
        {
            double q = Math.Min(buys.Remaining, sells.Remaining); // > 0: levels have positive quantity
            volume += q;
            lastBuyPrice = buys.Price;
            lastSellPrice = sells.Price;
            buys.Take(q);
            sells.Take(q);
        }

        // ---- accepted MW per bid: levels before the stopping one in full, the stopping one pro rata
        var accepted = new double[n];
        buys.Assign(accepted);
        sells.Assign(accepted);

        double? price = null;
        if (volume > 0)
        {
            double buyOut = buys.Done ? double.NegativeInfinity : buys.Price;   // first buy level not fully accepted
            double sellOut = sells.Done ? double.PositiveInfinity : sells.Price;
            double lo = Math.Max(lastSellPrice, buyOut);
            double hi = Math.Min(lastBuyPrice, sellOut);
            price = 0.5 * lo + 0.5 * hi; // in [lo, hi] in floating point too, and no overflow
        }

        // ---- settlement
        var result = new Acceptance[n];
        double welfare = 0, payments = 0, revenues = 0, uniform = price ?? 0;
        bool payAsBid = rule == PricingRule.PayAsBid;
        for (int k = 0; k < n; k++)
        {
            var b = all[k];
            double q = accepted[k];
            double p = q > 0 ? (payAsBid ? b.Price : uniform) : 0;
            result[k] = new Acceptance(b, q, p);
            if (b.Side == Side.Buy) { welfare += b.Price * q; payments += p * q; }
            else { welfare -= b.Price * q; revenues += p * q; }
        }
        return new AuctionResult(rule, price, volume, result, welfare, payments, revenues);
    }

    /// <summary>One side's sorted step curve, walked level by level (a level = a run of equal keys).</summary>
    private ref struct Curve
    {
        private const double Dust = 1e-12;
        private readonly ReadOnlySpan<ulong> _key;
        private readonly ReadOnlySpan<int> _idx;
        private readonly ReadOnlySpan<double> _quantity;
        private readonly bool _descending;
        private int _start, _end;   // the current level is [_start, _end) of the sorted arrays
        private double _levelQuantity;

        public Curve(ReadOnlySpan<ulong> key, ReadOnlySpan<int> idx, ReadOnlySpan<double> quantity, bool descending)
        {
            _key = key;
            _idx = idx;
            _quantity = quantity;
            _descending = descending;
            _start = _end = 0;
            NextLevel();
        }

        public readonly bool Done => _start >= _key.Length;
        /// <summary>Price of the current level.</summary>
        public readonly double Price => MeritOrder.Price(_descending ? ~_key[_start] : _key[_start]);
        public double Remaining { get; private set; }

        /// <summary>
        /// Takes q MW off the level. What is left below <see cref="Dust"/> of the level is rounding (0.3 − 0.1 − 0.2),
        /// and the level counts as fully accepted: otherwise it would count as partly accepted and set the price.
        /// </summary>
        public void Take(double q)
        {
            Remaining -= q;
            if (Remaining <= Dust * _levelQuantity)
            {
                _start = _end;
                NextLevel();
            }
        }

        private void NextLevel()
        {
            _levelQuantity = 0;
            if (_start >= _key.Length) { Remaining = 0; return; }
            ulong key = _key[_start];
            int e = _start;
            while (e < _key.Length && _key[e] == key) _levelQuantity += _quantity[_idx[e++]];
            _end = e;
            Remaining = _levelQuantity;
        }

        /// <summary>Everything before the current level in full, the current level pro rata, the rest nothing.</summary>
        public readonly void Assign(double[] accepted)
        {
            for (int t = 0; t < _start; t++) accepted[_idx[t]] = _quantity[_idx[t]];
            if (Done || Remaining >= _levelQuantity) return;
            double fraction = (_levelQuantity - Remaining) / _levelQuantity;
            for (int t = _start; t < _end; t++) accepted[_idx[t]] = _quantity[_idx[t]] * fraction;
        }
    }
}
