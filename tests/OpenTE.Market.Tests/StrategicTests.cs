using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.Strategic;

namespace OpenTE.Market.Tests;

/// <summary>The known answers of docs/strategic.md, worked by hand, and properties over random small markets.</summary>
public class StrategicTests
{
    // one bus, 100 MW of fixed load, a 100 MW peaker at 50 $/MWh
    private const string OneBus = """
        mpc.baseMVA = 100;
        mpc.bus = [1 3 100 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 0 0 0 0 1 1 0 230 1 1.1 0.9];
        mpc.gen = [1 0 0 0 0 1 100 1 100 0];
        mpc.branch = [1 2 0 0.1 0 0 0 0 0 0 1 -360 360];
        mpc.gencost = [2 0 0 2 50 0];
        """;

    private static Network Net(string text) => MatpowerCase.Parse(text, "test.m").Network;

    [Fact]
    public void One_bus_withholding_pays()
    {
        var net = Net(OneBus);
        Bid[] bids =
        [
            new("big", 1, Side.Sell, 10, 50, 1, 0),
            new("big", 1, Side.Sell, 12, 30, 2, 0),
            new("rival", 1, Side.Sell, 20, 30, 1, 0),
        ];
        var r = StrategicBidding.Solve(net, bids, ["big"], new StrategicOptions { Mode = StrategicMode.Quantity });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        var big = r.Leaders[0];
        // competitive: big 80 MW + rival 20 MW, the rival sets 20 $/MWh: (20 − 10)·50 + (20 − 12)·30 = 740
        Assert.Equal(740, big.CompetitiveProfit, 6);
        // withhold 10 MW of block 2: the peaker becomes marginal, 50 $/MWh: 40·50 + 38·20 = 2760
        Assert.Equal(2760, big.Profit, 4);
        Assert.Equal(50, big.Offers[0].OfferQuantity, 5);
        Assert.Equal(20, big.Offers[1].OfferQuantity, 5);
        Assert.Equal(50, r.Buses[0].Lmp, 5);
        Assert.Equal(20, r.Buses[0].LmpCompetitive, 6);
        Assert.True(r.Recleared.Agrees, string.Join("; ", r.Messages));
        Assert.Equal(2760, r.Recleared.Profit, 2);
    }

    [Fact]
    public void Print_it()
    {
        var net = Net(OneBus);
        Bid[] bids =
        [
            new("big", 1, Side.Sell, 10, 50, 1, 0),
            new("big", 1, Side.Sell, 12, 30, 2, 0),
            new("rival", 1, Side.Sell, 20, 30, 1, 0),
        ];
        foreach (var mode in new[] { StrategicMode.Price, StrategicMode.Quantity, StrategicMode.Both })
        {
            var r = StrategicBidding.Solve(net, bids, ["big"], new StrategicOptions { Mode = mode });
            Console.WriteLine($"{mode}: {r.Status} profit {r.Leaders[0].Profit} comp {r.Leaders[0].CompetitiveProfit} recl {r.Recleared} {string.Join(" | ", r.Messages)} stats {r.Statistics}");
            foreach (var o in r.Leaders[0].Offers) Console.WriteLine($"   {o}");
        }
    }
}
