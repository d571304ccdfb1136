using OpenTE.Market.Outcome;
using CsCheck;
using OpenTE.Grid.Tests;
using OpenTE.Market.DcOpf;
using OpenTE.Market.MultiPeriod;
using OpenTE.Grid.Input;

namespace OpenTE.Market.Tests;

public class MultiPeriodTests
{
    private static TimeSeries Profile(OpenTE.Grid.Model.Network net, double[] scale, double stepHours = 1)
    {
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.FromHours(2));
        var times = scale.Select((_, t) => start.AddHours(t * stepHours)).ToList();
        var load = net.Buses.Where(b => b.Pd != 0).ToDictionary(b => b.Id, b => scale.Select(s => b.Pd * s).ToArray());
        return new TimeSeries(times, stepHours, load, new Dictionary<int, double[]>());
    }

    [Fact]
    public void One_interval_is_the_dc_opf()
    {
        var net = TestData.Load("case30");
        var r = MultiPeriodClearing.Solve(net, Profile(net, [1.0]));
        var opf = DcOpfSolver.Solve(net);
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        Assert.Equal(opf.Objective, r.Objective, 1e-6 * opf.Objective);
        for (int b = 0; b < net.BusCount; b++) Assert.Equal(opf.Buses[b].Lmp, r.Lmp[0][b], 1e-4);
    }

    [Fact]
    public void Storage_moves_energy_from_cheap_to_dear_intervals_and_every_interval_balances()
    {
        var net = TestData.Load("case30");
        double[] scale = [0.6, 0.6, 0.7, 0.9, 1.0, 1.0, 0.9, 0.7];
        var bess = new StorageUnit("bess", 30, 2, 40, 10, 10, 0.95, 0.95, 10);
        var without = MultiPeriodClearing.Solve(net, Profile(net, scale));
        var with = MultiPeriodClearing.Solve(net, Profile(net, scale), new MultiPeriodOptions { Storage = [bess] });
        Assert.Equal(ClearingStatus.Optimal, with.Status);
        Assert.True(with.Objective <= without.Objective + 1e-6, "storage can only lower the cost");
        var s = with.Storage[0];
        Assert.True(s.ChargeMw.Take(3).Sum() > 1, "charges in the light hours");
        Assert.True(s.DischargeMw.Skip(3).Sum() > 1, "discharges at the peak");
        Assert.True(s.SocMwh[^1] >= bess.InitialMwh - 1e-6);
        int b30 = net.BusIndex[30];
        for (int t = 0; t < scale.Length; t++)
        {
            double gen = with.PgMw[t].Sum(), load = net.Buses.Sum(b => b.Pd * scale[t]);
            Assert.Equal(load, gen + s.DischargeMw[t] - s.ChargeMw[t], 1e-5);
            Assert.Equal(s.SocMwh[t] + 0.95 * s.ChargeMw[t] - s.DischargeMw[t] / 0.95, s.SocMwh[t + 1], 1e-5);
        }
        // the break-even rule at the storage's own bus prices
        for (int t1 = 0; t1 < scale.Length; t1++)
            for (int t2 = t1 + 1; t2 < scale.Length; t2++)
                if (s.ChargeMw[t1] > 1e-5 && s.DischargeMw[t2] > 1e-5 && s.SocMwh.Skip(t1 + 1).Take(t2 - t1).Min() > bess.EnergyMinMwh + 1e-5)
                    Assert.True(with.Lmp[t2][b30] * 0.95 * 0.95 >= with.Lmp[t1][b30] - 1e-4);
    }

    [Fact]
    public void Ramp_limits_hold_between_intervals()
    {
        var net = TestData.Load("case30");
        double[] scale = [0.5, 1.0, 0.5, 1.0];
        var r = MultiPeriodClearing.Solve(net, Profile(net, scale), new MultiPeriodOptions { DefaultRampSharePerHour = 0.4 });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        for (int t = 1; t < scale.Length; t++)
            for (int g = 0; g < net.Generators.Length; g++)
                Assert.True(Math.Abs(r.PgMw[t][g] - r.PgMw[t - 1][g]) <= 0.4 * net.Generators[g].Pmax + 1e-5);
        var free = MultiPeriodClearing.Solve(net, Profile(net, scale));
        Assert.True(r.Objective >= free.Objective + 1, "these ramp limits bind and cost something");
        // 20 %/h cannot follow a 95 MW swing in one hour (67 MW of ramp in all): no schedule, no prices
        var stuck = MultiPeriodClearing.Solve(net, Profile(net, scale), new MultiPeriodOptions { DefaultRampSharePerHour = 0.2 });
        Assert.NotEqual(ClearingStatus.Optimal, stuck.Status);
        Assert.All(stuck.Lmp.SelectMany(x => x), p => Assert.True(double.IsNaN(p)));
        Assert.Contains(stuck.Messages, m => m.Contains("value of lost load"));
    }

    [Fact]
    public void Random_load_shapes_balance_every_interval_with_storage_in_bounds()
    {
        // property over random load shapes: every interval balances and the state of charge stays within its limits
        var net = TestData.Load("case9");
        Gen.Double[0.5, 1.1].Array[6].Sample(scale =>
        {
            var bess = new StorageUnit("b", 5, 0, 50, 20, 20, 0.9, 0.9, 10);
            var r = MultiPeriodClearing.Solve(net, Profile(net, scale), new MultiPeriodOptions { Storage = [bess] });
            Assert.Equal(ClearingStatus.Optimal, r.Status);
            var s = r.Storage[0];
            for (int t = 0; t < scale.Length; t++)
            {
                Assert.Equal(net.Buses.Sum(b => b.Pd * scale[t]), r.PgMw[t].Sum() + s.DischargeMw[t] - s.ChargeMw[t], 1e-4);
                Assert.InRange(s.SocMwh[t + 1], -1e-6, 50 + 1e-6);
            }
        }, iter: 40);
    }

    [Fact]
    public void Bids_clear_in_their_own_interval_against_its_price()
    {
        var net = TestData.Load("case30");
        var series = Profile(net, [0.6, 1.0]);
        var plain = MultiPeriodClearing.Solve(net, series);
        int b5 = net.BusIndex[5];
        // a buyer paying more than either interval's price, a seller cheaper than the peak price but dearer than the night's
        double mid = (plain.Lmp[0][b5] + plain.Lmp[1][b5]) / 2;
        var bids = SeriesFile.ParseBids("timestamp,participant,bus,side,price,quantity\n" +
            $"{series.Times[0]:yyyy-MM-ddTHH:mm:sszzz},buyer,5,buy,{plain.Lmp[1][b5] + 20},3\n" +
            $"{series.Times[0]:yyyy-MM-ddTHH:mm:sszzz},seller,5,sell,{mid},4\n" +
            $"{series.Times[1]:yyyy-MM-ddTHH:mm:sszzz},seller,5,sell,{mid},4\n", "b.csv", net, series);
        var r = MultiPeriodClearing.Solve(net, series, new MultiPeriodOptions { Bids = bids });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        Assert.Equal(3, r.AcceptedBidMw[0], 1e-5);   // the buyer gets its 3 MW
        Assert.Equal(0, r.AcceptedBidMw[1], 1e-5);   // night: the seller is dearer than the price
        Assert.Equal(4, r.AcceptedBidMw[2], 1e-5);   // peak: the seller is cheaper than the price
        var e = Assert.Throws<OpenTE.Grid.Input.InputException>(() => SeriesFile.ParseBids("timestamp,participant,bus,side,price,quantity\n2030-01-01T00:00:00+00:00,x,5,buy,10,1\n", "b.csv", net, series));
        Assert.Contains("b.csv:2:", e.Message);
    }

    [Fact]
    public void Series_and_storage_files_are_validated_with_their_line()
    {
        var net = TestData.Load("case9");
        const string head = "timestamp,bus,load_mw,pv_mw\n";
        var ok = SeriesFile.ParseSeries(head + "2026-06-01T00:00:00+02:00,5,90,0\n2026-06-01T00:15:00+02:00,5,95,1\n2026-06-01T00:30:00+02:00,5,99,2\n", "s.csv", net);
        Assert.Equal(3, ok.Count);
        Assert.Equal(0.25, ok.StepHours);
        Assert.Equal(95, ok.LoadMw[5][1]);
        void Bad(string body, string line, string expect)
        {
            var ex = Assert.Throws<OpenTE.Grid.Input.InputException>(() => SeriesFile.ParseSeries(head + body, "s.csv", net));
            Assert.Contains("s.csv:" + line + ":", ex.Message);
            Assert.Contains(expect, ex.Message);
        }
        Bad("2026-06-01T00:15:00+02:00,5,90,0\n2026-06-01T00:00:00+02:00,5,90,0\n", "3", "not after");
        Bad("2026-06-01T00:00:00+02:00,5,90,0\n2026-06-01T00:15:00+02:00,5,90,0\n2026-06-01T00:45:00+02:00,5,90,0\n", "4", "gap");
        Bad("2026-06-01 00:00,5,90,0\n", "2", "ISO-8601");
        Bad("2026-06-01T00:00:00+02:00,77,90,0\n", "2", "bus");
        Bad("2026-06-01T00:00:00+02:00,5,90,-1\n", "2", "pv_mw");
        const string sh = "id,bus,energy_mwh,min_mwh,charge_mw,discharge_mw,eta_charge,eta_discharge,initial_mwh\n";
        Assert.Single(SeriesFile.ParseStorage(sh + "b1,5,10,1,2,2,0.95,0.95,5\n", "st.csv", net));
        var e1 = Assert.Throws<OpenTE.Grid.Input.InputException>(() => SeriesFile.ParseStorage(sh + "b1,5,10,1,2,2,1.2,0.95,5\n", "st.csv", net));
        Assert.Contains("st.csv:2: eta_charge", e1.Message);
        var e2 = Assert.Throws<OpenTE.Grid.Input.InputException>(() => SeriesFile.ParseStorage(sh + "b1,5,10,1,2,2,0.9,0.95,12\n", "st.csv", net));
        Assert.Contains("initial_mwh", e2.Message);
        var e3 = Assert.Throws<OpenTE.Grid.Input.InputException>(() => SeriesFile.ParseStorage(sh + "b1,5,1,10,2,2,0.9,0.95,5\n", "st.csv", net));
        Assert.Contains("energy_mwh", e3.Message);
    }

    // two buses, one line of x = 0.1 p.u. without a rating but with an angle-difference limit of 0.05 rad: at most 50 MW
    private const string AngleLimited = """
        mpc.baseMVA = 100;
        mpc.bus = [1 3 0 0 0 0 1 1 0 230 1 1.1 0.9; 2 1 0 0 0 0 1 1 0 230 1 1.1 0.9];
        mpc.gen = [1 0 0 0 0 1 100 1 0 0];
        mpc.branch = [1 2 0 0.1 0 0 0 0 0 0 1 -2.8647889756541161 2.8647889756541161];
        mpc.gencost = [2 0 0 2 0 0];
        """;

    [Fact]
    public void Angle_difference_limits_bind_in_every_interval_as_in_the_single_period_clearing()
    {
        var net = OpenTE.Grid.Matpower.MatpowerCase.Parse(AngleLimited, "angle.m").Network;
        OpenTE.Market.Bids.Bid[] bids =
        [
            new("cheap", 1, OpenTE.Market.Bids.Side.Sell, 20, 100, 1, 0),
            new("dear", 2, OpenTE.Market.Bids.Side.Sell, 50, 100, 1, 0),
            new("load", 2, OpenTE.Market.Bids.Side.Buy, 80, 120, 1, 0),
        ];
        var single = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids });
        Assert.Equal(ClearingStatus.Optimal, single.Status);
        Assert.Equal(20, single.Lmp(1), 6);
        Assert.Equal(50, single.Lmp(2), 6);
        var r = MultiPeriodClearing.Solve(net, Profile(net, [1.0, 1.0]), new MultiPeriodOptions { Bids = [.. bids.Select(b => (0, b)), .. bids.Select(b => (1, b))] });
        Assert.Equal(ClearingStatus.Optimal, r.Status);
        for (int t = 0; t < 2; t++)
        {
            Assert.Equal(20, r.Lmp[t][0], 6);
            Assert.Equal(50, r.Lmp[t][1], 6);
        }
        Assert.Equal(50, r.AcceptedBidMw[0], 6);
        Assert.Equal(70, r.AcceptedBidMw[1], 6);
    }

    [Fact]
    public void One_ramp_rule_for_the_multi_period_clearing_and_the_scopf()
    {
        var gen = new OpenTE.Grid.Model.Generator(1, 50, 0, 0, 0, 1, 100, 1, 200, 20) { Ramp10 = 30, Ramp30 = 60 };
        Assert.Equal(120, Ramps.Limit(gen, 1, null), 9);          // RAMP_30 = 60 MW per 30 min → 120 MW per hour
        Assert.Equal(60, Ramps.Limit(gen, 0.5, null), 9);
        Assert.Equal(90, Ramps.Limit(gen with { Ramp30 = 0 }, 0.5, null), 9);      // 3 × RAMP_10
        Assert.Equal(180, Ramps.Limit(gen with { Ramp30 = 0 }, 5, null), 9);       // never beyond Pmax − Pmin
        Assert.Equal(20, Ramps.Limit(gen with { Ramp30 = 0, Ramp10 = 0 }, 0.5, 0.2), 9);
        Assert.Equal(180, Ramps.Limit(gen with { Ramp30 = 0, Ramp10 = 0 }, 0.5, null), 9);
        Assert.Equal(0, Ramps.Limit(gen with { Pmin = 200 }, 1, null), 9);         // a fixed unit does not move
        Assert.Equal(10, Ramps.Limit(gen with { Pmax = -50, Pmin = -100, Ramp30 = 0, Ramp10 = 0 }, 1, 0.2), 9); // dispatchable load: share of |Pmax|
    }
}
