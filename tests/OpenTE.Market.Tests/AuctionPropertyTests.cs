using CsCheck;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;

namespace OpenTE.Market.Tests;

/// <summary>Invariants of the double auction over random books.</summary>
public class AuctionPropertyTests
{
    private const double Tol = 1e-9;

    /// <summary>Coarse prices (many ties) and whole-MW quantities, so that a unit-by-unit brute force is exact.</summary>
    private static readonly Gen<Bid[]> CoarseBooks =
        Gen.Select(Gen.Bool, Gen.Int[0, 20], Gen.Int[0, 5], Gen.Int[0, 8])
           .Select((buy, price, q, who) => new Bid("p" + who, 1, buy ? Side.Buy : Side.Sell, price * 5, q, 1, 0))
           .Array[0, 40];

    private static readonly double[] Specials = [0.0, -0.0, 1e-300, -1e-300, 1e6, -1e6];

    /// <summary>Continuous prices (negative, ±0, wide) and quantities, some of them equal.</summary>
    private static readonly Gen<Bid[]> FineBooks =
        Gen.Select(Gen.Bool,
                   Gen.OneOf(Gen.Double[-50, 200], Gen.Int[0, 4].Select(i => 25.0 * i), Gen.Double[-1e6, 1e6], Gen.Int[0, Specials.Length - 1].Select(i => Specials[i])),
                   Gen.OneOf(Gen.Double[0, 100], Gen.Int[0, 3].Select(i => 0.1 * i)),
                   Gen.Int[0, 30])
           .Select((buy, price, q, who) => new Bid("p" + who, who % 5, buy ? Side.Buy : Side.Sell, price, q, 1, 0))
           .Array[0, 60];

    private static readonly Gen<Bid[]> Books = Gen.OneOf(CoarseBooks, FineBooks);

    private static double Scale(Bid[] book) => 1 + book.Sum(b => Math.Abs(b.Price) * b.Quantity);

    [Fact]
    public void Energy_sold_equals_energy_bought_and_no_block_gets_more_than_it_asked()
    {
        Books.Sample(book =>
        {
            foreach (var rule in new[] { PricingRule.UniformMidpoint, PricingRule.PayAsBid })
            {
                var r = DoubleAuction.Clear(book, rule);
                Assert.Equal(book.Length, r.Accepted.Count);
                double sold = r.Accepted.Where(a => a.Bid.Side == Side.Sell).Sum(a => a.AcceptedMw);
                double bought = r.Accepted.Where(a => a.Bid.Side == Side.Buy).Sum(a => a.AcceptedMw);
                double q = 1 + book.Sum(b => b.Quantity);
                Assert.True(Math.Abs(sold - bought) <= Tol * q, $"sold {sold} bought {bought}");
                Assert.True(Math.Abs(r.Volume - bought) <= Tol * q);
                for (int k = 0; k < book.Length; k++)
                {
                    Assert.Same(book[k], r.Accepted[k].Bid);
                    Assert.InRange(r.Accepted[k].AcceptedMw, 0, book[k].Quantity);
                }
                Assert.Equal(r.Volume > 0, r.ClearingPrice.HasValue);
            }
        }, iter: 1000);
    }

    [Fact]
    public void Uniform_price_is_individually_rational_and_leaves_no_block_out_that_would_trade_at_it()
    {
        Books.Sample(book =>
        {
            var r = DoubleAuction.Clear(book);
            Assert.True(Math.Abs(r.BudgetSurplus) <= Tol * Scale(book));
            if (r.ClearingPrice is not double p) return;
            foreach (var a in r.Accepted)
            {
                if (a.AcceptedMw > 0)
                {
                    Assert.Equal(p, a.Price);
                    // every accepted buyer bid ≥ price ≥ every accepted seller's offer: exactly, not within a tolerance
                    if (a.Bid.Side == Side.Buy) Assert.True(a.Bid.Price >= p, $"buyer at {a.Bid.Price} pays {p}");
                    else Assert.True(a.Bid.Price <= p, $"seller at {a.Bid.Price} receives {p}");
                    Assert.True(a.Surplus >= 0);
                }
                bool unmet = a.AcceptedMw < a.Bid.Quantity * (1 - 1e-12);
                // no buyer above the price and no seller below it goes (partly) unserved
                if (unmet && a.Bid.Side == Side.Buy) Assert.False(a.Bid.Price > p, $"unmet buyer at {a.Bid.Price} above {p}");
                if (unmet && a.Bid.Side == Side.Sell) Assert.False(a.Bid.Price < p, $"unmet seller at {a.Bid.Price} below {p}");
            }
        }, iter: 1000);
    }

    [Fact]
    public void Efficiency_no_unmet_buyer_and_unmet_seller_could_still_trade_with_each_other()
    {
        Books.Sample(book =>
        {
            var r = DoubleAuction.Clear(book);
            var unmet = r.Accepted.Where(a => a.AcceptedMw < a.Bid.Quantity * (1 - 1e-12)).ToList();
            double bestUnmetBuy = unmet.Where(a => a.Bid.Side == Side.Buy).Select(a => a.Bid.Price).DefaultIfEmpty(double.NegativeInfinity).Max();
            double bestUnmetSell = unmet.Where(a => a.Bid.Side == Side.Sell).Select(a => a.Bid.Price).DefaultIfEmpty(double.PositiveInfinity).Min();
            Assert.True(bestUnmetBuy < bestUnmetSell, $"buyer at {bestUnmetBuy} and seller at {bestUnmetSell} left unmatched");
            if (r.ClearingPrice is double p)
                Assert.False(bestUnmetBuy > p && bestUnmetSell < p);
        }, iter: 1000);
    }

    [Fact]
    public void Welfare_equals_a_unit_by_unit_brute_force_on_whole_MW_books()
    {
        CoarseBooks.Sample(book =>
        {
            var r = DoubleAuction.Clear(book);
            Assert.Equal(BruteForceWelfare(book), r.Welfare, 1e-6);
            Assert.Equal(book.Sum(b => b.Price * (b.Side == Side.Buy ? 1 : -1) * r.Accepted.First(a => ReferenceEquals(a.Bid, b)).AcceptedMw), r.Welfare, 1e-6);
        }, iter: 1000);
    }

    [Fact]
    public void Welfare_is_at_least_that_of_any_random_feasible_matching()
    {
        Gen.Select(Books, Gen.Double[0, 1].Array[60]).Sample((book, share) =>
        {
            var r = DoubleAuction.Clear(book);
            // a feasible alternative: random accepted shares, the longer side scaled down so that energy balances
            var x = book.Select((b, k) => b.Quantity * share[k]).ToArray();
            double bought = Enumerable.Range(0, book.Length).Where(k => book[k].Side == Side.Buy).Sum(k => x[k]);
            double sold = Enumerable.Range(0, book.Length).Where(k => book[k].Side == Side.Sell).Sum(k => x[k]);
            double traded = Math.Min(bought, sold);
            double alternative = 0;
            for (int k = 0; k < book.Length; k++)
            {
                double total = book[k].Side == Side.Buy ? bought : sold;
                double q = total > 0 ? x[k] * traded / total : 0;
                alternative += (book[k].Side == Side.Buy ? book[k].Price : -book[k].Price) * q;
            }
            Assert.True(r.Welfare >= alternative - Tol * Scale(book), $"welfare {r.Welfare} below a random matching's {alternative}");
            Assert.True(r.Welfare >= -Tol * Scale(book));
        }, iter: 1000);
    }

    [Fact]
    public void Pay_as_bid_has_the_same_volume_and_a_budget_surplus_of_at_least_zero()
    {
        Books.Sample(book =>
        {
            var uniform = DoubleAuction.Clear(book);
            var pab = DoubleAuction.Clear(book, PricingRule.PayAsBid);
            Assert.Equal(uniform.Volume, pab.Volume);
            Assert.Equal(uniform.Welfare, pab.Welfare);
            Assert.Equal(uniform.ClearingPrice, pab.ClearingPrice);
            Assert.True(pab.BudgetSurplus >= -Tol * Scale(book));
            for (int k = 0; k < book.Length; k++)
            {
                Assert.Equal(uniform.Accepted[k].AcceptedMw, pab.Accepted[k].AcceptedMw);
                if (pab.Accepted[k].AcceptedMw > 0) Assert.Equal(book[k].Price, pab.Accepted[k].Price);
            }
        }, iter: 1000);
    }

    [Fact]
    public void Money_is_conserved_welfare_is_the_surplus_of_all_plus_the_budget_surplus()
    {
        Books.Sample(book =>
        {
            foreach (var rule in new[] { PricingRule.UniformMidpoint, PricingRule.PayAsBid })
            {
                var r = DoubleAuction.Clear(book, rule);
                var surplus = r.SurplusByParticipant();
                Assert.Equal(book.Select(b => b.Participant).Distinct().Order(), surplus.Keys.Order());
                Assert.True(Math.Abs(r.Welfare - surplus.Values.Sum() - r.BudgetSurplus) <= Tol * Scale(book));
                Assert.All(surplus.Values, s => Assert.True(s >= -Tol * Scale(book)));
            }
        }, iter: 500);
    }

    [Fact]
    public void Ties_are_pro_rata_and_the_outcome_does_not_depend_on_the_input_order()
    {
        Gen.Select(Books, Gen.Int).Sample((book, seed) =>
        {
            var r = DoubleAuction.Clear(book);
            // every block of one side and price gets the same share of its quantity
            foreach (var level in r.Accepted.Where(a => a.Bid.Quantity > 0).GroupBy(a => (a.Bid.Side, a.Bid.Price)))
            {
                var shares = level.Select(a => a.AcceptedMw / a.Bid.Quantity).ToList();
                Assert.True(shares.Max() - shares.Min() <= 1e-12, $"{level.Key}: shares {string.Join(", ", shares)}");
            }
            var shuffled = (Bid[])book.Clone();
            new Random(seed).Shuffle(shuffled);
            var again = DoubleAuction.Clear(shuffled);
            Assert.Equal(r.ClearingPrice is null, again.ClearingPrice is null);
            if (r.ClearingPrice is double p) Assert.Equal(p, again.ClearingPrice!.Value, 1e-9);
            var byBid = again.Accepted.ToDictionary(a => a.Bid, (IEqualityComparer<Bid>)ReferenceEqualityComparer.Instance);
            foreach (var a in r.Accepted)
                Assert.Equal(a.AcceptedMw, byBid[a.Bid].AcceptedMw, 1e-9);
        }, iter: 500);
    }

    /// <summary>Match 1 MW units: the highest remaining buy unit with the lowest remaining sell unit while profitable.</summary>
    private static double BruteForceWelfare(Bid[] book)
    {
        var buys = book.Where(b => b.Side == Side.Buy).SelectMany(b => Enumerable.Repeat(b.Price, (int)b.Quantity)).OrderDescending().ToList();
        var sells = book.Where(b => b.Side == Side.Sell).SelectMany(b => Enumerable.Repeat(b.Price, (int)b.Quantity)).Order().ToList();
        double w = 0;
        for (int k = 0; k < Math.Min(buys.Count, sells.Count) && buys[k] >= sells[k]; k++) w += buys[k] - sells[k];
        return w;
    }
}
