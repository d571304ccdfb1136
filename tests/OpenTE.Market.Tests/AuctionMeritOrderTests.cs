using CsCheck;
using OpenTE.Market.Auction;

namespace OpenTE.Market.Tests;

/// <summary>The radix sort behind the merit order against the framework's sort.</summary>
public class AuctionMeritOrderTests
{
    private static readonly double[] Specials = [0.0, -0.0, double.Epsilon, -double.Epsilon, double.MaxValue, double.MinValue, 1e-300, -1e-300];

    private static readonly Gen<double> Prices = Gen.OneOf(
        Gen.Double.Where(double.IsFinite),
        Gen.Double[-1000, 1000],
        Gen.Int[-3, 3].Select(i => (double)i),
        Gen.Int[0, Specials.Length - 1].Select(i => Specials[i]));

    [Fact]
    public void Keys_keep_the_order_of_prices_and_give_them_back()
    {
        Gen.Select(Prices, Prices).Sample((a, b) =>
        {
            int expected = a < b ? -1 : a > b ? 1 : 0; // −0 = +0
            Assert.Equal(expected, Math.Sign(MeritOrder.Key(a).CompareTo(MeritOrder.Key(b))));
            Assert.Equal(a == 0 ? 0.0 : a, MeritOrder.Price(MeritOrder.Key(a)));
            Assert.Equal(a, MeritOrder.Price(~~MeritOrder.Key(a)));
        }, iter: 2000);
    }

    [Fact]
    public void Sorts_like_a_stable_comparison_sort()
    {
        Prices.Array[0, 300].Sample(prices =>
        {
            var keys = prices.Select(MeritOrder.Key).ToArray();
            var items = Enumerable.Range(0, prices.Length).ToArray();
            MeritOrder.Sort(keys, items, new ulong[keys.Length], new int[keys.Length]);
            var expected = Enumerable.Range(0, prices.Length).OrderBy(i => prices[i] == 0 ? 0.0 : prices[i]).ToArray(); // OrderBy is stable
            Assert.Equal(expected, items);
            Assert.Equal(expected.Select(i => MeritOrder.Key(prices[i])), keys);
        }, iter: 500);
    }

    [Fact]
    public void Large_arrays_with_few_distinct_bytes_skip_passes_and_still_sort()
    {
        var rng = new Random(7);
        var prices = Enumerable.Range(0, 100_000).Select(_ => (double)rng.Next(0, 50)).ToArray();
        var keys = prices.Select(MeritOrder.Key).ToArray();
        var items = Enumerable.Range(0, prices.Length).ToArray();
        MeritOrder.Sort(keys, items, new ulong[keys.Length], new int[keys.Length]);
        Assert.Equal(Enumerable.Range(0, prices.Length).OrderBy(i => prices[i]), items);
    }
}
