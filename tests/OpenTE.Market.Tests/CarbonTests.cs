using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Grid.Tests;
using OpenTE.Market.Carbon;

namespace OpenTE.Market.Tests;

public class CarbonTests
{
    private static readonly Lazy<LossFactorResult> Mlf33 = new(() => LossFactors.Compute(TestData.Load("case33bw")));

    /// <summary>case33bw: PV at the feeder's end (18), a home next to it (17), a home at the substation side (2), a diesel at 3, homes on laterals.</summary>
    private static CarbonData Community(double upstream = 450)
    {
        var net = TestData.Load("case33bw");
        CarbonParticipant[] ps =
        [
            new("pv18", 18, 0), new("home17", 17, 0), new("home2", 2, 0), new("diesel3", 3, 700), new("pv2", 2, 0),
            new("pv33", 33, 0), new("home25", 25, 0), new("home30", 30, 0), new("pv22", 22, 0),
        ];
        return new CarbonData(net, Mlf33.Value, ps, UpstreamSeries.Constant(upstream)) { PricePerTonne = 80 };
    }

    [Fact]
    public void Clean_seller_next_to_the_buyer_at_the_feeder_end_earns_a_credit()
    {
        var c = Community();
        // 10 kW for an hour from the PV at the very end to the home one bus in: the flow into bus 18 falls, so do the losses
        var t = c.Trade("pv18", "home17", 10, 1, 0);
        Assert.Equal(0, t.OwnGrams);
        Assert.True(t.UpstreamGrams < 0, $"{t.UpstreamGrams} g");
        double expected = 450 * (Mlf33.Value.Bus(18).DImportDInjection - Mlf33.Value.Bus(17).DImportDInjection) * 10;
        Assert.Equal(expected, t.Grams, 9);
        Assert.False(t.Exact);
    }

    [Fact]
    public void Trade_that_pushes_power_further_down_the_loaded_feeder_gets_a_charge()
    {
        var c = Community();
        // clean power bought at the substation side and carried to the feeder end adds to the flow on every branch between:
        // more losses, more import
        var t = c.Trade("pv2", "home17", 10, 1, 0);
        Assert.True(t.Grams > 0, $"{t.Grams} g");
        // and the reverse direction (against the flow) relieves those branches
        var back = c.Trade("pv18", "home2", 10, 1, 0);
        Assert.True(back.Grams < 0, $"{back.Grams} g");
        // the seller's own emissions are counted in full
        var diesel = c.Trade("diesel3", "home2", 10, 1, 0);
        Assert.Equal(7000, diesel.OwnGrams, 9);
        Assert.Equal(7000 + 450 * (Mlf33.Value.Bus(3).Mlf - Mlf33.Value.Bus(2).Mlf) * 10, diesel.Grams, 9);
    }

    [Fact]
    public void Large_trades_are_evaluated_by_two_power_flows_and_agree_with_the_factors_to_second_order()
    {
        var c = Community();
        double limit = c.ExactAboveMw;
        Assert.Equal(0.01 * TestData.Load("case33bw").Buses.Sum(b => b.Pd), limit, 9);
        // just below the limit: first order; just above: exact; the relative error of the upstream (loss) term at the limit
        var small = c.Trade("pv18", "home2", limit * 1000 * 0.99, 1, 0);
        var large = c.Trade("pv18", "home2", limit * 1000 * 1.01, 1, 0);
        Assert.False(small.Exact);
        Assert.True(large.Exact);
        double firstOrder = c.UpstreamFactor(18, 2, 450) * limit * 1000 * 1.01;
        double rel = Math.Abs(large.UpstreamGrams - firstOrder) / Math.Abs(large.UpstreamGrams);
        // losses are quadratic in the flows, so the relative error of the loss term is about q / (2·f) with f the smallest flow
        // the trade offsets on its path: 37 kW against the ~0.6 MW into the last section of the main feeder gives ~3 %
        Assert.True(rel < 0.04, $"first-order error at the limit {rel:P2}");
        Assert.True(rel > 1e-5, "a quadratic loss function has a second-order error: the exact path must not just return the factors");
    }

    [Fact]
    public void Sum_over_trades_equals_the_direct_power_flow_comparison_within_the_second_order_term()
    {
        var c = Community();
        var net = c.Network;
        var rng = new Random(11);
        string[] sellers = ["pv18", "pv33", "pv22", "diesel3", "pv2"], buyers = ["home17", "home2", "home25", "home30"];
        var trades = Enumerable.Range(0, 40).Select(_ => (S: sellers[rng.Next(sellers.Length)], B: buyers[rng.Next(buyers.Length)], Kw: 0.5 + 4 * rng.NextDouble())).ToList();
        double linear = trades.Sum(t => c.Trade(t.S, t.B, t.Kw, 1, 0).Grams);

        var injections = trades.SelectMany(t => new[] { (c.Participant(t.S).Bus, t.Kw / 1000), (c.Participant(t.B).Bus, -t.Kw / 1000) }).ToList();
        var options = new PowerFlowOptions { Tolerance = 1e-12, MaxIterations = 20 };
        double Import(IEnumerable<(int, double)> inj)
        {
            var n = LossFactors.WithInjections(net, inj);
            var pf = AcPowerFlow.Solve(n, options);
            Assert.True(pf.Converged);
            return LossFactors.ImportMw(n, pf, c.LossFactors.ReferenceBus);
        }
        double base0 = Import([]), with = Import(injections), mirrored = Import(injections.Select(x => (x.Item1, -x.Item2)));
        double own = trades.Sum(t => c.Participant(t.S).OwnGramsPerKwh * t.Kw);
        // emissions with the trades − emissions without, by two power flows (kWh over one hour)
        double direct = own + 450 * (with - base0) * 1000;
        // the first-order error is the second-order term ½·ΔPᵀ·H·ΔP of the import, which the symmetric difference measures
        double secondOrder = 450 * 0.5 * (with + mirrored - 2 * base0) * 1000;
        Assert.True(Math.Abs(direct - linear - secondOrder) < 1e-3 * Math.Abs(secondOrder) + 1e-6,
            $"Σ trades {linear:F4} g, direct {direct:F4} g, second-order term {secondOrder:F4} g");
        // the stated first-order error: 40 trades of 0.5–4.5 kW (≈ 100 kW in all, 2.7 % of the load) at the feeder's ends err by
        // ≈ 2 % of their upstream (loss) effect (21.5 g of 975 g, ≈ 0.2 g per kWh traded)
        double upstreamPart = linear - own;
        Assert.True(Math.Abs(direct - linear) < 0.03 * Math.Abs(upstreamPart), $"first-order error {direct - linear:F4} g of {upstreamPart:F4} g");
    }

    [Fact]
    public void Bus_factors_rise_along_the_feeder()
    {
        var c = Community();
        var f = c.BusFactors(450).ToDictionary(x => x.Bus);
        Assert.Equal(450, f[1].GramsPerKwhOfLoad, 9);
        Assert.True(f[18].GramsPerKwhOfLoad > f[10].GramsPerKwhOfLoad && f[10].GramsPerKwhOfLoad > f[2].GramsPerKwhOfLoad && f[2].GramsPerKwhOfLoad > 450);
    }

    [Fact]
    public void Upstream_series_is_a_step_function_and_bad_rows_name_file_and_line()
    {
        var dir = Directory.CreateTempSubdirectory("opente-carbon-");
        try
        {
            string path = Path.Combine(dir.FullName, "up.csv");
            File.WriteAllText(path, "interval,gco2_per_kwh\n2026-06-01T00:00:00+00:00,400\n2026-06-01T01:00:00+00:00,250\n");
            var s = UpstreamSeries.Read(path);
            long t0 = DateTimeOffset.Parse("2026-06-01T00:00:00+00:00").ToUnixTimeSeconds();
            Assert.Equal(400, s.At(t0 + 2700));
            Assert.Equal(250, s.At(t0 + 3600));
            Assert.True(double.IsNaN(s.At(t0 - 1)));
            File.WriteAllText(path, "interval,gco2_per_kwh\n2026-06-01T00:00:00+00:00,400\n2026-06-01T00:00:00+00:00,250\n");
            var e = Assert.Throws<OpenTE.Grid.Input.InputException>(() => UpstreamSeries.Read(path));
            Assert.Equal(3, e.Line);
            File.WriteAllText(path, "interval,gco2_per_kwh\n2026-06-01T00:00:00+00:00,-4\n");
            e = Assert.Throws<OpenTE.Grid.Input.InputException>(() => UpstreamSeries.Read(path));
            Assert.Equal(2, e.Line);
            Assert.Equal("gco2_per_kwh", e.Field);
        }
        finally { dir.Delete(true); }
    }
}

public class CarbonP2pTests
{
    private static readonly Lazy<OpenTE.Grid.PowerFlow.LossFactorResult> Mlf33 = new(() => OpenTE.Grid.PowerFlow.LossFactors.Compute(TestData.Load("case33bw")));

    /// <summary>Producers at buses with own rates, consumers at buses, every producer partnering every consumer.</summary>
    private static (OpenTE.Market.P2p.P2pMarketData Market, CarbonData Carbon) Market(Random rng, int producers, int consumers, double price)
    {
        var peers = new List<(string Id, double A, double B, double Pmin, double Pmax, int Bus, double Own)>();
        for (int i = 0; i < producers; i++)
            peers.Add(($"g{i}", 0.05 + 0.2 * rng.NextDouble(), 5 + 30 * rng.NextDouble(), 0, 0.5 + 2 * rng.NextDouble(), 2 + rng.Next(32), rng.Next(3) == 0 ? 300 + 600 * rng.NextDouble() : 0));
        for (int i = 0; i < consumers; i++)
            peers.Add(($"c{i}", 0.05 + 0.2 * rng.NextDouble(), 50 + 40 * rng.NextDouble(), -(0.5 + 2 * rng.NextDouble()), 0, 2 + rng.Next(32), 0));
        var links = peers.Select(_ => new Dictionary<int, double>()).ToArray();
        for (int s = 0; s < producers; s++)
            for (int b = producers; b < peers.Count; b++) { links[s][b] = rng.NextDouble(); links[b][s] = rng.NextDouble(); }
        var data = new OpenTE.Market.P2p.P2pMarketData([.. peers.Select((p, n) => new OpenTE.Market.P2p.Peer(p.Id, p.A, p.B, p.Pmin, p.Pmax, links[n]))]);
        var carbon = new CarbonData(TestData.Load("case33bw"), Mlf33.Value, peers.Select(p => new CarbonParticipant(p.Id, p.Bus, p.Own)), UpstreamSeries.Constant(450))
        { PricePerTonne = price, BuyerShare = rng.NextDouble() };
        return (data, carbon);
    }

    [Fact]
    public void Carbon_price_never_raises_emissions_and_the_priced_clearing_maximises_welfare_net_of_carbon()
    {
        // the priced market maximises W − π·E, the plain one W: so W(with) ≤ W(without), W − π·E(with) ≥ W − π·E(without), and
        // hence E(with) ≤ E(without) — checked on random markets with the exact central QP
        int lower = 0;
        for (int seed = 1; seed <= 12; seed++)
        {
            var (data, carbon) = Market(new Random(seed), 4, 5, 50 + 10 * seed);
            var cmp = CarbonP2p.Compare(data, carbon, 450, OpenTE.Market.P2p.P2pCentral.Solve);
            const double tol = 1e-5;
            Assert.True(cmp.With.Welfare <= cmp.Without.Welfare + tol, $"seed {seed}: welfare {cmp.With.Welfare} > {cmp.Without.Welfare}");
            Assert.True(cmp.With.WelfareNetOfCarbon >= cmp.Without.WelfareNetOfCarbon - tol, $"seed {seed}: net welfare {cmp.With.WelfareNetOfCarbon} < {cmp.Without.WelfareNetOfCarbon}");
            Assert.True(cmp.With.EmissionsKgPerH <= cmp.Without.EmissionsKgPerH + tol, $"seed {seed}: emissions {cmp.With.EmissionsKgPerH} > {cmp.Without.EmissionsKgPerH}");
            if (cmp.With.EmissionsKgPerH < cmp.Without.EmissionsKgPerH - 1e-3) lower++;
        }
        Assert.True(lower >= 6, $"the carbon price moved emissions in only {lower} of 12 markets");
    }

    [Fact]
    public void Dirty_cheap_seller_loses_its_trades_to_clean_ones_under_a_high_carbon_price()
    {
        var net = TestData.Load("case33bw");
        var links = new Dictionary<int, double>[4];
        for (int i = 0; i < 4; i++) links[i] = [];
        foreach (int s in new[] { 0, 1 }) foreach (int b in new[] { 2, 3 }) { links[s][b] = 0; links[b][s] = 0; }
        var data = new OpenTE.Market.P2p.P2pMarketData([
            new("diesel", 0.05, 10, 0, 5, links[0]), new("pv", 0.05, 20, 0, 5, links[1]),
            new("home17", 0.1, 90, -2, 0, links[2]), new("home30", 0.1, 90, -2, 0, links[3])]);
        var carbon = new CarbonData(net, Mlf33.Value, [new("diesel", 3, 700), new("pv", 18, 0), new("home17", 17, 0), new("home30", 30, 0)], UpstreamSeries.Constant(450))
        { PricePerTonne = 100 };
        var cmp = CarbonP2p.Compare(data, carbon, 450, d => OpenTE.Market.P2p.P2pAdmm.Solve(d, new OpenTE.Market.P2p.AdmmOptions { Tolerance = 1e-6 }));
        Assert.Equal(OpenTE.Market.Outcome.ClearingStatus.Optimal, cmp.With.Result.Status);
        double dieselBefore = cmp.Without.Result.Trades[0].Values.Sum(), dieselAfter = cmp.With.Result.Trades[0].Values.Sum();
        Assert.True(dieselBefore > 1.5 && dieselAfter < 0.5 * dieselBefore, $"diesel {dieselBefore} → {dieselAfter} MW");
        Assert.True(cmp.With.EmissionsKgPerH < 0.5 * cmp.Without.EmissionsKgPerH);
        // the emission factor of the diesel's trades: its own 700 g/kWh plus the upstream effect of its place
        Assert.Equal(700 + carbon.UpstreamFactor(3, 17, 450), cmp.Factors[0][2], 9);
        Assert.True(cmp.With.MeanPrice > cmp.Without.MeanPrice);
    }
}
