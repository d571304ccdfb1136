using CsCheck;
using OpenTE.Grid.Tests;
using OpenTE.Market.Island;

namespace OpenTE.Market.Tests;

public class IslandMarketTests
{
    // case33bw: bus 1 is the substation; opening branch 1 (1–2) islands buses 2–33
    private static readonly OpenTE.Grid.Model.Network Feeder = TestData.Load("case33bw");

    private static List<IslandUnit> Units(double diesel = 1.2, double pv = 0.6, double battery = 0.5) =>
    [
        new("diesel", 6, diesel, 180, GridForming: true),
        new("pv", 18, pv, 0),
        new("battery", 30, battery, 90),
        new("substation", 1, 10, 20), // on the far side of the open breaker
    ];

    private static List<IslandLoad> Loads() =>
    [
        new("hospital", 14, 0.30, 0, Critical: true),
        new("water", 25, 0.25, 0, Critical: true),
        new("homes-a", 8, 0.50, 400),
        new("homes-b", 20, 0.40, 300),
        new("shops", 29, 0.35, 250),
        new("ev-chargers", 32, 0.60, 120),
        new("heat-pumps", 12, 0.45, 60),
    ];

    [Fact]
    public void Opening_the_pcc_islands_the_feeder_and_serves_critical_load_first()
    {
        var r = IslandMarket.Clear(Feeder, [0], Units(), Loads(), new IslandOptions { ReserveMw = 0.3 });
        Assert.DoesNotContain(1, r.IslandBuses);
        Assert.Equal(32, r.IslandBuses.Count);
        Assert.Contains("substation", r.Disconnected);
        Assert.Equal(r.CriticalDemandMw, r.CriticalServedMw, 9);
        var diesel = r.Units.Single(u => u.Id == "diesel");
        Assert.True(diesel.Mw <= 1.2 - 0.3 + 1e-12, "the reserve is never sold as energy");
        // 0.6 MW PV at 0, 0.5 MW battery at 90 and 0.9 MW diesel at 180 for 2.85 MW of demand: critical, homes and
        // shops (1.8 MW) are served; the EV chargers (120 $/MWh) and heat pumps (60) do not pay for the diesel and
        // are curtailed; the price is the marginal curtailed bid
        Assert.Equal(1.8, r.Units.Sum(u => u.Mw), 9);
        Assert.Equal(0.7, diesel.Mw, 9);
        Assert.Equal(0, r.Loads.Single(l => l.Id == "ev-chargers").ServedMw, 9);
        Assert.Equal(0, r.Loads.Single(l => l.Id == "heat-pumps").ServedMw, 9);
        Assert.Equal(120, r.Price);
    }

    /// <summary>
    /// Issue #6 properties over random capacities, reserves and bids: critical load is fully served whenever
    /// capacity − reserve ≥ critical demand; the reserve is never dispatched as energy; energy balances; and the
    /// price never falls as the available capacity falls.
    /// </summary>
    [Fact]
    public void Scarcity_properties_hold_for_random_microgrids()
    {
        Gen.Select(Gen.Double[0.0, 2.0], Gen.Double[0.0, 1.0], Gen.Double[0.0, 1.0], Gen.Double[0.0, 0.8], Gen.Double[0.1, 0.9]).Sample((diesel, pv, battery, reserve, cut) =>
        {
            var loads = Loads();
            var opt = new IslandOptions { ReserveMw = reserve };
            var r = IslandMarket.Clear(Feeder, [0], Units(diesel, pv, battery), loads, opt);
            double available = Math.Max(0, diesel - reserve) + pv + battery;
            if (available >= r.CriticalDemandMw - 1e-12) Assert.Equal(r.CriticalDemandMw, r.CriticalServedMw, 9);
            Assert.True(r.Units.Single(u => u.Id == "diesel").Mw <= Math.Max(0, diesel - reserve) + 1e-12);
            Assert.Equal(r.Units.Sum(u => u.Mw), r.Loads.Sum(l => l.ServedMw), 9);
            // less capacity (each source scaled down) never lowers the price
            var scarcer = IslandMarket.Clear(Feeder, [0], Units(diesel * cut, pv * cut, battery * cut), loads, opt);
            Assert.True(scarcer.Price >= r.Price - 1e-9, $"price fell from {r.Price} to {scarcer.Price} with less capacity");
            var moreReserve = IslandMarket.Clear(Feeder, [0], Units(diesel, pv, battery), loads, opt with { ReserveMw = reserve + 0.2 });
            Assert.True(moreReserve.Price >= r.Price - 1e-9, "a larger reserve leaves less for energy: the price cannot fall");
        }, iter: 500);
    }

    [Fact]
    public void Critical_load_curtailed_sets_the_value_of_lost_load()
    {
        var r = IslandMarket.Clear(Feeder, [0], Units(diesel: 0.5, pv: 0, battery: 0.1), Loads(), new IslandOptions { ReserveMw = 0.2, ValueOfLostLoad = 5000 });
        Assert.True(r.CriticalServedMw < r.CriticalDemandMw);
        Assert.Equal(5000, r.Price);
        Assert.Contains(r.Messages, m => m.Contains("critical"));
    }

    [Fact]
    public void A_microgrid_needs_one_grid_forming_unit()
    {
        var units = Units().Select(u => u with { GridForming = false }).ToList();
        Assert.Throws<ArgumentException>(() => IslandMarket.Clear(Feeder, [0], units, Loads()));
        Assert.Throws<ArgumentException>(() => IslandMarket.Clear(Feeder, [0], Units(), Loads(), new IslandOptions { ReserveMw = -1 }));
        Assert.Throws<ArgumentException>(() => IslandMarket.Clear(Feeder, [99], Units(), Loads()));
    }
}
